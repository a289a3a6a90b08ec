using System.Text.Json;
using AgentSpend.Core.Pricing;
using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Pricing;

/// <summary>Re-pricing stored events after the catalog changed: buckets move by exactly the difference, once.</summary>
public sealed class RepriceTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>, IDisposable
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow.AddMinutes(-5);
    private static readonly string Today = Now.ToString("yyyy-MM-dd");
    private static readonly string Yesterday = Now.AddDays(-1).ToString("yyyy-MM-dd");

    private readonly string _catalogPath = Path.Combine(Path.GetTempPath(), $"agentspend-catalog-{Guid.NewGuid():N}.json");

    public void Dispose() => File.Delete(_catalogPath);

    /// <summary>The shipped catalog with Sonnet 4.5 at half price and a price for a model it did not know.</summary>
    private void WriteChangedCatalog()
    {
        var models = PriceCatalog.Shipped.Models
            .Select(m => m.Model == "claude-sonnet-4-5"
                ? m with { Prices = [m.Prices[^1] with { Input = 1.5m, Output = 7.5m, LongContext = null }] }
                : m)
            .Append(new CatalogModel { Provider = "acme", Model = "acme-llm-1", Prices = [new ModelPrice { EffectiveFrom = new DateOnly(2020, 1, 1), Input = 2, Output = 4 }], Source = "test", Compiled = new DateOnly(2026, 11, 23) });
        File.WriteAllText(_catalogPath, JsonSerializer.Serialize(new { version = "test-2", models }));
    }

    private static object Call(string model, string id, DateTimeOffset at, decimal? cost = null, int input = 100_000, int output = 10_000) =>
        new { agent_name = "coder", provider = "p", model, timestamp = at.ToString("O"), input_tokens = input, output_tokens = output, idempotency_key = id, cost_usd = cost };

    [Fact]
    public async Task After_a_catalog_change_a_reprice_moves_the_buckets_by_exactly_the_difference_and_a_second_run_changes_nothing()
    {
        string workspace, key;
        await using (var before = await TestApp.StartAsync(azurite))
        {
            (workspace, key) = await before.CreateWorkspaceAsync(new { name = "reprice" }, "admin");
            var receipt = await before.SendAsync("POST", "/api/v1/ingest", new
            {
                events = new[]
                {
                    Call("claude-sonnet-4-5", "y-server", Now.AddDays(-1)),       // $3 / $15: 0.30 + 0.15
                    Call("claude-sonnet-4-5", "t-server", Now),                   // the same
                    Call("claude-sonnet-4-5", "t-client", Now, cost: 1.00m),      // the client's $1 counts; estimate 0.45
                    Call("acme-llm-1", "t-unknown", Now, input: 50_000, output: 5_000), // no price: unpriced
                },
            }, key);
            Assert.Equal(202, receipt.Status);
            var counted = await before.WaitForEventsAsync(4, Yesterday, Today, key: key);
            Assert.Equal((1.90m, 1.35m, 1L), (counted.Dec("cost_usd"), counted.Dec("estimated_cost_usd"), counted.Long("unpriced_events")));
        }

        WriteChangedCatalog();
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { [PriceCatalog.CatalogPathSetting] = _catalogPath });
        // A new event before the re-pricing puts today's bucket in the aggregator's cache; the one after finds it stale.
        await app.SendAsync("POST", "/api/v1/ingest", new { events = new[] { Call("claude-sonnet-4-5", "t-new-1", Now) } }, key);
        await app.WaitForEventsAsync(5, Yesterday, Today, key: key);

        var first = await app.SendAsync("POST", $"/api/v1/pricing/reprice?from={Yesterday}&to={Today}", key: key);
        var second = await app.SendAsync("POST", $"/api/v1/pricing/reprice?from={Yesterday}&to={Today}", key: key);
        await app.SendAsync("POST", "/api/v1/ingest", new { events = new[] { Call("claude-sonnet-4-5", "t-new-2", Now) } }, key);
        var after = await app.WaitForEventsAsync(6, Yesterday, Today, key: key);
        var yesterday = (await app.SendAsync("GET", $"/api/v1/metrics/overview?from={Yesterday}&to={Yesterday}", key: key)).Body!.Value;
        var audit = (await app.SendAsync("GET", "/api/v1/audit?action=pricing.reprice", key: key)).Body!.Value;

        Assert.True(first.Status == 200, first.Text);
        var run = first.Body!.Value;
        // Sonnet now $1.50 / $7.50: 0.15 + 0.075 = 0.225 a call; acme 50k × $2 + 5k × $4 per million = 0.12.
        // Changed: the two server-priced Sonnet calls (-0.225 each), the client-priced one's estimate only, acme newly priced.
        Assert.Equal(("test-2", 2, 5L, 4L, 1L, 0L), (run.Str("catalog_version"), (int)run.Long("days"), run.Long("events_examined"), run.Long("events_changed"), run.Long("newly_priced"), run.Long("newly_unpriced")));
        Assert.Equal((-0.33m, -0.555m), (run.Dec("cost_delta_usd"), run.Dec("estimate_delta_usd")));
        Assert.Equal(
            [("acme-llm-1", 1L, 0.12m, 0.12m), ("claude-sonnet-4-5", 3L, -0.45m, -0.675m)],
            run.GetProperty("models").EnumerateArray().Select(m => (m.Str("model")!, m.Long("events"), m.Dec("cost_delta_usd"), m.Dec("estimate_delta_usd"))));
        Assert.Equal((200, 5L, 0L, 0m), (second.Status, second.Body!.Value.Long("events_examined"), second.Body.Value.Long("events_changed"), second.Body.Value.Dec("cost_delta_usd")));

        // Totals: 3 × 0.225 (server-priced Sonnet, t-new-1 was priced by the new catalog at ingest) + 1.00 + 0.12 + 0.225 (t-new-2).
        Assert.Equal((6L, 2.02m, 1.245m, 0L, 5L), (after.Long("events"), after.Dec("cost_usd"), after.Dec("estimated_cost_usd"), after.Long("unpriced_events"), after.Long("server_priced_events")));
        Assert.Equal((1L, 0.225m), (yesterday.Long("events"), yesterday.Dec("cost_usd")));
        var entries = audit.GetProperty("items").EnumerateArray().ToArray();
        Assert.Equal(2, entries.Length);
        Assert.Equal(($"{Yesterday}..{Today}", -0.33m), (entries[1].Str("target"), entries[1].GetProperty("after").Dec("cost_delta_usd")));
    }

    [Fact]
    public async Task A_reprice_needs_an_admin_key_and_a_valid_named_range()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, admin) = await app.CreateWorkspaceAsync(new { name = "reprice-bad" }, "admin");
        var (_, reader) = await app.CreateWorkspaceAsync(new { name = "reprice-reader" }, "read");
        var farBack = Now.AddDays(-400).ToString("yyyy-MM-dd");

        var replies = new (Reply Reply, string? Field)[]
        {
            (await app.SendAsync("POST", $"/api/v1/pricing/reprice?to={Today}", key: admin), "from"),
            (await app.SendAsync("POST", $"/api/v1/pricing/reprice?from={Today}", key: admin), "to"),
            (await app.SendAsync("POST", $"/api/v1/pricing/reprice?from={Today}&to={Yesterday}", key: admin), "from"),
            (await app.SendAsync("POST", $"/api/v1/pricing/reprice?from=2026-13-01&to={Today}", key: admin), "from"),
            (await app.SendAsync("POST", $"/api/v1/pricing/reprice?from={farBack}&to={Today}", key: admin), "to"),
        };
        var forbidden = await app.SendAsync("POST", $"/api/v1/pricing/reprice?from={Today}&to={Today}", key: reader);

        Assert.All(replies, r =>
        {
            Assert.Equal((400, "application/problem+json"), (r.Reply.Status, r.Reply.MediaType));
            Assert.Equal(r.Field, r.Reply.Body!.Value.GetProperty("errors")[0].Str("field"));
        });
        Assert.Equal(403, forbidden.Status);
    }
}
