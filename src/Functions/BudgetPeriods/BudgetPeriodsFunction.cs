using AgentSpend.Core.Alerts;
using AgentSpend.Core.Governance;
using AgentSpend.Functions.Triggers;

namespace AgentSpend.Functions.BudgetPeriods;

/// <summary>
/// Every five minutes: lifts the pauses whose budget period has rolled over (periods end at the workspace's local
/// midnight, Monday or first of the month, or at the hour for a rolling window), sweeps away reservations that
/// expired or were released, and queues again the alerts whose queue message was lost. Every step is a conditional
/// write, so two runs at once do each thing once.
/// </summary>
internal sealed partial class BudgetPeriodsFunction(AgentControls controls, BudgetReservations reservations, AlertStore alerts, ILogger<BudgetPeriodsFunction> logger) : ITimerFunction
{
    /// <summary>A pending alert whose message should have been visible this long ago was lost on its way to the queue.</summary>
    public static readonly TimeSpan StuckAlertAge = TimeSpan.FromMinutes(5);

    public string Name => "BudgetPeriods";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var resumed = await controls.LiftRolledOverAsync(cancellationToken).ConfigureAwait(false);
        var swept = await reservations.SweepAsync(cancellationToken).ConfigureAwait(false);
        var requeued = await alerts.RequeueStuckAsync(StuckAlertAge, cancellationToken).ConfigureAwait(false);
        LogRan(logger, resumed, swept, requeued);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Budget periods: {Resumed} paused scopes resumed, {Swept} expired or released reservation rows removed, {Requeued} stuck alerts queued again")]
    private static partial void LogRan(ILogger logger, int resumed, int swept, int requeued);
}
