using AgentSpend.Core.Domain;
using AgentSpend.Core.Pricing;

namespace AgentSpend.Core.Tests.Pricing;

/// <summary>A workspace's own prices against the catalog, and 1-hour cache writes.</summary>
public sealed class PriceOverrideTests
{
    private static readonly CostEstimator Estimator = new(PriceCatalog.Shipped);
    private static readonly DateTimeOffset Noon = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    private static UsageEvent Call(string model, long input = 0, long output = 0, long cacheRead = 0, long cacheWrite = 0, long? cacheWrite1h = null, long reasoning = 0, DateTimeOffset? at = null) => new()
    {
        Id = "k:x", WorkspaceId = "w", Day = "2026-11-22", Timestamp = at ?? Noon, Agent = "a", Provider = "p", Model = model,
        InputTokens = input, OutputTokens = output, CacheReadTokens = cacheRead, CacheWriteTokens = cacheWrite, CacheWrite1hTokens = cacheWrite1h, ReasoningTokens = reasoning,
    };

    private static PriceOverride Override(string model, decimal input, decimal output, decimal? cacheRead = null, decimal? cacheWrite5m = null, decimal? cacheWrite1h = null, DateOnly? from = null, decimal? reasoning = null) => new()
    {
        Model = ModelNames.Normalize(model), Input = input, Output = output, CacheRead = cacheRead, CacheWrite5m = cacheWrite5m, CacheWrite1h = cacheWrite1h, EffectiveFrom = from, Reasoning = reasoning,
    };

    private static readonly PriceOverrides Discounted = new([Override("claude-sonnet-4-5", 2.4m, 12m, 0.24m, 3m, 4.8m)]);

    [Fact]
    public void The_workspace_override_wins_over_the_catalog_for_every_token_kind()
    {
        var call = Call("anthropic/claude-sonnet-4-5-20250929", input: 1_000, output: 200, cacheRead: 10_000, cacheWrite: 2_000, cacheWrite1h: 500);

        var catalog = Estimator.EstimateNanos(call);
        var own = Estimator.EstimateNanos(call, Discounted);

        // $ per million × 1,000 = nano-USD per token. Catalog: 3 / 15 / 0.30 / 3.75 (5m) / 6 (1h).
        Assert.Equal((1_000 * 3_000L) + (200 * 15_000L) + (10_000 * 300L) + (1_500 * 3_750L) + (500 * 6_000L), catalog);
        Assert.Equal((1_000 * 2_400L) + (200 * 12_000L) + (10_000 * 240L) + (1_500 * 3_000L) + (500 * 4_800L), own);
        Assert.Equal(PriceSource.Override, Estimator.PriceFor(call.Model, new DateOnly(2026, 11, 22), Discounted)!.Source);
        Assert.Equal(PriceSource.Catalog, Estimator.PriceFor(call.Model, new DateOnly(2026, 11, 22), PriceOverrides.None)!.Source);
    }

    [Theory]
    [InlineData("claude-sonnet-4-5")]
    [InlineData("anthropic/claude-sonnet-4-5-20250929")]
    [InlineData("us.anthropic.claude-sonnet-4-5-20250929-v1:0")]
    [InlineData("claude-sonnet-4-5@20250929")]
    [InlineData("Claude-Sonnet-4.5")]
    public void Every_spelling_of_a_model_finds_the_same_override(string spelling)
    {
        Assert.Equal("claude-sonnet-4-5", Discounted.Get(spelling)?.Model);
        Assert.Equal((1_000 * 2_400L) + (100 * 12_000L), Estimator.EstimateNanos(Call(spelling, input: 1_000, output: 100), Discounted));
    }

    [Fact]
    public void Another_model_and_another_workspace_keep_the_catalog_price()
    {
        Assert.Equal((1_000 * 1_000L) + (100 * 5_000L), Estimator.EstimateNanos(Call("claude-haiku-4-5", input: 1_000, output: 100), Discounted));
        Assert.Equal((1_000 * 3_000L) + (100 * 15_000L), Estimator.EstimateNanos(Call("claude-sonnet-4-5", input: 1_000, output: 100), PriceOverrides.None));
    }

