namespace AgentSpend.Core.Domain;

/// <summary>
/// What every bucket counts. Stored as a fixed-order array of longs; the order is part of the storage
/// format, so new counters go at the end.
/// </summary>
public sealed class UsageCounters
{
    public const int FieldCount = 18;

    public long Events { get; set; }
    public long InputTokens { get; set; }
    public long OutputTokens { get; set; }
    public long CacheReadTokens { get; set; }
    public long CacheWriteTokens { get; set; }
    public long ReasoningTokens { get; set; }
    public long CostNanos { get; set; }
    public long UnpricedEvents { get; set; }
    public long Successes { get; set; }
    public long Failures { get; set; }
    public long DurationMs { get; set; }

    /// <summary>Sum of the server's estimates, over events whose model has a price (client-priced ones too).</summary>
    public long EstimatedCostNanos { get; set; }

    /// <summary>Events whose counted cost is the server's estimate (the client sent none).</summary>
    public long ServerPricedEvents { get; set; }

    /// <summary>Tokens optimisation runs would have used without the optimisation.</summary>
    public long BaselineTokens { get; set; }

    /// <summary>Tokens (input, output, cache reads and writes) of the events that reported <see cref="BaselineTokens"/>.</summary>
    public long BaselinedTokens { get; set; }

    /// <summary>
    /// The latest event's time, Unix milliseconds. Merged by maximum, not summed: the maximum of maxima is the
    /// maximum, so buckets, slices, hours and ranges all combine it the same way.
    /// </summary>
    public long LastEventAtMs { get; set; }

    /// <summary>Events counted while a kill switch or a budget's pause was in force for them (see <see cref="UsageEvent.Held"/>).</summary>
    public long HeldEvents { get; set; }

    /// <summary>The cost of <see cref="HeldEvents"/>, nano-USD.</summary>
    public long HeldCostNanos { get; set; }

    /// <summary>This minus <paramref name="other"/>, field by field; <see cref="LastEventAtMs"/> is not a sum and stays out (zero).</summary>
    public UsageCounters Minus(UsageCounters other)
    {
        var (a, b) = (ToArray(), other.ToArray());
        var difference = FromArray(a.Select((value, i) => value - b[i]).ToArray());
        difference.LastEventAtMs = 0;
        return difference;
    }

    public static UsageCounters Of(UsageEvent e)
    {
        var counters = new UsageCounters();
        counters.Add(e);
        return counters;
    }

    public void Add(UsageEvent e)
    {
        Events++;
        InputTokens += e.InputTokens;
        OutputTokens += e.OutputTokens;
        CacheReadTokens += e.CacheReadTokens;
        CacheWriteTokens += e.CacheWriteTokens;
        ReasoningTokens += e.ReasoningTokens;
        if (e.CostNanos is { } cost)
        {
            CostNanos += cost;
        }
        else
        {
            UnpricedEvents++;
        }

        if (e.TaskSuccess is { } success)
        {
            if (success)
            {
                Successes++;
            }
            else
            {
                Failures++;
            }
        }

        DurationMs += e.DurationMs ?? 0;
        EstimatedCostNanos += e.EstimatedCostNanos ?? 0;
        ServerPricedEvents += e.ServerPriced ? 1 : 0;
        BaselineTokens += e.BaselineTokens ?? 0;
        if (e.BaselineTokens is not null)
        {
            BaselinedTokens += e.InputTokens + e.OutputTokens + e.CacheReadTokens + e.CacheWriteTokens;
        }

        LastEventAtMs = Math.Max(LastEventAtMs, e.Timestamp.ToUnixTimeMilliseconds());
        if (e.Held is not null)
        {
            HeldEvents++;
            HeldCostNanos += e.CostNanos ?? 0;
        }
    }

    public void Add(UsageCounters other)
    {
        Events += other.Events;
        InputTokens += other.InputTokens;
        OutputTokens += other.OutputTokens;
        CacheReadTokens += other.CacheReadTokens;
        CacheWriteTokens += other.CacheWriteTokens;
        ReasoningTokens += other.ReasoningTokens;
        CostNanos += other.CostNanos;
        UnpricedEvents += other.UnpricedEvents;
        Successes += other.Successes;
        Failures += other.Failures;
        DurationMs += other.DurationMs;
        EstimatedCostNanos += other.EstimatedCostNanos;
        ServerPricedEvents += other.ServerPricedEvents;
        BaselineTokens += other.BaselineTokens;
        BaselinedTokens += other.BaselinedTokens;
        LastEventAtMs = Math.Max(LastEventAtMs, other.LastEventAtMs);
        HeldEvents += other.HeldEvents;
        HeldCostNanos += other.HeldCostNanos;
    }

    public UsageCounters Clone()
    {
        var copy = new UsageCounters();
        copy.Add(this);
        return copy;
    }

    public long[] ToArray() =>
    [
        Events, InputTokens, OutputTokens, CacheReadTokens, CacheWriteTokens, ReasoningTokens,
        CostNanos, UnpricedEvents, Successes, Failures, DurationMs,
        EstimatedCostNanos, ServerPricedEvents, BaselineTokens, BaselinedTokens, LastEventAtMs,
        HeldEvents, HeldCostNanos,
    ];

    public static UsageCounters FromArray(IReadOnlyList<long> values)
    {
        long At(int i) => i < values.Count ? values[i] : 0;
        return new UsageCounters
        {
            Events = At(0),
            InputTokens = At(1),
            OutputTokens = At(2),
            CacheReadTokens = At(3),
            CacheWriteTokens = At(4),
            ReasoningTokens = At(5),
            CostNanos = At(6),
            UnpricedEvents = At(7),
            Successes = At(8),
            Failures = At(9),
            DurationMs = At(10),
            EstimatedCostNanos = At(11),
            ServerPricedEvents = At(12),
            BaselineTokens = At(13),
            BaselinedTokens = At(14),
            LastEventAtMs = At(15),
            HeldEvents = At(16),
            HeldCostNanos = At(17),
        };
    }
}
