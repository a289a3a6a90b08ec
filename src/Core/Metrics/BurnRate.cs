namespace AgentSpend.Core.Metrics;

public sealed record BurnRateHour(string Hour, decimal CostUsd, long Events, long Tokens);

/// <summary>An active session older than the long-session limit: started, last event, minutes running so far.</summary>
public sealed record LongRunningSession(string SessionId, string Agent, string? User, string StartedAt, string LastEventAt, long RunningMinutes);

/// <summary>
/// How fast money goes. <see cref="HourlyRateUsd"/> is the spend of the previous full UTC hour and the
/// current one so far, per hour of that window (60 to 120 minutes long), so it neither jumps at the top of
/// the hour nor lags a whole day. The month-end projection extends the month-to-date spend at its average
/// rate over the elapsed part of the workspace-local month.
/// </summary>
public sealed record BurnRate(
    string AsOf,
    IReadOnlyList<BurnRateHour> Hours,
    decimal Last24hCostUsd,
    decimal HourlyRateUsd,
    string MonthStart,
    decimal MonthToDateCostUsd,
    decimal MonthElapsedDays,
    int MonthDays,
    decimal ProjectedMonthEndUsd)
{
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? Filters { get; init; }

    /// <summary>The limit (<c>AGENTSPEND_LONG_SESSION_MINUTES</c>) past which an active session is listed below.</summary>
    public int LongSessionMinutes { get; init; }

    /// <summary>Active sessions running longer than <see cref="LongSessionMinutes"/>, oldest first (agent, user and team filters apply).</summary>
    public IReadOnlyList<LongRunningSession> LongRunningSessions { get; init; } = [];

    /// <summary>The projection's arithmetic, shared with whoever checks it: month-to-date × days in month ÷ elapsed days, to the cent's ten-thousandth.</summary>
    public static decimal Project(decimal monthToDate, decimal elapsedDays, int monthDays) =>
        elapsedDays <= 0 ? monthToDate : Math.Round(monthToDate * monthDays / elapsedDays, 6, MidpointRounding.AwayFromZero);
}
