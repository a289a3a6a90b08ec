using System.Security.Claims;
using System.Text.Encodings.Web;
using AgentSpend.Core.Auth;
using AgentSpend.Core.Configuration;
using AgentSpend.Core.Workspaces;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace AgentSpend.Functions.Hosting;

public static class AuthPolicies
{
    public const string Scheme = "ApiKey";
    public const string Ingest = "ingest";
    public const string Read = "read";
    public const string Admin = "admin";
    public const string InstanceAdmin = "instance-admin";

    /// <summary>Any valid key, whatever its scopes: for what every caller may know about itself.</summary>
    public const string AnyKey = "any-key";

    /// <summary>The scopes that satisfy each policy: a wider scope includes the narrower ones.</summary>
    public static IReadOnlyDictionary<string, string[]> ScopesFor { get; } = new Dictionary<string, string[]>
    {
        [Ingest] = [ApiKeyScopes.Ingest, ApiKeyScopes.Admin, ApiKeyScopes.InstanceAdmin],
        [Read] = [ApiKeyScopes.Read, ApiKeyScopes.Admin, ApiKeyScopes.InstanceAdmin],
        [Admin] = [ApiKeyScopes.Admin, ApiKeyScopes.InstanceAdmin],
        [InstanceAdmin] = [ApiKeyScopes.InstanceAdmin],
        [AnyKey] = [ApiKeyScopes.Ingest, ApiKeyScopes.Read, ApiKeyScopes.Admin, ApiKeyScopes.InstanceAdmin],
    };

    internal const string WorkspaceClaim = "workspace";
    internal const string ScopeClaim = "scope";
    internal const string KeyIdClaim = "key_id";

    public static string WorkspaceId(this ClaimsPrincipal user) =>
        user.FindFirstValue(WorkspaceClaim) ?? throw new InvalidOperationException("The caller is not authenticated.");
}

/// <summary>
/// Authenticates <c>Authorization: Bearer &lt;key&gt;</c> or <c>x-api-key: &lt;key&gt;</c>. 401 and 403
/// answers are problem+json.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    ApiKeyService keys,
    AuthFailureLimiter failures,
    AppHost host,
    IWorkspaceDirectory workspaces,
    IProblemDetailsService problems) : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    private const string MissingKey = "No API key: send 'Authorization: Bearer <key>' or 'x-api-key: <key>'.";
    private const string UnknownKey = "The API key is not valid.";
    public const string TooManyFailuresReason = "too_many_failed_authentications";

    private static readonly string TooManyFailures = $"Too many requests with keys that are not valid came from this address (over {AuthFailureLimiter.MaxFailuresPerMinute} a minute); try again after Retry-After.";
    private const string TooManyFailuresItem = "agentspend.auth-failures-retry-after";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var key = PresentedKey(Request);
        if (key is null)
        {
            return AuthenticateResult.NoResult();
        }

        // An address that keeps failing is turned away before its keys cost a lookup.
        var address = ClientAddress.Of(Context, underHost: host.IsFunctionsHost);
        if (failures.RetryAfter(address) is { } wait)
        {
            Context.Items[TooManyFailuresItem] = wait;
            return AuthenticateResult.Fail(TooManyFailures);
        }

        var identity = await keys.AuthenticateAsync(key, Context.RequestAborted).ConfigureAwait(false);
        var workspace = identity is null ? null : await workspaces.FindAsync(identity.WorkspaceId, Context.RequestAborted).ConfigureAwait(false);
        if (identity is null || workspace is not { IsActive: true })
        {
            failures.RecordFailure(address);
            // One answer for unknown, revoked and deleted-workspace keys: nothing to learn by trying.
            return AuthenticateResult.Fail(UnknownKey);
        }

        Context.Items[Caller.WorkspaceItem] = workspace;

        var claims = new List<Claim>
        {
            new(AuthPolicies.KeyIdClaim, identity.KeyId),
            new(AuthPolicies.WorkspaceClaim, identity.WorkspaceId),
            new(ClaimTypes.Name, identity.Name),
        };
        claims.AddRange(identity.Scopes.Select(s => new Claim(AuthPolicies.ScopeClaim, s)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, AuthPolicies.Scheme));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, AuthPolicies.Scheme));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync().ConfigureAwait(false);
        if (Context.Items[TooManyFailuresItem] is TimeSpan wait)
        {
            await RetryLater.TooManyRequests(TooManyFailuresReason, TooManyFailures, wait).ExecuteAsync(Context).ConfigureAwait(false);
            return;
        }

        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        await WriteProblemAsync("Unauthorized", result.Failure is null ? MissingKey : UnknownKey).ConfigureAwait(false);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        return WriteProblemAsync("Forbidden", "The API key lacks the scope this endpoint needs.");
    }

    private async Task WriteProblemAsync(string title, string detail) =>
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = new ProblemDetails { Status = Response.StatusCode, Title = title, Detail = detail },
        }).ConfigureAwait(false);

    private static string? PresentedKey(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization["Bearer ".Length..].Trim();
        }

        var apiKey = request.Headers["x-api-key"].ToString();
        return apiKey.Length > 0 ? apiKey.Trim() : null;
    }
}
