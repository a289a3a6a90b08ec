using System.Text;
using System.Text.Json;
using AgentSpend.Core.Domain;
using AgentSpend.Core.Ingest;
using AgentSpend.Core.Limits;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Workspaces;
using AgentSpend.Integration.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.Pipeline;

/// <summary>Every event answered 202 is counted exactly once: a batch the queue takes only in part, and an event too large to store.</summary>
public sealed class IngestFailureTests(AzuriteFixture azurite, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<AzuriteFixture>
{
    private static readonly string Yesterday = Json.Day(DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1));

    private static readonly string[] Agents = ["planner", "coder", "reviewer", "tester"];

    /// <summary>
    /// The largest batch there is (1,000 events), with no idempotency keys: server ids only. Run and session ids and
    /// a trace tag are random text, so the batch compresses poorly and needs several queue messages. Event i has
    /// 1,000 + i input tokens and i % 50 output tokens.
    /// </summary>
    private static byte[] LargeBatch()
    {
        var random = new Random(15);
        string Noise(int bytes)
        {
            var buffer = new byte[bytes];
            random.NextBytes(buffer);
            return Convert.ToBase64String(buffer);
        }

        var events = Enumerable.Range(0, IngestRequestParser.MaxEvents).Select(i => new Dictionary<string, object>
        {
            ["agent_name"] = Agents[i % Agents.Length],
            ["provider"] = "anthropic",
            ["model"] = $"in-house-{i % 3}",
            ["timestamp"] = $"{Yesterday}T12:00:00.{i:D3}Z",
            ["input_tokens"] = 1_000 + i,
            ["output_tokens"] = i % 50,
            ["run_id"] = "run-" + Noise(12),
            ["session_id"] = "ses-" + Noise(12),
            ["user_id"] = $"user-{i % 7}",
            ["tags"] = new Dictionary<string, string> { ["trace"] = Noise(150), ["env"] = i % 2 == 0 ? "prod" : "staging" },
        }).ToArray();
        return JsonSerializer.SerializeToUtf8Bytes(new { events });
    }

    private static async Task<Reply> PostAsync(TestApp app, string key, byte[] body)
    {
        using var client = app.CreateClient(key);
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await client.PostAsync("/api/v1/ingest", content);
        var text = await response.Content.ReadAsStringAsync();
        return new Reply((int)response.StatusCode, text.StartsWith('{') ? JsonDocument.Parse(text).RootElement.Clone() : null, text,
            response.Content.Headers.ContentType?.MediaType, response.Headers.RetryAfter?.Delta);
    }

    private static (long Events, long Input, long Output) Counted(JsonElement overview) =>
        (overview.Long("events"), overview.Long("input_tokens"), overview.Long("output_tokens"));

    [Fact]
    public async Task A_batch_the_queue_takes_only_in_part_answers_503_charges_nothing_and_its_resend_is_counted_once()
    {
        var storage = new FaultyIngestQueue(azurite.Storage);
        await using var app = await TestApp.StartAsync(azurite, services: s => s.AddSingleton<IStorageProvider>(storage));
        var (id, key) = await app.CreateWorkspaceAsync(new { name = "flaky-queue", limits = new { max_agents = 10, events_per_day = 5_000 } });
        var workspace = (await app.Services.GetRequiredService<IWorkspaceDirectory>().FindAsync(id, CancellationToken.None))!;
        var limits = app.Services.GetRequiredService<PlanLimitEnforcer>();
        var body = LargeBatch();

        storage.FailSend(2);
        var failed = await PostAsync(app, key, body);
        var messages = storage.Attempts;
        var sentBeforeFailure = storage.Sent.Count;
        var queuedBeforeFailure = storage.Sent.SelectMany(m => IngestMessageCodec.Unpack(m).Events).ToArray();
        var usedAfterFailure = await limits.UsedTodayAsync(workspace, CancellationToken.None);
        var knownAfterFailure = await Task.WhenAll(Agents.Select(a => limits.KnowsAgentAsync(id, a, CancellationToken.None)));

        // What the queue took of the failed attempt is counted, once, before anything is resent.
        var partial = (queuedBeforeFailure.Length, queuedBeforeFailure.Sum(e => e.InputTokens), queuedBeforeFailure.Sum(e => e.OutputTokens));
        var afterFailure = await app.WaitForOverviewAsync(o => Counted(o) == partial, Yesterday, Yesterday, key: key);

        output.WriteLine($"{body.Length:N0} bytes packed into {messages} messages; {queuedBeforeFailure.Length} events were queued before the failure.");
        var resent = await PostAsync(app, key, body);
        var resentMessages = storage.Sent.Count - sentBeforeFailure;
        await app.WaitForEventsAsync(IngestRequestParser.MaxEvents, Yesterday, Yesterday, key: key);
        await Task.Delay(1_000); // a second count, if any, would land now
        var overview = (await app.SendAsync("GET", $"/api/v1/metrics/overview?from={Yesterday}&to={Yesterday}", key: key)).Body!.Value;

        Assert.True(messages >= 3, $"The batch packed into {messages} messages; the test needs several.");
        Assert.Equal((503, "application/problem+json", "queue_unavailable"), (failed.Status, failed.MediaType, failed.Body!.Value.Str("reason")));
        Assert.Equal(TimeSpan.FromSeconds(5), failed.RetryAfter);
        Assert.Equal(messages - 1, sentBeforeFailure);
        Assert.InRange(queuedBeforeFailure.Length, 1, IngestRequestParser.MaxEvents - 1);
        Assert.Equal(0, usedAfterFailure);
        Assert.All(knownAfterFailure, Assert.False);
        Assert.Equal(partial, Counted(afterFailure));

        Assert.Equal((202, IngestRequestParser.MaxEvents, 0L), (resent.Status, (int)resent.Body!.Value.Long("accepted"), resent.Body.Value.Long("rejected")));
        Assert.Equal(messages, resentMessages);
        // 1,000 events; input Σ(1,000 + i) for i < 1,000; output Σ(i % 50) = 20 × (0 + … + 49).
        Assert.Equal((1_000L, 1_499_500L, 24_500L), Counted(overview));
        Assert.Equal(1_000L, overview.Long("unpriced_events"));
        Assert.Equal(1_000, await limits.UsedTodayAsync(workspace, CancellationToken.None));
        Assert.All(await Task.WhenAll(Agents.Select(a => limits.KnowsAgentAsync(id, a, CancellationToken.None))), Assert.True);
        Assert.Equal(0, await app.Storage.GetQueue(StorageNames.PoisonQueueOf(StorageNames.IngestQueue)).GetApproximateCountAsync());
    }

    [Fact]
    public async Task An_event_too_large_to_store_is_refused_with_its_reason_and_its_neighbours_are_counted()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "oversized" });
        object Event(int i, Dictionary<string, string>? tags) => new
        {
            agent_name = "tagger", provider = "anthropic", model = "claude-sonnet-4-5", timestamp = $"{Yesterday}T08:00:0{i}Z",
            input_tokens = 100 * (i + 1), output_tokens = 10 * (i + 1), idempotency_key = $"oversized-{i}", tags,
        };
        // 32 tags of 256 accented characters: within every field limit, but each character is stored as \u00e9 (6 bytes).
        var huge = Enumerable.Range(0, IngestRequestParser.MaxTags).ToDictionary(t => $"note{t:D2}", _ => new string('é', IngestRequestParser.MaxNameLength));

        var reply = await app.SendAsync("POST", "/api/v1/ingest", new { events = new[] { Event(0, null), Event(1, huge), Event(2, new() { ["env"] = "prod" }) } }, key);
        await app.WaitForEventsAsync(2, Yesterday, Yesterday, key: key);
        await Task.Delay(500);
        var overview = (await app.SendAsync("GET", $"/api/v1/metrics/overview?from={Yesterday}&to={Yesterday}", key: key)).Body!.Value;

        Assert.Equal((202, 2L, 1L), (reply.Status, reply.Body!.Value.Long("accepted"), reply.Body.Value.Long("rejected")));
        var error = Assert.Single(reply.Body.Value.GetProperty("errors").EnumerateArray());
        Assert.Equal((1L, "tags"), (error.Long("index"), error.Str("field")));
        Assert.StartsWith("too_large: the event takes ", error.Str("reason"), StringComparison.Ordinal);
        Assert.Contains($"at most {UsageEvent.MaxSerializedBytes} fit", error.Str("reason"), StringComparison.Ordinal);
        // Events 0 and 2: 100 + 300 input tokens, 10 + 30 output.
        Assert.Equal((2L, 400L, 40L), Counted(overview));
        Assert.Equal(0, await app.Storage.GetQueue(StorageNames.PoisonQueueOf(StorageNames.IngestQueue)).GetApproximateCountAsync());
    }
}
