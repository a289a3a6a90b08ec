using System.Security.Claims;
using AgentSpend.Core.Auth;
using AgentSpend.Core.Configuration;
using AgentSpend.Core.Workspaces;

namespace AgentSpend.Functions.Hosting;

/// <summary>
/// The authenticated caller of an endpoint: its key, its workspace (resolved once, during
/// authentication) and its scopes. Handlers take it as a parameter; every read and write they do is
/// scoped to <see cref="Workspace"/>.
/// </summary>
public sealed record Caller(string KeyId, Workspace Workspace, IReadOnlySet<string> Scopes, string? SourceIp)
{
    internal const string WorkspaceItem = "agentspend.workspace";

    public bool IsInstanceAdmin => Scopes.Contains(ApiKeyScopes.InstanceAdmin);

    public static ValueTask<Caller?> BindAsync(HttpContext context)
    {
        var user = context.User;
        var workspace = context.Items[WorkspaceItem] as Workspace;
        var keyId = user.FindFirstValue(AuthPolicies.KeyIdClaim);
        if (workspace is null || keyId is null)
        {
            throw new InvalidOperationException("The endpoint takes a Caller but does not require authorization.");
        }

        var scopes = user.FindAll(AuthPolicies.ScopeClaim).Select(c => c.Value).ToHashSet(StringComparer.Ordinal);
        return ValueTask.FromResult<Caller?>(new Caller(keyId, workspace, scopes, SourceIpOf(context)));
    }

    /// <summary>
    /// Under the Functions host every request comes from the host, which names the client in
    /// X-Forwarded-For; standalone, the connection's address is the client's and the header is not trusted.
    /// </summary>
    private static string? SourceIpOf(HttpContext context)
    {
        var underHost = context.RequestServices.GetRequiredService<IConfiguration>()[AgentSpendOptions.CustomHandlerPortSetting] is { Length: > 0 };
        if (underHost && context.Request.Headers["X-Forwarded-For"].ToString() is { Length: > 0 } forwarded)
        {
            var first = forwarded.Split(',')[0].Trim();
            return first.Length <= 64 ? first : first[..64];
        }

        return context.Connection.RemoteIpAddress?.ToString();
    }
}
