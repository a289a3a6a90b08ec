using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using AgentSpend.Integration.Tests.Infrastructure;
using AgentSpend.Tests.Shared;
using Xunit.Abstractions;

namespace AgentSpend.Integration.Tests.Recovery;

/// <summary>
/// A storage outage (Azurite stopped, then started again on the same data): usage endpoints answer 503 with
/// Retry-After, never 500 and never 401, within a few seconds; once storage is back, the same requests are
/// accepted and everything they carry is counted exactly once.
/// </summary>
public sealed class StorageOutageTests(AzuriteFixture azurite, ITestOutputHelper output) : IClassFixture<AzuriteFixture>
{
    private static readonly string Today = Json.Day(DateOnly.FromDateTime(DateTime.UtcNow));

    /// <summary>A request answered while storage is down may take the SDK's retries (4, from 200 ms apart), not its 30 s network timeout.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    /// <summary>No idempotency keys: the resend after the outage is recognised by its server ids alone. Input 1,000 + i, output 5.</summary>
    private static readonly string IngestBody = JsonSerializer.Serialize(new
    {
        events = Enumerable.Range(0, 4).Select(i => new
        {
            agent_name = "outage-agent", provider = "anthropic", model = "claude-sonnet-4-5", timestamp = $"{Today}T00:00:1{i}Z",
            input_tokens = 1_000 + i, output_tokens = 5,
        }),
    });

    private static readonly string ImportCsv =
        $"timestamp,model,input_tokens,output_tokens,request_id\n{Today}T00:20:00Z,claude-sonnet-4-5,1000,200,req_outage_1\n{Today}T00:21:00Z,claude-haiku-4-5,10,20,req_outage_2\n";

    private static readonly string CheckBody = JsonSerializer.Serialize(new { agent_name = "outage-agent", estimated_cost_usd = 0.01m });

    private static readonly (string Name, string Method, string Path, string? Body, string ContentType)[] UsageRequests =
    [
        ("ingest", "POST", "/api/v1/ingest", IngestBody, "application/json"),
        ("otlp logs", "POST", "/api/otlp/v1/logs", Fixtures.TextMovedToToday("claude-code", "otlp-logs.json"), "application/json"),
        ("import", "POST", "/api/v1/import?format=csv", ImportCsv, "text/csv"),
        ("check", "POST", "/api/v1/check", CheckBody, "application/json"),
    ];

    private static async Task<(Reply Reply, TimeSpan Took)> SendAsync(TestApp app, string key, string method, string path, string? body, string contentType)
    {
        using var client = app.CreateClient(key);
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        }

