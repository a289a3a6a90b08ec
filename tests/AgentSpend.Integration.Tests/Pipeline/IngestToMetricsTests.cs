using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using AgentSpend.Core.Storage;
using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Pipeline;

/// <summary>A mixed batch through the real app: HTTP ingest → queue → AggregateUsage → metrics, in a +05:30 workspace.</summary>
public sealed class IngestToMetricsTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>, IAsyncLifetime
{
    private TestApp _app = null!;

    // D is a past day; Asia/Kolkata is UTC+05:30, so 18:30Z is local midnight.
    private static readonly DateOnly D = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-3);
    private static string Utc(DateOnly day, string time) => $"{Json.Day(day)}T{time}Z";

    public async Task InitializeAsync() =>
        _app = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { ["AGENTSPEND_TIMEZONE"] = "Asia/Kolkata" });

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private static object[] MixedBatch() =>
    [
        new { agent_name = "reviewer", provider = "anthropic", model = "claude-sonnet-4-5", timestamp = Utc(D, "10:00:00"), input_tokens = 1000, output_tokens = 200, cache_read_tokens = 5000, cache_write_tokens = 100, cost_usd = 0.0195m, user_id = "ana", team = "platform", task_success = true, duration_ms = 1500, idempotency_key = "e1" },
        new { agent_name = "reviewer", provider = "anthropic", model = "claude-sonnet-4-5", timestamp = Utc(D, "20:00:00"), input_tokens = 2000, output_tokens = 300, cost_usd = 0.0105m, user_id = "ana", team = "platform", task_success = false, duration_ms = 500 },
        // A model the price catalog does not know: with no cost_usd it stays unpriced.
        new { agent_name = "coder", provider = "openai", model = "o9-internal", timestamp = Utc(D, "18:29:00"), input_tokens = 500, output_tokens = 50, reasoning_tokens = 400, user_id = "bo", team = "apps", duration_ms = 2000 },
        new { agent_name = "coder", provider = "openai", model = "gpt-5", timestamp = Utc(D, "18:45:00"), input_tokens = 100, output_tokens = 10, cost_usd = 0.002m },
        new { agent_name = "coder", provider = "openai", model = "gpt-5", timestamp = Utc(D, "18:50:00"), input_tokens = -7 },
        new { agent_name = "triage", provider = "google", model = "gemini-2.5-pro", timestamp = $"{Json.Day(D.AddDays(1))}T03:00:00+05:30", input_tokens = 300, output_tokens = 30, cost_usd = 0.0001m, team = "apps", task_success = true },
    ];

    [Fact]
    public async Task A_mixed_batch_is_counted_exactly_in_overview_timeseries_and_breakdowns()
    {
        var receipt = await _app.IngestAsync(new { events = MixedBatch() });
        Assert.Equal(5, receipt.Long("accepted"));
        Assert.Equal(1, receipt.Long("rejected"));
        var error = Assert.Single(receipt.GetProperty("errors").EnumerateArray());
        Assert.Equal((4L, "input_tokens", "must not be negative."), (error.Long("index"), error.Str("field"), error.Str("reason")));

        var (d0, d1) = (Json.Day(D), Json.Day(D.AddDays(1)));
        var overview = await _app.WaitForEventsAsync(5, d0, d1);
        Assert.Equal((5L, 3900L, 590L, 5000L, 100L, 400L, 0.0321m, 1L, 2L, 1L, 4000L), overview.Totals());
        Assert.Equal((d0, d1), (overview.Str("from"), overview.Str("to")));

        var days = await _app.GetJsonAsync($"/api/v1/metrics/timeseries?granularity=day&from={Json.Day(D.AddDays(-1))}&to={d1}");
        Assert.Equal("day", days.Str("granularity"));
        var dayPoints = days.GetProperty("points").EnumerateArray().ToArray();
        Assert.Equal([Json.Day(D.AddDays(-1)), d0, d1], dayPoints.Select(p => p.Str("date")));
        Assert.Equal((0L, 0L, 0L, 0L, 0L, 0L, 0m, 0L, 0L, 0L, 0L), dayPoints[0].Totals());
        Assert.Equal((2L, 1500L, 250L, 5000L, 100L, 400L, 0.0195m, 1L, 1L, 0L, 3500L), dayPoints[1].Totals());
        Assert.Equal((3L, 2400L, 340L, 0L, 0L, 0L, 0.0126m, 0L, 1L, 1L, 500L), dayPoints[2].Totals());

        // Local days D and D+1 run from (D-1) 18:30Z to (D+1) 18:30Z: 49 UTC hours, zero-filled. The 18:00Z hour
        // of D holds one event of local day D (18:29Z) and one of local day D+1 (18:45Z).
        var hours = await _app.GetJsonAsync($"/api/v1/metrics/timeseries?granularity=hour&from={d0}&to={d1}");
        var hourPoints = hours.GetProperty("points").EnumerateArray().ToDictionary(p => p.Str("hour")!, p => p.Long("events"));
        Assert.Equal(49, hourPoints.Count);
        Assert.Equal($"{Json.Day(D.AddDays(-1))}T18:00:00Z", hourPoints.Keys.First());
        Assert.Equal($"{d1}T18:00:00Z", hourPoints.Keys.Last());
        Assert.Equal(
            new Dictionary<string, long> { [Utc(D, "10:00:00")] = 1, [Utc(D, "18:00:00")] = 2, [Utc(D, "20:00:00")] = 1, [Utc(D, "21:00:00")] = 1 },
            hourPoints.Where(kv => kv.Value != 0).ToDictionary());

        await AssertBreakdownAsync("agent", d0, d1, [("reviewer", 2, 0.03m), ("coder", 2, 0.002m), ("triage", 1, 0.0001m)]);
        await AssertBreakdownAsync("model", d0, d1, [("claude-sonnet-4-5", 2, 0.03m), ("gpt-5", 1, 0.002m), ("gemini-2.5-pro", 1, 0.0001m), ("o9-internal", 1, 0m)]);
        await AssertBreakdownAsync("provider", d0, d1, [("anthropic", 2, 0.03m), ("openai", 2, 0.002m), ("google", 1, 0.0001m)]);
        await AssertBreakdownAsync("user", d0, d1, [("ana", 2, 0.03m), (null, 2, 0.0021m), ("bo", 1, 0m)]);
        await AssertBreakdownAsync("team", d0, d1, [("platform", 2, 0.03m), (null, 1, 0.002m), ("apps", 2, 0.0001m)]);

        var coder = (await _app.GetJsonAsync($"/api/v1/metrics/breakdown?by=agent&from={d0}&to={d1}")).GetProperty("items")[1];
        Assert.Equal(("coder", 2L, 600L, 60L, 400L, 1L), (coder.Str("key"), coder.Long("events"), coder.Long("input_tokens"), coder.Long("output_tokens"), coder.Long("reasoning_tokens"), coder.Long("unpriced_events")));
    }

    private async Task AssertBreakdownAsync(string by, string from, string to, (string? Key, long Events, decimal Cost)[] expected)
    {
        var breakdown = await _app.GetJsonAsync($"/api/v1/metrics/breakdown?by={by}&from={from}&to={to}");
        Assert.Equal(by, breakdown.Str("by"));
        Assert.Equal(expected, breakdown.GetProperty("items").EnumerateArray().Select(i => (i.Str("key"), i.Long("events"), i.Dec("cost_usd"))).ToArray());
    }

    public static TheoryData<string, string?, int, string, string> BadRequests => new()
    {
        { "malformed JSON", "{\"events\":[", 400, "body", "The body is not valid JSON" },
        { "no events array", "{\"data\":[]}", 400, "events", "'events' must be an array of events." },
        { "1,001 events", "{\"events\":[" + string.Join(',', Enumerable.Repeat("{}", 1001)) + "]}", 413, "events", "A batch holds at most 1000 events; this one has 1001." },
        { "over 1 MiB", "{\"events\":[],\"pad\":\"" + new string('x', 1024 * 1024) + "\"}", 413, "body", "The body must be at most 1048576 bytes." },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task A_bad_request_gets_problem_json_naming_the_field_and_queues_nothing(string _, string? body, int status, string field, string reason)
    {
        using var content = new StringContent(body!, Encoding.UTF8, "application/json");
        using var response = await _app.Client.PostAsync("/api/v1/ingest", content);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(status, problem.Long("status"));
        var error = Assert.Single(problem.GetProperty("errors").EnumerateArray());
        Assert.Equal(field, error.Str("field"));
        Assert.StartsWith(reason, error.Str("reason"), StringComparison.Ordinal);
        Assert.Equal(0, await _app.Storage.GetQueue(StorageNames.IngestQueue).GetApproximateCountAsync());
    }

    [Fact]
    public async Task A_chunked_body_over_1_MiB_is_refused_without_a_content_length()
    {
        var payload = Encoding.UTF8.GetBytes("{\"events\":[],\"pad\":\"" + new string('x', 1024 * 1024) + "\"}");
        using var content = new StreamContent(new MemoryStream(payload));
        content.Headers.ContentLength = null;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/ingest") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        using var response = await _app.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Theory]
    [InlineData(null, "No API key: send 'Authorization: Bearer <key>' or 'x-api-key: <key>'.")]
    [InlineData("as_wrong_key_wrong_key_wrong_key_wrong_key", "The API key is not valid.")]
    public async Task Ingest_and_metrics_without_a_valid_key_answer_401_problem_json(string? key, string detail)
    {
        using var client = _app.CreateClient(key);
        using var ingest = await client.PostAsJsonAsync("/api/v1/ingest", new { events = MixedBatch() });
        using var overview = await client.GetAsync("/api/v1/metrics/overview");

        foreach (var response in new[] { ingest, overview })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(detail, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Str("detail"));
        }

        Assert.Equal(0, await _app.Storage.GetQueue(StorageNames.IngestQueue).GetApproximateCountAsync());
    }

    [Fact]
    public async Task The_x_api_key_header_is_accepted_too()
    {
        using var client = _app.CreateClient(null);
        client.DefaultRequestHeaders.Add("x-api-key", TestApp.AdminKey);

        using var response = await client.GetAsync("/api/v1/metrics/overview");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("/api/v1/metrics/overview?from=2026-13-01", "from", "'2026-13-01' is not a date in the form YYYY-MM-DD.")]
    [InlineData("/api/v1/metrics/overview?from=2026-11-10&to=2026-11-01", "from", "'from' (2026-11-10) must not be after 'to' (2026-11-01).")]
    [InlineData("/api/v1/metrics/overview?from=2024-01-01&to=2026-01-01", "to", "The range spans 732 days; at most 400 are allowed here.")]
    [InlineData("/api/v1/metrics/timeseries?granularity=fortnight", "granularity", "'fortnight' is not a granularity; use day, hour, week or month.")]
    [InlineData("/api/v1/metrics/timeseries?granularity=hour&from=2026-10-01&to=2026-10-20", "to", "The range spans 20 days; at most 14 are allowed here.")]
    [InlineData("/api/v1/metrics/breakdown", "by", "'by' is required: agent, model, provider, user, team, framework, task_type, harness, repo, branch, key, session or tag.<key>.")]
    [InlineData("/api/v1/metrics/breakdown?by=colour", "by", "'colour' is not a dimension; use agent, model, provider, user, team, framework, task_type, harness, repo, branch, key, session or tag.<key>.")]
    public async Task Bad_metrics_parameters_answer_400_naming_the_parameter(string path, string parameter, string reason)
    {
        using var response = await _app.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("errors")[0];
        Assert.Equal((parameter, reason), (error.Str("field"), error.Str("reason")));
    }
}
