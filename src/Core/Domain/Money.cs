namespace AgentSpend.Core.Domain;

/// <summary>
/// Costs are kept as whole billionths of a dollar (nano-USD) so that sums are exact; they are shown as
/// decimal dollars.
/// </summary>
public static class Money
{
    private const decimal NanosPerDollar = 1_000_000_000m;

    /// <summary>Largest cost one event may carry: $1,000,000.</summary>
    public const decimal MaxEventCostUsd = 1_000_000m;

    public static long ToNanos(decimal usd) => (long)decimal.Round(usd * NanosPerDollar, MidpointRounding.ToEven);

    public static decimal ToUsd(long nanos) => nanos / NanosPerDollar;
}
