using AgentSpend.Core.Runs;
using AgentSpend.Functions.Triggers;

namespace AgentSpend.Functions.RunCompletion;

/// <summary>Every minute: marks completed the runs and sessions without an event for AGENTSPEND_RUN_IDLE_MINUTES.</summary>
internal sealed class RunCompletionFunction(RunIndex runs) : ITimerFunction
{
    public string Name => "RunCompletion";

    public Task RunAsync(CancellationToken cancellationToken) => runs.CompleteIdleAsync(cancellationToken);
}
