using AgentSpend.Core.Retention;
using AgentSpend.Functions.Triggers;

namespace AgentSpend.Functions.Retention;

/// <summary>Daily timer: per workspace, deletes raw events past its retention and buckets past AGENTSPEND_AGGREGATE_RETENTION_DAYS.</summary>
internal sealed class RetentionFunction(RetentionService retention) : ITimerFunction
{
    public string Name => "Retention";

    public Task RunAsync(CancellationToken cancellationToken) => retention.RunAllAsync(cancellationToken);
}
