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

    private static string? SourceIpOf(HttpContext context) =>
        ClientAddress.Of(context, underHost: context.RequestServices.GetRequiredService<AppHost>().IsFunctionsHost);
}
