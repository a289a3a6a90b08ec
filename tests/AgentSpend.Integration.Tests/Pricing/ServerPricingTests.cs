using AgentSpend.Core.Domain;
using AgentSpend.Core.Pricing;
using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Pricing;

public sealed class ServerPricingTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Events_without_a_cost_are_priced_by_the_server_client_costs_count_and_unknown_models_stay_unpriced()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var now = DateTimeOffset.UtcNow.ToString("O");
        object Call(string model, string id, object? cost = null, string costField = "cost_usd") => costField == "cost"
            ? new { agent_name = "a", provider = "p", model, timestamp = now, input_tokens = 1_000, output_tokens = 200, cache_read_tokens = 10_000, idempotency_key = id, cost }
            : new { agent_name = "a", provider = "p", model, timestamp = now, input_tokens = 1_000, output_tokens = 200, cache_read_tokens = 10_000, idempotency_key = id, cost_usd = cost };

        var receipt = await app.SendAsync("POST", "/api/v1/ingest", new
        {
            events = new[]
            {
                Call("anthropic/claude-sonnet-4-5-20250929", "server"),  // priced by the server
                Call("claude-sonnet-4-5", "client", 0.5m),                // the client's cost counts
                Call("gpt-5", "alias", 0.25m, "cost"),                    // "cost" is an alias of cost_usd
                Call("acme-llm-7", "unknown"),                            // no price anywhere: unpriced
            },
        });
        var today = DateOnly.FromDateTime(DateTime.UtcNow).ToString("yyyy-MM-dd");
        var overview = await app.WaitForEventsAsync(4, today, today);
        var unpriced = await app.SendAsync("GET", "/api/v1/pricing/unpriced");
        var catalog = await app.SendAsync("GET", "/api/v1/pricing");

        var sonnet = (1_000 * 3_000L) + (200 * 15_000L) + (10_000 * 300L); // nano-USD
        var gpt5 = (1_000 * 1_250L) + (200 * 10_000L) + (10_000 * 125L);
        Assert.Equal(202, receipt.Status);
        Assert.Equal(0, receipt.Body!.Value.GetProperty("rejected_agents").GetArrayLength());
        Assert.Equal(Money.ToUsd(sonnet) + 0.5m + 0.25m, overview.Dec("cost_usd"));
        Assert.Equal(Money.ToUsd(sonnet + sonnet + gpt5), overview.Dec("estimated_cost_usd"));
        Assert.Equal((1L, 1L), (overview.Long("server_priced_events"), overview.Long("unpriced_events")));
        var item = Assert.Single(unpriced.Body!.Value.GetProperty("items").EnumerateArray());
        Assert.Equal(("acme-llm-7", 1L, 1L, 1_000L, 200L), (item.Str("model"), item.Long("events"), item.Long("unpriced_events"), item.Long("input_tokens"), item.Long("output_tokens")));

        // The metrics' range and filters apply: the same model for provider p today, none for another provider or agent.
        var filtered = (await app.SendAsync("GET", "/api/v1/pricing/unpriced?range=today&provider=p&agent=a")).Body!.Value;
        Assert.Equal(("acme-llm-7", 1L), (Assert.Single(filtered.GetProperty("items").EnumerateArray()).Str("model"), filtered.GetProperty("items")[0].Long("unpriced_events")));
        Assert.Empty((await app.SendAsync("GET", "/api/v1/pricing/unpriced?range=today&provider=q")).Body!.Value.GetProperty("items").EnumerateArray());
        Assert.Empty((await app.SendAsync("GET", "/api/v1/pricing/unpriced?range=7d&agent=b")).Body!.Value.GetProperty("items").EnumerateArray());
        var unknown = await app.SendAsync("GET", "/api/v1/pricing/unpriced?range=today&color=red");
        Assert.Equal((400, "color"), (unknown.Status, unknown.Body!.Value.GetProperty("errors")[0].Str("field")));
        Assert.Equal(PriceCatalog.Shipped.Version, catalog.Body!.Value.Str("version"));
        Assert.Equal(PriceCatalog.Shipped.Models.Count, catalog.Body.Value.GetProperty("models").GetArrayLength());
    }

    [Fact]
    public async Task A_run_event_from_an_optimisation_sdk_keeps_its_baseline_and_is_not_priced_per_kind()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "runs" }); // its own totals, apart from the other test's
        var now = DateTimeOffset.UtcNow.ToString("O");

        var single = await app.SendAsync("POST", "/api/events", new
        {
            run_id = "run-1", framework = "langchain", model_name = "gpt-4o", tokens_before = 12_000, tokens_after = 7_500, task_success = true, timestamp = now,
        }, key);
        var native = await app.SendAsync("POST", "/api/v1/ingest", new
        {
            events = new[] { new { run_id = "run-2", framework = "autogen", model_name = "claude-haiku-4-5", tokens_before = 3_000, tokens_after = 2_000, task_success = false, timestamp = now } },
        }, key);
        var bad = await app.SendAsync("POST", "/api/events", new { run_id = "run-3", framework = "langchain", tokens_after = -5, timestamp = now }, key);
        var today = DateOnly.FromDateTime(DateTime.UtcNow).ToString("yyyy-MM-dd");
        var overview = await WaitForAsync(app, key, $"/api/v1/metrics/overview?from={today}&to={today}", o => o.Long("events") == 2);
        var byAgent = (await app.SendAsync("GET", $"/api/v1/metrics/breakdown?by=agent&from={today}&to={today}", key: key)).Body!.Value;
        var byProvider = (await app.SendAsync("GET", $"/api/v1/metrics/breakdown?by=provider&from={today}&to={today}", key: key)).Body!.Value;

        Assert.Equal((202, 202, 400), (single.Status, native.Status, bad.Status));
        Assert.Equal((2L, 9_500L, 15_000L, 2L, 1L, 1L), (overview.Long("events"), overview.Long("input_tokens"), overview.Long("baseline_tokens"), overview.Long("unpriced_events"), overview.Long("successes"), overview.Long("failures")));
        Assert.Equal(["autogen", "langchain"], byAgent.GetProperty("items").EnumerateArray().Select(i => i.Str("key")!).Order());
        Assert.Equal(["anthropic", "openai"], byProvider.GetProperty("items").EnumerateArray().Select(i => i.Str("key")!).Order());
    }

    private static async Task<System.Text.Json.JsonElement> WaitForAsync(TestApp app, string key, string path, Func<System.Text.Json.JsonElement, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var body = (await app.SendAsync("GET", path, key: key)).Body!.Value;
            if (done(body) || DateTime.UtcNow > deadline)
            {
                return body;
            }

            await Task.Delay(100);
        }
    }
}
