using AgentSpend.Core.Domain;

namespace AgentSpend.Core.Pricing;

/// <summary>
/// The server's estimate of what one model call cost, in nano-USD, from the catalog. Exact: a price of
/// $p per million tokens is p × 1,000 nano-USD per token, so sums carry no rounding drift.
/// </summary>
public sealed class CostEstimator(PriceCatalog catalog)
{
    private const decimal NanosPerTokenPerDollarPerMillion = 1000m;

    public PriceCatalog Catalog => catalog;

    /// <summary>Null when the model is not in the catalog: such an event stays unpriced, never $0.</summary>
    public long? EstimateNanos(UsageEvent e)
    {
        var model = e.UnsplitTokens ? null : catalog.Find(e.Model);
        if (model is null)
        {
            return null;
        }

        var price = model.PriceOn(DateOnly.FromDateTime(e.Timestamp.UtcDateTime));
        var promptTokens = e.InputTokens + e.CacheReadTokens + e.CacheWriteTokens;
        decimal input = price.Input, output = price.Output;
        var cacheRead = price.CacheRead ?? price.Input;
        var cacheWrite = price.CacheWrite5m ?? price.Input;
        if (price.LongContext is { } tier && promptTokens > tier.AboveInputTokens)
        {
            (input, output) = (tier.Input, tier.Output);
            cacheRead = tier.CacheRead ?? tier.Input;
            cacheWrite = tier.CacheWrite5m ?? tier.Input;
        }

        // Reasoning tokens are part of the output; an entry that prices them apart re-prices that share.
        var reasoning = price.Reasoning is not null ? Math.Min(e.ReasoningTokens, e.OutputTokens) : 0;
        var usd = (e.InputTokens * input)
                  + ((e.OutputTokens - reasoning) * output)
                  + (reasoning * (price.Reasoning ?? output))
                  + (e.CacheReadTokens * cacheRead)
                  + (e.CacheWriteTokens * cacheWrite);
        return (long)decimal.Round(usd * NanosPerTokenPerDollarPerMillion, MidpointRounding.ToEven);
    }
}
