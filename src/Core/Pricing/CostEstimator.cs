using AgentSpend.Core.Domain;

namespace AgentSpend.Core.Pricing;

/// <summary>Where the price of a call came from.</summary>
public enum PriceSource
{
    Catalog,
    Override,
}

/// <summary>The price that applies to one model on one day, where it came from, and the catalog entry (when the catalog knows the model).</summary>
public sealed record AppliedPrice(ModelPrice Price, PriceSource Source, PriceOverride? Override, CatalogModel? CatalogEntry);

/// <summary>
/// The server's estimate of what one model call cost, in nano-USD, from the catalog or the workspace's
/// override. Exact: a price of $p per million tokens is p × 1,000 nano-USD per token, so sums carry no
/// rounding drift.
/// </summary>
public sealed class CostEstimator(PriceCatalog catalog)
{
    private const decimal NanosPerTokenPerDollarPerMillion = 1000m;

    public PriceCatalog Catalog => catalog;

    /// <summary>Null when the model is not in the catalog: such an event stays unpriced, never $0.</summary>
    public long? EstimateNanos(UsageEvent e) => EstimateNanos(e, PriceOverrides.None);

    /// <summary>Null when neither the workspace's overrides nor the catalog price the model.</summary>
    public long? EstimateNanos(UsageEvent e, PriceOverrides overrides)
    {
        if (e.UnsplitTokens)
        {
            return null;
        }

        return PriceFor(e.Model, DateOnly.FromDateTime(e.Timestamp.UtcDateTime), overrides) is { } applied
            ? Nanos(e, applied.Price)
            : null;
    }

    /// <summary>The workspace's override in force on <paramref name="day"/> wins; otherwise the catalog's price of that day.</summary>
    public AppliedPrice? PriceFor(string model, DateOnly day, PriceOverrides overrides)
    {
        var entry = catalog.Find(model);
        if (overrides.Find(model, entry?.Model, day) is { } own)
        {
            return new AppliedPrice(own.ToModelPrice(), PriceSource.Override, own, entry);
        }

        return entry is null ? null : new AppliedPrice(entry.PriceOn(day), PriceSource.Catalog, null, entry);
    }

    /// <summary>What <paramref name="e"/> costs at <paramref name="price"/>, in nano-USD.</summary>
    public static long Nanos(UsageEvent e, ModelPrice price)
    {
        var promptTokens = e.InputTokens + e.CacheReadTokens + e.CacheWriteTokens;
        decimal input = price.Input, output = price.Output;
        var cacheRead = price.CacheRead ?? price.Input;
        var cacheWrite = price.CacheWrite5m ?? price.Input;
        var cacheWrite1h = price.CacheWrite1h ?? cacheWrite;
        if (price.LongContext is { } tier && promptTokens > tier.AboveInputTokens)
        {
            (input, output) = (tier.Input, tier.Output);
            cacheRead = tier.CacheRead ?? tier.Input;
            cacheWrite = tier.CacheWrite5m ?? tier.Input;
            cacheWrite1h = tier.CacheWrite1h ?? cacheWrite;
        }

        // Reasoning tokens are part of the output; an entry that prices them apart re-prices that share.
        var reasoning = price.Reasoning is not null ? Math.Min(e.ReasoningTokens, e.OutputTokens) : 0;
        // 1-hour writes are a share of the cache writes; a write of unknown lifetime is a 5-minute one.
        var oneHour = Math.Clamp(e.CacheWrite1hTokens ?? 0, 0, e.CacheWriteTokens);
        var usd = (e.InputTokens * input)
                  + ((e.OutputTokens - reasoning) * output)
                  + (reasoning * (price.Reasoning ?? output))
                  + (e.CacheReadTokens * cacheRead)
                  + ((e.CacheWriteTokens - oneHour) * cacheWrite)
                  + (oneHour * cacheWrite1h);
        return (long)decimal.Round(usd * NanosPerTokenPerDollarPerMillion, MidpointRounding.ToEven);
    }
}
