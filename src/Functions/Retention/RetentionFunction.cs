using AgentSpend.Core.Retention;
using AgentSpend.Core.Workspaces;
using AgentSpend.Functions.Triggers;

namespace AgentSpend.Functions.Retention;

/// <summary>Daily timer: deletes raw events past the retention period; buckets stay.</summary>
internal sealed class RetentionFunction(RetentionService retention, IWorkspaceDirectory workspaces) : ITimerFunction
{
    public string Name => "Retention";

    public Task RunAsync(CancellationToken cancellationToken) =>
        retention.RunAsync(workspaces.Find(Workspace.DefaultId), cancellationToken);
}