    [Fact]
    public void An_override_of_a_catalog_entry_covers_its_aliases_unless_an_alias_has_its_own()
    {
        var entryOnly = new PriceOverrides([Override("gpt-5", 1m, 8m, cacheRead: 0.1m)]);
        var both = new PriceOverrides([Override("gpt-5", 1m, 8m, cacheRead: 0.1m), Override("gpt-5-codex", 0.5m, 4m)]);
        var call = Call("openai/gpt-5-codex", input: 10_000, output: 1_000, cacheRead: 20_000);

        Assert.Equal((10_000 * 1_250L) + (1_000 * 10_000L) + (20_000 * 125L), Estimator.EstimateNanos(call));
        Assert.Equal((10_000 * 1_000L) + (1_000 * 8_000L) + (20_000 * 100L), Estimator.EstimateNanos(call, entryOnly));
        Assert.Equal((10_000 * 500L) + (1_000 * 4_000L) + (20_000 * 500L), Estimator.EstimateNanos(call, both)); // no cache_read price: input's
    }

    [Fact]
    public void An_override_applies_from_its_effective_date_and_the_catalog_before_it()
    {
        var fromDecember = new PriceOverrides([Override("claude-sonnet-4-5", 1m, 5m, from: new DateOnly(2026, 12, 1))]);

        Assert.Equal((1_000 * 3_000L) + (100 * 15_000L), Estimator.EstimateNanos(Call("claude-sonnet-4-5", 1_000, 100, at: new DateTimeOffset(2026, 11, 30, 23, 59, 59, TimeSpan.Zero)), fromDecember));
        Assert.Equal((1_000 * 1_000L) + (100 * 5_000L), Estimator.EstimateNanos(Call("claude-sonnet-4-5", 1_000, 100, at: new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero)), fromDecember));
        // The day is the UTC day, as for catalog prices: 00:30 in Berlin on 1 December is still 30 November.
        Assert.Equal((1_000 * 3_000L) + (100 * 15_000L), Estimator.EstimateNanos(Call("claude-sonnet-4-5", 1_000, 100, at: new DateTimeOffset(2026, 12, 1, 0, 30, 0, TimeSpan.FromHours(1))), fromDecember));
    }

    [Fact]
    public void An_override_prices_a_model_the_catalog_does_not_know_and_has_no_long_context_tier()
    {
        var own = new PriceOverrides([Override("acme-llm-7-20260101", 0.7m, 2.1m), Override("claude-sonnet-4-5", 2m, 10m)]);

        Assert.Null(Estimator.EstimateNanos(Call("acme-llm-7", input: 1_000, output: 100)));
        Assert.Equal((1_000 * 700L) + (100 * 2_100L), Estimator.EstimateNanos(Call("acme-llm-7", input: 1_000, output: 100), own));
        // 210k prompt tokens: the catalog switches to its long-context rates (6 / 22.5), the override keeps its own.
        Assert.Equal((150_000 * 6_000L) + (1_000 * 22_500L) + (60_000 * 600L), Estimator.EstimateNanos(Call("claude-sonnet-4-5", input: 150_000, output: 1_000, cacheRead: 60_000)));
        Assert.Equal((150_000 * 2_000L) + (1_000 * 10_000L) + (60_000 * 2_000L), Estimator.EstimateNanos(Call("claude-sonnet-4-5", input: 150_000, output: 1_000, cacheRead: 60_000), own));
    }

    [Fact]
    public void Unsplit_run_tokens_stay_unpriced_even_with_an_override()
    {
        Assert.Null(Estimator.EstimateNanos(Call("claude-sonnet-4-5", input: 100) with { UnsplitTokens = true }, Discounted));
    }

    [Fact]
    public void A_client_cost_counts_and_the_override_estimate_is_kept_beside_it()
    {
        var client = Call("claude-sonnet-4-5", input: 1_000, output: 100) with { CostNanos = 50_000_000 };
        var server = Call("claude-sonnet-4-5", input: 1_000, output: 100);
        var estimate = (1_000 * 2_400L) + (100 * 12_000L);

        var a = WorkspacePricing.Price(client, Estimator.EstimateNanos(client, Discounted));
        var b = WorkspacePricing.Price(server, Estimator.EstimateNanos(server, Discounted));

        Assert.Equal((50_000_000L, estimate, false), (a.CostNanos, a.EstimatedCostNanos, a.ServerPriced));
        Assert.Equal((estimate, estimate, true), (b.CostNanos, b.EstimatedCostNanos, b.ServerPriced));
    }

    [Fact]
    public void One_hour_cache_writes_are_priced_at_the_1h_rate_and_the_rest_at_the_5m_rate()
    {
        // opus-4-8: input 5, cache write 6.25 (5m) / 10 (1h) per million.
        Assert.Equal((4_000 * 6_250L) + (6_000 * 10_000L), Estimator.EstimateNanos(Call("claude-opus-4-8", cacheWrite: 10_000, cacheWrite1h: 6_000)));
        Assert.Equal(10_000 * 10_000L, Estimator.EstimateNanos(Call("claude-opus-4-8", cacheWrite: 10_000, cacheWrite1h: 10_000)));
        Assert.Equal(10_000 * 6_250L, Estimator.EstimateNanos(Call("claude-opus-4-8", cacheWrite: 10_000, cacheWrite1h: 0)));
        Assert.Equal(10_000 * 6_250L, Estimator.EstimateNanos(Call("claude-opus-4-8", cacheWrite: 10_000))); // lifetime unknown: 5 minutes
    }

    [Fact]
    public void One_hour_writes_in_a_long_context_call_take_the_tier_1h_rate()
    {
        // sonnet-4-5 above 200k prompt tokens: input 6, output 22.5, cache write 7.5 (5m) / 12 (1h).
        var estimate = Estimator.EstimateNanos(Call("claude-sonnet-4-5", input: 190_000, output: 1_000, cacheWrite: 20_000, cacheWrite1h: 15_000));

        Assert.Equal((190_000 * 6_000L) + (1_000 * 22_500L) + (5_000 * 7_500L) + (15_000 * 12_000L), estimate);
    }

    [Fact]
    public void Without_a_1h_price_1h_writes_fall_back_to_the_5m_price_then_to_input()
    {
        var own = new PriceOverrides([Override("m-5m", 1m, 2m, cacheWrite5m: 1.25m), Override("m-bare", 1m, 2m), Override("m-1h", 1m, 2m, cacheWrite5m: 1.25m, cacheWrite1h: 2m)]);

        Assert.Equal(1_000 * 1_250L, Estimator.EstimateNanos(Call("m-5m", cacheWrite: 1_000, cacheWrite1h: 400), own));
        Assert.Equal(1_000 * 1_000L, Estimator.EstimateNanos(Call("m-bare", cacheWrite: 1_000, cacheWrite1h: 400), own));
        Assert.Equal((600 * 1_250L) + (400 * 2_000L), Estimator.EstimateNanos(Call("m-1h", cacheWrite: 1_000, cacheWrite1h: 400), own));
        // gpt-5 lists neither cache-write price: writes are priced as input (1.25).
        Assert.Equal(1_000 * 1_250L, Estimator.EstimateNanos(Call("gpt-5", cacheWrite: 1_000, cacheWrite1h: 400)));
    }

    [Fact]
    public void A_1h_count_above_the_cache_writes_never_prices_more_tokens_than_were_written()
    {
        Assert.Equal(1_000 * 10_000L, Estimator.EstimateNanos(Call("claude-opus-4-8", cacheWrite: 1_000, cacheWrite1h: 5_000)));
    }

    [Fact]
    public void Prices_with_many_decimals_stay_exact_to_the_nano_dollar()
    {
        var own = new PriceOverrides([Override("claude-haiku-4-5", 0.123456m, 0.000001m)]);

        // 7 × 123.456 nano + 3 × 0.001 nano = 864.195 nano: the sum is rounded once, to the nano-dollar.
        Assert.Equal(864L, Estimator.EstimateNanos(Call("claude-haiku-4-5", input: 7, output: 3), own));
    }
}
