using AgentSpend.Core.Configuration;
using Microsoft.Extensions.Options;

namespace AgentSpend.Core.Workspaces;

/// <summary>The single <c>default</c> workspace, with the timezone from AGENTSPEND_TIMEZONE.</summary>
public sealed class ConfiguredWorkspaceDirectory(IOptions<AgentSpendOptions> options) : IWorkspaceDirectory
{
    private readonly Workspace _default = new(Workspace.DefaultId, options.Value.ResolveTimeZone());

    public Workspace Find(string workspaceId) =>
        workspaceId == Workspace.DefaultId
            ? _default
            : throw new KeyNotFoundException($"Workspace '{workspaceId}' does not exist.");
}