        var watch = Stopwatch.StartNew();
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var took = watch.Elapsed;
        var media = response.Content.Headers.ContentType?.MediaType;
        return (new Reply((int)response.StatusCode, text.StartsWith('{') ? JsonDocument.Parse(text).RootElement.Clone() : null, text, media, response.Headers.RetryAfter?.Delta), took);
    }

    [Fact]
    public async Task While_storage_is_down_every_usage_request_answers_503_and_afterwards_the_same_requests_are_counted_once()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, cachedKey) = await app.CreateWorkspaceAsync(new { name = "outage" });
        var created = await app.SendAsync("POST", "/api/v1/keys", new { name = "never used", scopes = new[] { "ingest" } }, cachedKey);
        var uncachedKey = created.Body!.Value.Str("key")!;
        // One batch before the outage: the admin key's lookup (and its workspace's) is now cached; the ingest key's is not.
        var first = await app.SendAsync("POST", "/api/v1/ingest", new
        {
            events = Enumerable.Range(0, 3).Select(i => new
            {
                agent_name = "outage-agent", provider = "anthropic", model = "claude-sonnet-4-5", timestamp = $"{Today}T00:00:0{i}Z",
                input_tokens = 100 * (i + 1), output_tokens = 10 * (i + 1),
            }),
        }, cachedKey);
        Assert.Equal(202, first.Status);
        await app.WaitForEventsAsync(3, Today, Today, key: cachedKey);

        await azurite.StopAsync();
        var during = new List<(string Name, string Key, Reply Reply, TimeSpan Took)>();
        foreach (var (label, key) in new[] { ("cached key", cachedKey), ("uncached key", uncachedKey) })
        {
            foreach (var r in UsageRequests)
            {
                var (reply, took) = await SendAsync(app, key, r.Method, r.Path, r.Body, r.ContentType);
                during.Add(($"{r.Name} ({label})", key, reply, took));
            }
        }

        var (overview, overviewTook) = await SendAsync(app, cachedKey, "GET", $"/api/v1/metrics/overview?from={Today}&to={Today}", null, "");
        var (keys, keysTook) = await SendAsync(app, cachedKey, "GET", "/api/v1/keys", null, "");
        foreach (var (name, _, reply, took) in during)
        {
            output.WriteLine($"{name}: {reply.Status} {reply.Body?.GetProperty("reason")} in {took.TotalSeconds:F1} s");
        }

        await azurite.RestartAsync();
        var after = new List<(string Name, Reply Reply)>();
        foreach (var r in UsageRequests.Append(UsageRequests[0]))
        {
            after.Add((r.Name, (await SendAsync(app, cachedKey, r.Method, r.Path, r.Body, r.ContentType)).Reply));
        }

        await app.WaitForEventsAsync(11, Today, Today, key: cachedKey);
        await Task.Delay(1_000); // a second count, if any, would land now
        var counted = (await app.SendAsync("GET", $"/api/v1/metrics/overview?from={Today}&to={Today}", key: cachedKey)).Body!.Value;

        Assert.All(during, d =>
        {
            Assert.True(d.Reply.Status == 503, $"{d.Name} answered {d.Reply.Status}: {d.Reply.Text}");
            Assert.Equal("application/problem+json", d.Reply.MediaType);
            Assert.Equal(TimeSpan.FromSeconds(5), d.Reply.RetryAfter);
            Assert.True(d.Took < Bound, $"{d.Name} took {d.Took}");
        });
        // The ingest key's lookup, and any check, need storage first; with a cached key, a batch may get as far as the queue.
        Assert.All(during.Where(d => d.Key == uncachedKey || d.Name.StartsWith("check", StringComparison.Ordinal)),
            d => Assert.Equal("storage_unavailable", d.Reply.Body!.Value.Str("reason")));
        Assert.All(during, d => Assert.Contains(d.Reply.Body!.Value.Str("reason"), new[] { "storage_unavailable", "queue_unavailable" }));
        Assert.Equal((503, "storage_unavailable"), (overview.Status, overview.Body!.Value.Str("reason")));
        Assert.Equal((503, "storage_unavailable"), (keys.Status, keys.Body!.Value.Str("reason")));
        Assert.True(overviewTook < Bound && keysTook < Bound, $"overview {overviewTook}, keys {keysTook}");

        Assert.Equal([("ingest", 202), ("otlp logs", 200), ("import", 202), ("check", 200), ("ingest", 202)], after.Select(a => (a.Name, a.Reply.Status)));
        Assert.Equal(4L, after[0].Reply.Body!.Value.Long("accepted"));
        Assert.Equal(2L, after[2].Reply.Body!.Value.Long("imported"));
        Assert.True(after[3].Reply.Body!.Value.GetProperty("allowed").GetBoolean());
        // 3 events before (input 600, output 60), the batch resent twice (4: input 4,006, output 20), two Claude Code
        // api_request logs (input 2,468, output 112, cache reads 8,642, cache writes 1,578) and two imported rows (1,010 / 220).
        Assert.Equal((11L, 8_084L, 412L, 8_642L, 1_578L),
            (counted.Long("events"), counted.Long("input_tokens"), counted.Long("output_tokens"), counted.Long("cache_read_tokens"), counted.Long("cache_write_tokens")));
    }
}
