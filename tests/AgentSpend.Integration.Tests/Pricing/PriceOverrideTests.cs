using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using AgentSpend.Core.Domain;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Workspaces;
using AgentSpend.Integration.Tests.Infrastructure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.Pricing;

/// <summary>Workspace price overrides (negotiated discounts) and 1-hour cache writes, against real Azurite.</summary>
public sealed class PriceOverrideTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow.AddMinutes(-5);
    private static readonly string Today = Now.ToString("yyyy-MM-dd");

    /// <summary>Sonnet 4.5 at 80 % of list: 2.40 / 12 / 0.24 / 3 (5m) / 4.80 (1h) per million.</summary>
    private static readonly object Discount = new { input = 2.4m, output = 12m, cache_read = 0.24m, cache_write_5m = 3m, cache_write_1h = 4.8m, note = "2026 enterprise agreement" };

    private static object Call(string model, string id, decimal? cost = null, long cacheRead = 0, long cacheWrite = 0, long? cacheWrite1h = null) => new
    {
        agent_name = "coder", provider = "anthropic", model, timestamp = Now.ToString("O"), input_tokens = 1_000, output_tokens = 200,
        cache_read_tokens = cacheRead, cache_write_tokens = cacheWrite, cache_write_1h_tokens = cacheWrite1h, idempotency_key = id, cost_usd = cost,
    };

    [Fact]
    public async Task An_override_prices_the_workspace_events_at_once_client_costs_stay_other_workspaces_keep_the_catalog_and_delete_restores_it()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "discounted" });
        var (_, other) = await app.CreateWorkspaceAsync(new { name = "list-price" });

        // Before the override: the catalog (3 / 15), and the workspace's (empty) overrides are now cached.
        Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new { events = new[] { Call("claude-sonnet-4-5", "before") } }, key)).Status);
        var put = await app.SendAsync("PUT", "/api/v1/pricing/models/anthropic/claude-sonnet-4-5-20250929", Discount, key);
        // Ingested right after the PUT, on the same instance: the cache was dropped, the override applies.
        var during = await app.SendAsync("POST", "/api/v1/ingest", new
        {
            events = new[]
            {
                Call("claude-sonnet-4-5", "server", cacheRead: 10_000, cacheWrite: 2_000, cacheWrite1h: 500),
                Call("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "client", cost: 0.5m),
            },
        }, key);
        var elsewhere = await app.SendAsync("POST", "/api/v1/ingest", new { events = new[] { Call("claude-sonnet-4-5", "server", cacheRead: 10_000, cacheWrite: 2_000, cacheWrite1h: 500) } }, other);
        var own = await app.WaitForEventsAsync(3, Today, Today, key: key);
        var list = await app.WaitForEventsAsync(1, Today, Today, key: other);

        var effective = (await app.SendAsync("GET", "/api/v1/pricing/models/claude-sonnet-4-5", key: key)).Body!.Value;
        var encoded = (await app.SendAsync("GET", "/api/v1/pricing/models/anthropic%2Fclaude-sonnet-4-5-20250929", key: key)).Body!.Value;
        var otherEffective = (await app.SendAsync("GET", "/api/v1/pricing/models/claude-sonnet-4-5", key: other)).Body!.Value;
        var catalog = (await app.SendAsync("GET", "/api/v1/pricing", key: key)).Body!.Value;
        var otherCatalog = (await app.SendAsync("GET", "/api/v1/pricing", key: other)).Body!.Value;

        Assert.True(put.Status == 200, put.Text);
        Assert.Equal(("claude-sonnet-4-5", 2.4m, 12m, 4.8m, "2026 enterprise agreement"), (put.Body!.Value.Str("model"), put.Body.Value.Dec("input"), put.Body.Value.Dec("output"), put.Body.Value.Dec("cache_write_1h"), put.Body.Value.Str("note")));
        Assert.Equal(JsonValueKind.Null, put.Body.Value.GetProperty("effective_from").ValueKind);
        Assert.Equal((202, 202), (during.Status, elsewhere.Status));

        var before = (1_000 * 3_000L) + (200 * 15_000L);                                                                           // catalog
        var server = (1_000 * 2_400L) + (200 * 12_000L) + (10_000 * 240L) + (1_500 * 3_000L) + (500 * 4_800L);                   // override, 1h share at 4.80
        var client = (1_000 * 2_400L) + (200 * 12_000L);                                                                           // the estimate beside $0.50
        var listed = (1_000 * 3_000L) + (200 * 15_000L) + (10_000 * 300L) + (1_500 * 3_750L) + (500 * 6_000L);                   // catalog, 1h share at 6
        Assert.Equal((3L, Money.ToUsd(before + server) + 0.5m, Money.ToUsd(before + server + client), 2L),
            (own.Long("events"), own.Dec("cost_usd"), own.Dec("estimated_cost_usd"), own.Long("server_priced_events")));
        Assert.Equal((1L, Money.ToUsd(listed), Money.ToUsd(listed)), (list.Long("events"), list.Dec("cost_usd"), list.Dec("estimated_cost_usd")));
        Assert.Equal((0.5201m, 0.0249m, 0.017625m), (own.Dec("cost_usd"), own.Dec("estimated_cost_usd"), list.Dec("cost_usd"))); // the same, in dollars

        Assert.Equal(("claude-sonnet-4-5", "override", 2.4m, 4.8m), (effective.Str("model"), effective.Str("source"), effective.GetProperty("price").Dec("input"), effective.GetProperty("price").Dec("cache_write_1h")));
        Assert.Equal(3m, effective.GetProperty("catalog").GetProperty("prices")[0].Dec("input"));
        Assert.Equal(("claude-sonnet-4-5", "override"), (encoded.Str("model"), encoded.Str("source")));
        Assert.Equal(("catalog", 3m, JsonValueKind.Null), (otherEffective.Str("source"), otherEffective.GetProperty("price").Dec("input"), otherEffective.GetProperty("override").ValueKind));
        Assert.Equal(["claude-sonnet-4-5"], catalog.GetProperty("overrides").EnumerateArray().Select(o => o.Str("model")));
        Assert.Equal(0, otherCatalog.GetProperty("overrides").GetArrayLength());
        Assert.True(catalog.GetProperty("models").GetArrayLength() > 10);

        // A second PUT replaces the first; DELETE removes it; a second DELETE finds nothing.
        var changed = await app.SendAsync("PUT", "/api/v1/pricing/models/claude-sonnet-4-5", new { input = 2m, output = 10m }, key);
        var deleted = await app.SendAsync("DELETE", "/api/v1/pricing/models/Claude-Sonnet-4.5", key: key);
        var again = await app.SendAsync("DELETE", "/api/v1/pricing/models/claude-sonnet-4-5", key: key);
        Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new { events = new[] { Call("claude-sonnet-4-5", "after") } }, key)).Status);
        var after = await app.WaitForEventsAsync(4, Today, Today, key: key);
        var restored = (await app.SendAsync("GET", "/api/v1/pricing/models/claude-sonnet-4-5", key: key)).Body!.Value;

        Assert.Equal((200, 204, 404), (changed.Status, deleted.Status, again.Status));
        Assert.Equal(("application/problem+json", "model"), (again.MediaType, again.Body!.Value.GetProperty("errors")[0].Str("field")));
        Assert.Equal((4L, Money.ToUsd(before + server + before) + 0.5m), (after.Long("events"), after.Dec("cost_usd")));
        Assert.Equal(("catalog", JsonValueKind.Null), (restored.Str("source"), restored.GetProperty("override").ValueKind));

        // Audited with the prices before and after, newest first; the other workspace's log has none of it.
        var sets = (await app.SendAsync("GET", "/api/v1/audit?action=pricing.override.set", key: key)).Body!.Value.GetProperty("items").EnumerateArray().ToArray();
        var deletes = (await app.SendAsync("GET", "/api/v1/audit?action=pricing.override.delete", key: key)).Body!.Value.GetProperty("items").EnumerateArray().ToArray();
        var otherLog = (await app.SendAsync("GET", "/api/v1/audit?action=pricing.override.set", key: other)).Body!.Value.GetProperty("items");
        Assert.Equal(2, sets.Length);
        Assert.Equal(("claude-sonnet-4-5", 2.4m, 2m, 10m), (sets[0].Str("target"), sets[0].GetProperty("before").Dec("input"), sets[0].GetProperty("after").Dec("input"), sets[0].GetProperty("after").Dec("output")));
        Assert.Equal((JsonValueKind.Null, 2.4m, 4.8m), (sets[1].GetProperty("before").ValueKind, sets[1].GetProperty("after").Dec("input"), sets[1].GetProperty("after").Dec("cache_write_1h")));
        var delete = Assert.Single(deletes);
        Assert.Equal(("claude-sonnet-4-5", 2m, JsonValueKind.Null), (delete.Str("target"), delete.GetProperty("before").Dec("input"), delete.GetProperty("after").ValueKind));
        Assert.False(string.IsNullOrEmpty(delete.Str("actor_key_id")));
        Assert.Equal(0, otherLog.GetArrayLength());
    }

    [Fact]
    public async Task An_invalid_override_is_refused_with_a_problem_naming_the_field_and_nothing_is_stored()
    {
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" });
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "strict" });
        var cases = new (string Body, string Field, string Reason)[]
        {
            ("""{"input":-1,"output":10}""", "input", "must not be negative."),
            ("""{"input":3,"output":10,"cache_write_1h":-0.01}""", "cache_write_1h", "must not be negative."),
            ("""{"input":3}""", "output", "is required: USD per million tokens."),
            ("""{"output":3}""", "input", "is required: USD per million tokens."),
            ("""{"input":3,"output":10,"discount":0.2}""", "discount", "is not a known field."),
            ("""{"input":"3","output":10}""", "input", "has the wrong type or is out of range."),
            ("""{"input":3,"output":10,"effective_from":"2026-13-01"}""", "effective_from", "must be a date, YYYY-MM-DD (or absent: on every day)."),
            ("""{"input":3,"output":1001}""", "output", "must be at most 1000 (USD per million tokens)."),
            ("""{"input":3,"output":10,"note":"line\nbreak"}""", "note", "must be at most 500 characters, without control characters."),
            ("""[1,2]""", "body", "has the wrong type or is out of range."),
        };

        foreach (var (body, field, reason) in cases)
        {
            var reply = await app.SendAsync("PUT", "/api/v1/pricing/models/claude-sonnet-4-5", body, key);

            Assert.True((reply.Status, reply.MediaType) == (400, "application/problem+json"), $"{body}: {reply.Status} {reply.Text}");
            var error = Assert.Single(reply.Body!.Value.GetProperty("errors").EnumerateArray());
            Assert.Equal((body, field, reason), (body, error.Str("field"), error.Str("reason")));
        }

        var badModel = await app.SendAsync("PUT", "/api/v1/pricing/models/", new { input = 1, output = 2 }, key);
        var listed = (await app.SendAsync("GET", "/api/v1/pricing", key: key)).Body!.Value;
        var audit = (await app.SendAsync("GET", "/api/v1/audit?action=pricing.override.set", key: key)).Body!.Value;

        Assert.Equal((400, "model"), (badModel.Status, badModel.Body!.Value.GetProperty("errors")[0].Str("field")));
        Assert.Equal(0, listed.GetProperty("overrides").GetArrayLength());
        Assert.Equal(0, audit.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task Overrides_need_an_admin_key_and_unknown_or_not_yet_effective_prices_answer_404()
    {
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" });
        var (_, admin) = await app.CreateWorkspaceAsync(new { name = "rights" });
        var reader = (await app.SendAsync("POST", "/api/v1/keys", new { name = "r", scopes = new[] { "read" } }, admin)).Body!.Value.Str("key")!;
        var future = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(10).ToString("yyyy-MM-dd");

        var byReader = await app.SendAsync("PUT", "/api/v1/pricing/models/claude-sonnet-4-5", new { input = 1, output = 2 }, reader);
        var deleteByReader = await app.SendAsync("DELETE", "/api/v1/pricing/models/claude-sonnet-4-5", key: reader);
        var anonymous = await app.SendAsync("PUT", "/api/v1/pricing/models/claude-sonnet-4-5", new { input = 1, output = 2 }, key: null);
        var unknown = await app.SendAsync("GET", "/api/v1/pricing/models/acme-llm-9", key: reader);
        var textBody = await SendTextAsync(app, admin, "/api/v1/pricing/models/acme-llm-9", """{"input":1,"output":2}""");
        var scheduled = await app.SendAsync("PUT", "/api/v1/pricing/models/acme-llm-9", new { input = 1, output = 2, effective_from = future }, admin);
        var notYet = await app.SendAsync("GET", "/api/v1/pricing/models/acme-llm-9", key: reader);
        var onThatDay = await app.SendAsync("GET", $"/api/v1/pricing/models/acme-llm-9?on={future}", key: reader);
        var badDay = await app.SendAsync("GET", "/api/v1/pricing/models/acme-llm-9?on=tomorrow", key: reader);
        var sonnetLater = await app.SendAsync("PUT", "/api/v1/pricing/models/claude-sonnet-4-5", new { input = 1, output = 2, effective_from = future }, admin);
        var sonnetNow = (await app.SendAsync("GET", "/api/v1/pricing/models/claude-sonnet-4-5", key: reader)).Body!.Value;

        Assert.Equal((403, 403, 401), (byReader.Status, deleteByReader.Status, anonymous.Status));
        Assert.Equal((404, "model"), (unknown.Status, unknown.Body!.Value.GetProperty("errors")[0].Str("field")));
        Assert.Equal(415, textBody);
        Assert.Equal((200, future), (scheduled.Status, scheduled.Body!.Value.Str("effective_from")));
        Assert.Equal(404, notYet.Status);
        Assert.Contains($"applies from {future}", notYet.Body!.Value.GetProperty("errors")[0].Str("reason"), StringComparison.Ordinal);
        Assert.Equal((200, "override", 1m), (onThatDay.Status, onThatDay.Body!.Value.Str("source"), onThatDay.Body.Value.GetProperty("price").Dec("input")));
        Assert.Equal((400, "on"), (badDay.Status, badDay.Body!.Value.GetProperty("errors")[0].Str("field")));
        Assert.Equal(200, sonnetLater.Status);
        Assert.Equal(("catalog", 3m, future), (sonnetNow.Str("source"), sonnetNow.GetProperty("price").Dec("input"), sonnetNow.GetProperty("override").Str("effective_from")));
    }

    [Fact]
    public async Task A_Claude_Code_session_line_with_1h_cache_writes_is_priced_at_the_1h_rate_and_an_override_of_it_applies()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "one-hour" });
        static string Line(string id, string model) => JsonSerializer.Serialize(new
        {
            type = "assistant", requestId = "req_" + id, sessionId = "s-1", timestamp = Now.ToString("O"),
            message = new
            {
                id = "msg_" + id, model,
                usage = new
                {
                    input_tokens = 10, output_tokens = 5, cache_read_input_tokens = 2_000, cache_creation_input_tokens = 1_000,
                    cache_creation = new { ephemeral_1h_input_tokens = 600, ephemeral_5m_input_tokens = 400 },
                },
            },
        });

        // Haiku 4.5 gets a workspace price without a 1h rate: its 1h writes fall back to the override's 5m rate.
        Assert.Equal(200, (await app.SendAsync("PUT", "/api/v1/pricing/models/claude-haiku-4-5", new { input = 0.5m, output = 2.5m, cache_read = 0.05m, cache_write_5m = 0.625m }, key)).Status);
        var imported = await ImportAsync(app, key, Line("1", "claude-opus-4-8") + "\n" + Line("2", "claude-haiku-4-5-20251001") + "\n");
        var overview = await app.WaitForEventsAsync(2, Today, Today, key: key);
        var byModel = (await app.SendAsync("GET", $"/api/v1/metrics/breakdown?by=model&from={Today}&to={Today}", key: key)).Body!.Value
            .GetProperty("items").EnumerateArray().ToDictionary(i => i.Str("key")!, i => i.Dec("cost_usd"));

        // Opus 4.8: 5 / 25 / 0.50 / 6.25 (5m) / 10 (1h) per million; 400 5-minute and 600 1-hour writes.
        var opus = (10 * 5_000L) + (5 * 25_000L) + (2_000 * 500L) + (400 * 6_250L) + (600 * 10_000L);
        var haiku = (10 * 500L) + (5 * 2_500L) + (2_000 * 50L) + (1_000 * 625L);
        Assert.True(imported.Status == 202, imported.Text);
        Assert.Equal(2L, imported.Body!.Value.Long("imported"));
        Assert.Equal((2L, 2_000L, Money.ToUsd(opus + haiku), 2L), (overview.Long("events"), overview.Long("cache_write_tokens"), overview.Dec("cost_usd"), overview.Long("server_priced_events")));
        Assert.Equal(0.009675m, Money.ToUsd(opus));
        Assert.Equal((Money.ToUsd(opus), Money.ToUsd(haiku)), (byModel["claude-opus-4-8"], byModel["claude-haiku-4-5-20251001"]));
    }

    [Fact]
    public async Task An_override_prices_a_model_the_catalog_does_not_know_and_takes_it_off_the_unpriced_list()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "private-models" });
        Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new { events = new[] { Call("acme-llm-7", "u1"), Call("acme-llm-8", "u2") } }, key)).Status);
        await app.WaitForEventsAsync(2, Today, Today, key: key);
        var unpricedBefore = (await app.SendAsync("GET", "/api/v1/pricing/unpriced", key: key)).Body!.Value;

        Assert.Equal(200, (await app.SendAsync("PUT", "/api/v1/pricing/models/acme-llm-7", new { input = 0.7m, output = 2.1m }, key)).Status);
        Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new { events = new[] { Call("acme-llm-7-20260101", "u3") } }, key)).Status);
        var overview = await app.WaitForEventsAsync(3, Today, Today, key: key);
        var unpricedAfter = (await app.SendAsync("GET", "/api/v1/pricing/unpriced", key: key)).Body!.Value;

        Assert.Equal(["acme-llm-7", "acme-llm-8"], unpricedBefore.GetProperty("items").EnumerateArray().Select(i => i.Str("model")!).Order());
        Assert.Equal(["acme-llm-8"], unpricedAfter.GetProperty("items").EnumerateArray().Select(i => i.Str("model")));
        // 1,000 × 0.70 + 200 × 2.10 per million = 0.00112; the two earlier events stay unpriced until a re-pricing.
        Assert.Equal((3L, 0.00112m, 2L, 1L), (overview.Long("events"), overview.Dec("cost_usd"), overview.Long("unpriced_events"), overview.Long("server_priced_events")));
    }

    [Fact]
    public async Task A_reprice_after_an_override_moves_the_server_priced_events_to_it()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "reprice-override" });
        Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new { events = new[] { Call("claude-sonnet-4-5", "r1"), Call("claude-sonnet-4-5", "r2", cost: 1m) } }, key)).Status);
        await app.WaitForEventsAsync(2, Today, Today, key: key);

        Assert.Equal(200, (await app.SendAsync("PUT", "/api/v1/pricing/models/claude-sonnet-4-5", Discount, key)).Status);
        var run = await app.SendAsync("POST", $"/api/v1/pricing/reprice?from={Today}&to={Today}", key: key);
        var after = await app.WaitForOverviewAsync(o => o.Dec("cost_usd") != 1.006m, Today, Today, key: key);

        var catalog = (1_000 * 3_000L) + (200 * 15_000L);
        var discounted = (1_000 * 2_400L) + (200 * 12_000L);
        Assert.True(run.Status == 200, run.Text);
        Assert.Equal((2L, Money.ToUsd(discounted - catalog), Money.ToUsd(2 * (discounted - catalog))), (run.Body!.Value.Long("events_changed"), run.Body.Value.Dec("cost_delta_usd"), run.Body.Value.Dec("estimate_delta_usd")));
        Assert.Equal((Money.ToUsd(discounted) + 1m, Money.ToUsd(2 * discounted)), (after.Dec("cost_usd"), after.Dec("estimated_cost_usd")));
    }

    [Fact]
    public async Task Purging_a_workspace_deletes_its_overrides_and_no_other()
    {
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" });
        var (doomed, doomedKey) = await app.CreateWorkspaceAsync(new { name = "doomed-prices" });
        var (kept, keptKey) = await app.CreateWorkspaceAsync(new { name = "kept-prices" });
        foreach (var key in new[] { doomedKey, keptKey })
        {
            foreach (var model in new[] { "claude-sonnet-4-5", "gpt-5" })
            {
                Assert.Equal(200, (await app.SendAsync("PUT", $"/api/v1/pricing/models/{model}", new { input = 1, output = 2 }, key)).Status);
            }
        }

        Assert.Equal(202, (await app.SendAsync("DELETE", $"/api/v1/workspaces/{doomed}")).Status);
        var outcome = Assert.Single(await app.Services.GetRequiredService<WorkspacePurgeService>().RunAsync(CancellationToken.None));

        Assert.Equal(doomed, outcome.WorkspaceId);
        Assert.Equal(0, await CountAsync(app, doomed));
        Assert.Equal(2, await CountAsync(app, kept));
        Assert.Equal(2, (await app.SendAsync("GET", "/api/v1/pricing", key: keptKey)).Body!.Value.GetProperty("overrides").GetArrayLength());
    }

    private static async Task<int> CountAsync(TestApp app, string workspace)
    {
        var count = 0;
        await foreach (var _ in app.Storage.GetTable(StorageNames.PriceOverridesTable).QueryAsync(TableClient.CreateQueryFilter($"PartitionKey eq {workspace}")))
        {
            count++;
        }

        return count;
    }

    private static async Task<int> SendTextAsync(TestApp app, string key, string path, string body)
    {
        using var client = app.CreateClient(key);
        using var content = new StringContent(body, Encoding.UTF8, "text/plain");
        using var response = await client.PutAsync(path, content);
        return (int)response.StatusCode;
    }

    private static async Task<Reply> ImportAsync(TestApp app, string key, string body)
    {
        using var client = app.CreateClient(key);
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/octet-stream");
        using var response = await client.PostAsync("/api/v1/import?format=claude-code-jsonl", content);
        var text = await response.Content.ReadAsStringAsync();
        return new Reply((int)response.StatusCode, text.StartsWith('{') ? JsonDocument.Parse(text).RootElement.Clone() : null, text, response.Content.Headers.ContentType?.MediaType, null);
    }
}
