using AgentSpend.Tests.Shared;
using System.Text.Json;
using AgentSpend.Core.Domain;
using AgentSpend.Core.Pricing;

namespace AgentSpend.Core.Tests.Pricing;

public sealed class PricingTests
{
    private static readonly CostEstimator Estimator = new(PriceCatalog.Shipped);

    private static UsageEvent Call(string model, long input = 0, long output = 0, long cacheRead = 0, long cacheWrite = 0, long reasoning = 0, DateTimeOffset? at = null) => new()
    {
        Id = "k:x", WorkspaceId = "default", Day = "2026-11-22", Timestamp = at ?? new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero),
        Agent = "a", Provider = "p", Model = model,
        InputTokens = input, OutputTokens = output, CacheReadTokens = cacheRead, CacheWriteTokens = cacheWrite, ReasoningTokens = reasoning,
    };

    [Theory]
    [InlineData("claude-sonnet-4-5", "claude-sonnet-4-5")]
    [InlineData("anthropic/claude-sonnet-4-5-20250929", "claude-sonnet-4-5")]
    [InlineData("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5")]
    [InlineData("anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5")]
    [InlineData("claude-sonnet-4-5@20250929", "claude-sonnet-4-5")]
    [InlineData("claude-opus-4-8[1m]", "claude-opus-4-8")]
    [InlineData("Claude-Sonnet-4.5", "claude-sonnet-4-5")]
    [InlineData("openai/gpt-5-2025-08-07", "gpt-5")]
    [InlineData("models/gemini-2.5-pro", "gemini-2.5-pro")]
    [InlineData("gpt-4.1-mini", "gpt-4.1-mini")]
    public void Model_names_are_normalised(string raw, string normalised) =>
        Assert.Equal(normalised, ModelNames.Normalize(raw));

    [Theory]
    [InlineData("us.anthropic.claude-opus-4-8-v1:0", "claude-opus-4-8")]
    [InlineData("gpt-5-codex", "gpt-5")]
    [InlineData("gemini-3-pro", "gemini-3-pro-preview")]
    [InlineData("deepseek/deepseek-chat", "deepseek-chat")]
    [InlineData("mistral-large", "mistral-large-latest")]
    public void Spellings_and_aliases_find_their_catalog_entry(string raw, string entry) =>
        Assert.Equal(entry, PriceCatalog.Shipped.Find(raw)?.Model);

    [Fact]
    public void The_catalog_covers_the_models_agents_use_and_every_entry_has_a_source()
    {
        var catalog = PriceCatalog.Shipped;
        foreach (var model in new[]
                 {
                     "claude-opus-4-8", "claude-opus-4-5", "claude-sonnet-4-5", "claude-haiku-4-5", "gpt-5", "gpt-5-mini", "o3", "o4-mini",
                     "gpt-4.1", "gpt-4o", "gemini-2.5-pro", "gemini-2.5-flash", "gemini-3-pro-preview", "mistral-large-latest", "deepseek-chat",
                 })
        {
            Assert.NotNull(catalog.Find(model));
        }

        Assert.All(catalog.Models, m =>
        {
            Assert.StartsWith("https://", m.Source, StringComparison.Ordinal);
            Assert.NotEmpty(m.Prices);
            Assert.All(m.Prices, p => Assert.True(p.Input > 0 && p.Output >= p.Input && (p.CacheRead ?? 0) <= p.Input, m.Model));
        });
        Assert.Equal(["anthropic", "deepseek", "google", "mistral", "openai"], catalog.Models.Select(m => m.Provider).Distinct().Order());
    }

    [Fact]
    public void Claude_Code_cost_usd_is_matched_to_the_micro_dollar_on_every_fixture_record()
    {
        using var logs = JsonDocument.Parse(File.ReadAllText(Fixtures.Path("claude-code", "otlp-logs.json")));
        var checkedRecords = 0;
        foreach (var record in logs.RootElement.GetProperty("resourceLogs").EnumerateArray()
                     .SelectMany(r => r.GetProperty("scopeLogs").EnumerateArray())
                     .SelectMany(s => s.GetProperty("logRecords").EnumerateArray()))
        {
            var attributes = record.GetProperty("attributes").EnumerateArray()
                .ToDictionary(a => a.GetProperty("key").GetString()!, a => a.GetProperty("value").EnumerateObject().First().Value.ToString());
            if (attributes.GetValueOrDefault("event.name") != "api_request")
            {
                continue;
            }

            var estimate = Estimator.EstimateNanos(Call(
                attributes["model"],
                input: long.Parse(attributes["input_tokens"]),
                output: long.Parse(attributes["output_tokens"]),
                cacheRead: long.Parse(attributes["cache_read_tokens"]),
                cacheWrite: long.Parse(attributes["cache_creation_tokens"])));
            var claudeCode = decimal.Parse(attributes["cost_usd"], System.Globalization.CultureInfo.InvariantCulture);

            Assert.NotNull(estimate);
            Assert.Equal(Math.Round(claudeCode * 1_000_000m), Math.Round(estimate.Value / 1000m)); // the micro-dollar
            Assert.Equal(Money.ToNanos(claudeCode), estimate); // and in fact to the nano-dollar
            checkedRecords++;
        }

        Assert.Equal(2, checkedRecords);
    }

    [Fact]
    public void A_call_is_priced_exactly_per_token_kind()
    {
        // sonnet-4-5: 3 / 15 / cache read 0.30 / cache write 3.75 per million
        var estimate = Estimator.EstimateNanos(Call("claude-sonnet-4-5-20250929", input: 1_000, output: 200, cacheRead: 10_000, cacheWrite: 2_000));

        Assert.Equal((1_000 * 3_000L) + (200 * 15_000L) + (10_000 * 300L) + (2_000 * 3_750L), estimate);
    }

    [Fact]
    public void Long_prompts_switch_to_the_long_context_rates()
    {
        var estimate = Estimator.EstimateNanos(Call("claude-sonnet-4-5", input: 150_000, output: 1_000, cacheRead: 60_000));

        Assert.Equal((150_000 * 6_000L) + (1_000 * 22_500L) + (60_000 * 600L), estimate); // 210k prompt tokens > 200k
    }

    [Fact]
    public void Unknown_models_and_unsplit_run_tokens_stay_unpriced_never_zero()
    {
        Assert.Null(Estimator.EstimateNanos(Call("acme-llm-7", input: 100, output: 10)));
        Assert.Null(Estimator.EstimateNanos(Call("gpt-5", input: 100) with { UnsplitTokens = true }));
    }

    [Fact]
    public void The_price_in_force_on_the_event_day_applies()
    {
        var catalog = PriceCatalog.Parse("""
            {"version":"t","models":[{"provider":"x","model":"m","source":"https://x","compiled":"2026-01-01",
              "prices":[{"effective_from":"2026-01-01","input":2,"output":4},{"effective_from":"2026-06-01","input":1,"output":2}]}]}
            """u8);
        var estimator = new CostEstimator(catalog);

        Assert.Equal(2_000_000L + 4_000_000L, estimator.EstimateNanos(Call("m", input: 1_000, output: 1_000, at: new DateTimeOffset(2026, 5, 31, 23, 0, 0, TimeSpan.Zero))));
        Assert.Equal(1_000_000L + 2_000_000L, estimator.EstimateNanos(Call("m", input: 1_000, output: 1_000, at: new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero))));
        Assert.Equal(2_000_000L + 4_000_000L, estimator.EstimateNanos(Call("m", input: 1_000, output: 1_000, at: new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero))));
    }
}
