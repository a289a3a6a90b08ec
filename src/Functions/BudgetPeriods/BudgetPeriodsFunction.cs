using AgentSpend.Core.Governance;
using AgentSpend.Functions.Triggers;

namespace AgentSpend.Functions.BudgetPeriods;

/// <summary>
/// Every five minutes: lifts the pauses whose budget period has rolled over (periods end at the workspace's local
/// midnight, Monday or first of the month, or at the hour for a rolling window), and sweeps away reservations that
/// expired or were released. Every step is a conditional write, so two runs at once do each thing once.
/// </summary>
internal sealed partial class BudgetPeriodsFunction(AgentControls controls, BudgetReservations reservations, ILogger<BudgetPeriodsFunction> logger) : ITimerFunction
{
    public string Name => "BudgetPeriods";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var resumed = await controls.LiftRolledOverAsync(cancellationToken).ConfigureAwait(false);
        var swept = await reservations.SweepAsync(cancellationToken).ConfigureAwait(false);
        LogRan(logger, resumed, swept);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Budget periods: {Resumed} paused scopes resumed, {Swept} expired or released reservation rows removed")]
    private static partial void LogRan(ILogger logger, int resumed, int swept);
}
