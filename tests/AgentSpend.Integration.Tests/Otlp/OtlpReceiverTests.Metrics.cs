using System.Text;
using AgentSpend.Core.Otlp.Proto;
using AgentSpend.Integration.Tests.Infrastructure;
using Google.Protobuf;

namespace AgentSpend.Integration.Tests.Otlp;

/// <summary>Claude Code's session metrics: delta and cumulative, alone and beside the logs and spans of the same calls.</summary>
public sealed partial class OtlpReceiverTests
{
    // The two api_request calls of the fixture session: 2 × (1,234 in, 56 out, 4,321 cache reads, 789 cache writes, $0.01466175).
    private static readonly (long, long, long, long, long, long, decimal, long, long, long) FixtureCalls = (2L, 2_468L, 112L, 8_642L, 1_578L, 0L, 0.0293235m, 0L, 0L, 0L);

    [Fact]
    public async Task Claude_Code_metrics_alone_count_the_sessions_tokens_and_cost_but_no_calls_and_a_resend_adds_nothing()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "metrics-only" }, "ingest", "read");
        var metrics = Encoding.UTF8.GetBytes(Fixture("claude-code", "otlp-metrics-delta.json"));

        var first = await PostAsync(app, "metrics", metrics, "application/json", key);
        var counted = await app.WaitForOverviewAsync(o => o.Long("input_tokens") > 0, Today, Today, key: key);
        var resent = await PostAsync(app, "metrics", metrics, "application/json", key);
        await Task.Delay(1500);
        var afterResend = await app.WaitForOverviewAsync(_ => true, Today, Today, key: key);

        Assert.Equal(200, first.Status);
        Assert.False(first.Body!.Value.TryGetProperty("partialSuccess", out _)); // session.count and active_time are not usage, and not errors
        Assert.Equal(FixtureCalls with { Item1 = 0L }, Totals(counted));
        Assert.Equal(0.0293235m, counted.Dec("estimated_cost_usd"));
        Assert.Equal(200, resent.Status);
        Assert.Equal(FixtureCalls with { Item1 = 0L }, Totals(afterResend));
    }

    [Theory]
    [InlineData("metrics,logs,traces")]
    [InlineData("logs,traces,metrics")]
    [InlineData("traces,metrics,logs")]
    public async Task One_session_sent_as_logs_metrics_and_spans_counts_each_call_once_in_any_order(string order)
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "all-channels" }, "ingest", "read");
        var files = new Dictionary<string, string> { ["logs"] = "otlp-logs.json", ["metrics"] = "otlp-metrics-delta.json", ["traces"] = "otlp-traces.json" };

        foreach (var signal in order.Split(','))
        {
            var reply = await PostAsync(app, signal, Encoding.UTF8.GetBytes(Fixture("claude-code", files[signal])), "application/json", key);
            Assert.Equal(200, reply.Status);
            await app.WaitForOverviewAsync(_ => true, Today, Today, key: key); // each channel counted before the next arrives
        }

        var overview = await app.WaitForEventsAsync(2, Today, Today, key: key);
        Assert.Equal(FixtureCalls, Totals(overview));
        Assert.Equal(0.0293235m, overview.Dec("estimated_cost_usd"));
        // A call is counted from the first record of it that arrives: the log carries Claude Code's cost, the span none (the server prices it alike).
        Assert.Equal(order.StartsWith("traces", StringComparison.Ordinal) ? 2L : 0L, overview.Long("server_priced_events"));
    }

    [Fact]
    public async Task An_imported_session_file_and_the_same_sessions_metrics_count_each_call_once()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "file-and-metrics" }, "ingest", "read");
        using var client = app.CreateClient(key);

        using var session = new StringContent(Fixture("claude-code", "session.jsonl"), Encoding.UTF8, "application/x-ndjson");
        Assert.Equal(202, (int)(await client.PostAsync("/api/v1/import?format=claude-code-jsonl", session)).StatusCode);
        var afterImport = await app.WaitForEventsAsync(2, Today, Today, key: key);
        var metrics = await PostAsync(app, "metrics", Encoding.UTF8.GetBytes(Fixture("claude-code", "otlp-metrics-delta.json")), "application/json", key);
        await Task.Delay(1500);
        var afterMetrics = await app.WaitForOverviewAsync(_ => true, Today, Today, key: key);

        Assert.Equal(200, metrics.Status);
        Assert.Equal(FixtureCalls, Totals(afterImport)); // the file has no cost: the server's estimate, equal to Claude Code's
        Assert.Equal(FixtureCalls, Totals(afterMetrics));
        Assert.Equal(2L, afterMetrics.Long("server_priced_events"));
    }

    [Fact]
    public async Task Cumulative_points_count_each_increase_once_and_a_restarted_series_counts_from_zero()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "cumulative" }, "ingest", "read");
        var start = NanosToday(9, 0);
        var restart = NanosToday(11, 0);

        // Running totals of one process: 1,000 then 2,500 input tokens ($3 per million: $0.003 then $0.0075).
        var replies = new List<Reply>
        {
            await PostMetricsAsync(app, key, Cumulative, ("s-cum", start, NanosToday(9, 1), 1_000, 0.003)),
            await PostMetricsAsync(app, key, Cumulative, ("s-cum", start, NanosToday(9, 2), 2_500, 0.0075)),
            await PostMetricsAsync(app, key, Cumulative, ("s-cum", start, NanosToday(9, 2), 2_500, 0.0075)), // resent
            await PostMetricsAsync(app, key, Cumulative, ("s-cum", start, NanosToday(9, 1), 1_000, 0.003)), // overtaken
            // The process restarted: a new start time, a running total from zero.
            await PostMetricsAsync(app, key, Cumulative, ("s-cum", restart, NanosToday(11, 1), 400, 0.0012)),
        };
        var overview = await app.WaitForOverviewAsync(o => o.Long("input_tokens") >= 2_900, Today, Today, key: key);
        await Task.Delay(1000);
        overview = await app.WaitForOverviewAsync(_ => true, Today, Today, key: key);

        Assert.All(replies, r => Assert.Equal(200, r.Status));
        Assert.Equal((0L, 2_900L, 0L, 0L, 0L, 0L, 0.0087m, 0L, 0L, 0L), Totals(overview));
    }

    [Fact]
    public async Task Delta_points_add_up_and_per_call_logs_of_the_same_session_count_only_what_the_metrics_did_not()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "delta" }, "ingest", "read");

        await PostMetricsAsync(app, key, Delta, ("s-delta", NanosToday(10, 0), NanosToday(10, 1), 1_000, 0.003));
        await PostMetricsAsync(app, key, Delta, ("s-delta", NanosToday(10, 1), NanosToday(10, 2), 1_500, 0.0045));
        await PostMetricsAsync(app, key, Delta, ("s-delta", NanosToday(10, 1), NanosToday(10, 2), 1_500, 0.0045)); // resent
        var fromMetrics = await app.WaitForOverviewAsync(o => o.Long("input_tokens") >= 2_500, Today, Today, key: key);

        // The same session's api_request logs: 2,000 tokens are already in the metrics' 2,500; 1,000 more go past them.
        await PostCallLogAsync(app, key, "s-delta", "req_delta_1", 2_000, 0.006);
        var afterFirstCall = await app.WaitForEventsAsync(1, Today, Today, key: key);
        await PostCallLogAsync(app, key, "s-delta", "req_delta_2", 1_000, 0.003);
        var afterSecondCall = await app.WaitForEventsAsync(2, Today, Today, key: key);

        Assert.Equal((0L, 2_500L, 0L, 0L, 0L, 0L, 0.0075m, 0L, 0L, 0L), Totals(fromMetrics));
        Assert.Equal((1L, 2_500L, 0L, 0L, 0L, 0L, 0.0075m, 0L, 0L, 0L), Totals(afterFirstCall));
        Assert.Equal((2L, 3_000L, 0L, 0L, 0L, 0L, 0.009m, 0L, 0L, 0L), Totals(afterSecondCall));
    }

    [Fact]
    public async Task Metric_points_that_cannot_be_counted_are_named_in_partialSuccess_and_the_rest_count()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "bad-points" }, "ingest", "read");
        var export = Export(Delta, ("s-bad", NanosToday(8, 0), NanosToday(8, 1), 700, 0.0021));
        var tokens = export.ResourceMetrics[0].ScopeMetrics[0].Metrics.First(m => m.Name == "claude_code.token.usage");
        tokens.Sum.DataPoints.Add(Point("s-bad", NanosToday(8, 0), NanosToday(8, 1), 5, "reasoning_guess"));
        var cumulativeWithoutStart = new Metric { Name = "claude_code.token.usage", Sum = new Sum { AggregationTemporality = Cumulative, IsMonotonic = true } };
        cumulativeWithoutStart.Sum.DataPoints.Add(Point("s-bad", 0, NanosToday(8, 1), 9, "output"));
        export.ResourceMetrics[0].ScopeMetrics[0].Metrics.Add(cumulativeWithoutStart);

        var reply = await PostAsync(app, "metrics", export.ToByteArray(), "application/x-protobuf", key);
        var overview = await app.WaitForOverviewAsync(o => o.Long("input_tokens") >= 700, Today, Today, key: key);

        Assert.Equal((200, "application/x-protobuf"), (reply.Status, reply.MediaType));
        var success = reply.Body!.Value.GetProperty("partialSuccess");
        Assert.Equal("2", success.GetProperty("rejectedDataPoints").ToString());
        Assert.Contains("type 'reasoning_guess'", success.Str("errorMessage"), StringComparison.Ordinal);
        Assert.Contains("start_time_unix_nano", success.Str("errorMessage"), StringComparison.Ordinal);
        Assert.Equal((0L, 700L, 0L, 0L, 0L, 0L, 0.0021m, 0L, 0L, 0L), Totals(overview));
    }

    private const AggregationTemporality Delta = AggregationTemporality.Delta;
    private const AggregationTemporality Cumulative = AggregationTemporality.Cumulative;

    private static ulong NanosToday(int hour, int minute) =>
        (ulong)(DateTimeOffset.UtcNow.Date.AddHours(hour).AddMinutes(minute) - DateTime.UnixEpoch).Ticks * 100;

    /// <summary>A Claude Code metrics export of one interval: input tokens of claude-sonnet-4-5 and their cost.</summary>
    private static ExportMetricsServiceRequest Export(AggregationTemporality temporality, (string Session, ulong Start, ulong Time, long Input, double Cost) p)
    {
        var tokens = new Metric { Name = "claude_code.token.usage", Unit = "tokens", Sum = new Sum { AggregationTemporality = temporality, IsMonotonic = true } };
        tokens.Sum.DataPoints.Add(Point(p.Session, p.Start, p.Time, p.Input, "input"));
        var cost = new Metric { Name = "claude_code.cost.usage", Unit = "USD", Sum = new Sum { AggregationTemporality = temporality, IsMonotonic = true } };
        cost.Sum.DataPoints.Add(Point(p.Session, p.Start, p.Time, p.Cost, null));
        var scope = new ScopeMetrics { Scope = new InstrumentationScope { Name = "com.anthropic.claude_code" } };
        scope.Metrics.Add(tokens);
        scope.Metrics.Add(cost);
        var resource = new ResourceMetrics { Resource = new Resource() };
        resource.Resource.Attributes.Add(new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = "claude-code" } });
        resource.ScopeMetrics.Add(scope);
        var export = new ExportMetricsServiceRequest();
        export.ResourceMetrics.Add(resource);
        return export;
    }

    private static NumberDataPoint Point(string session, ulong start, ulong time, double value, string? type)
    {
        var point = new NumberDataPoint { StartTimeUnixNano = start, TimeUnixNano = time, AsDouble = value };
        point.Attributes.Add(new KeyValue { Key = "session.id", Value = new AnyValue { StringValue = session } });
        point.Attributes.Add(new KeyValue { Key = "model", Value = new AnyValue { StringValue = "claude-sonnet-4-5" } });
        if (type is not null)
        {
            point.Attributes.Add(new KeyValue { Key = "type", Value = new AnyValue { StringValue = type } });
        }

        return point;
    }

    private static Task<Reply> PostMetricsAsync(TestApp app, string key, AggregationTemporality temporality, (string, ulong, ulong, long, double) point) =>
        PostAsync(app, "metrics", Export(temporality, point).ToByteArray(), "application/x-protobuf", key);

    /// <summary>One Claude Code api_request log record of claude-sonnet-4-5 with input tokens only.</summary>
    private static Task<Reply> PostCallLogAsync(TestApp app, string key, string session, string requestId, long input, double cost)
    {
        var record = new LogRecord { TimeUnixNano = NanosToday(10, 1), EventName = "api_request" };
        foreach (var (name, value) in new (string, AnyValue)[]
                 {
                     ("event.name", new AnyValue { StringValue = "api_request" }), ("session.id", new AnyValue { StringValue = session }),
                     ("model", new AnyValue { StringValue = "claude-sonnet-4-5" }), ("request_id", new AnyValue { StringValue = requestId }),
                     ("input_tokens", new AnyValue { IntValue = input }), ("output_tokens", new AnyValue { IntValue = 0 }),
                     ("cost_usd", new AnyValue { DoubleValue = cost }),
                 })
        {
            record.Attributes.Add(new KeyValue { Key = name, Value = value });
        }

        var resource = new ResourceLogs { Resource = new Resource() };
        resource.Resource.Attributes.Add(new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = "claude-code" } });
        var scope = new ScopeLogs();
        scope.LogRecords.Add(record);
        resource.ScopeLogs.Add(scope);
        var export = new ExportLogsServiceRequest();
        export.ResourceLogs.Add(resource);
        return PostAsync(app, "logs", export.ToByteArray(), "application/x-protobuf", key);
    }
}
