using AgentSpend.Core.Workspaces;
using AgentSpend.Functions.Triggers;

namespace AgentSpend.Functions.PurgeWorkspaces;

/// <summary>Timer: removes the data of workspaces whose deletion was requested, recording progress as it goes.</summary>
internal sealed class PurgeWorkspacesFunction(WorkspacePurgeService purge) : ITimerFunction
{
    public string Name => "PurgeWorkspaces";

    public Task RunAsync(CancellationToken cancellationToken) => purge.RunAsync(cancellationToken);
}
