using AgentSpend.Tests.Shared;
using System.Diagnostics;
using System.IO.Compression;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using AgentSpend.Core.Domain;
using AgentSpend.Core.Otlp.Proto;
using AgentSpend.Integration.Tests.Infrastructure;
using Google.Protobuf;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace AgentSpend.Integration.Tests.Otlp;

/// <summary>The OTLP/HTTP receiver, fed the payloads real clients sent (tests/Fixtures) and the real OTel .NET SDK.</summary>
public sealed partial class OtlpReceiverTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly string Today = DateOnly.FromDateTime(DateTime.UtcNow).ToString("yyyy-MM-dd");

    private static string Fixture(string client, string file) => Fixtures.TextMovedToToday(client, file);

    private static async Task<Reply> PostAsync(TestApp app, string signal, byte[] body, string contentType, string key, bool gzip = false)
    {
        using var client = app.CreateClient(key);
        var payload = body;
        if (gzip)
        {
            using var compressed = new MemoryStream();
            await using (var zip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            {
                await zip.WriteAsync(body);
            }

            payload = compressed.ToArray();
        }

        using var content = new ByteArrayContent(payload);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        if (gzip)
        {
            content.Headers.ContentEncoding.Add("gzip");
        }

        using var response = await client.PostAsync($"/api/otlp/v1/{signal}", content);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var media = response.Content.Headers.ContentType?.MediaType;
        var text = media == "application/x-protobuf"
            ? signal switch
            {
                "logs" => JsonFormatter.Default.Format(ExportLogsServiceResponse.Parser.ParseFrom(bytes)),
                "metrics" => JsonFormatter.Default.Format(ExportMetricsServiceResponse.Parser.ParseFrom(bytes)),
                _ => JsonFormatter.Default.Format(ExportTraceServiceResponse.Parser.ParseFrom(bytes)),
            }
            : Encoding.UTF8.GetString(bytes);
        return new Reply((int)response.StatusCode, text.Length > 0 && text[0] == '{' ? JsonDocument.Parse(text).RootElement.Clone() : null, text, media, response.Headers.RetryAfter?.Delta);
    }

    [Fact]
    public async Task Claude_Code_logs_count_each_api_request_once_and_its_spans_of_the_same_calls_add_nothing()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "claude-code" }, "ingest", "read");

        var logs = await PostAsync(app, "logs", Encoding.UTF8.GetBytes(Fixture("claude-code", "otlp-logs.json")), "application/json", key);
        var afterLogs = await app.WaitForEventsAsync(2, Today, Today, key: key);
        var traces = await PostAsync(app, "traces", Encoding.UTF8.GetBytes(Fixture("claude-code", "otlp-traces.json")), "application/json", key);
        await Task.Delay(1500);
        var afterTraces = await app.WaitForEventsAsync(2, Today, Today, key: key);
        var byUser = (await app.SendAsync("GET", $"/api/v1/metrics/breakdown?by=agent&from={Today}&to={Today}", key: key)).Body!.Value;

        Assert.Equal((200, "application/json"), (logs.Status, logs.MediaType));
        Assert.False(logs.Body!.Value.TryGetProperty("partialSuccess", out _));
        Assert.Equal(200, traces.Status);
        // Two api_request records: 1,234 in, 56 out, 4,321 cache reads, 789 cache writes, $0.01466175 each (Claude Code's figure).
        var expected = (2L, 2_468L, 112L, 8_642L, 1_578L, 0L, 0.0293235m, 0L, 0L, 0L);
        Assert.Equal(expected, Totals(afterLogs));
        Assert.Equal(expected, Totals(afterTraces));
        Assert.Equal(0.0293235m, afterTraces.Dec("estimated_cost_usd")); // the server's estimate agrees with Claude Code's
        Assert.Equal("claude-code", byUser.GetProperty("items")[0].Str("key"));
    }

    [Fact]
    public async Task The_same_export_as_gzip_protobuf_counts_the_same()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "protobuf" }, "ingest", "read");
        var export = new JsonParser(JsonParser.Settings.Default.WithIgnoreUnknownFields(true)).Parse<ExportLogsServiceRequest>(Fixture("claude-code", "otlp-logs.json"));

        var reply = await PostAsync(app, "logs", export.ToByteArray(), "application/x-protobuf", key, gzip: true);
        var overview = await app.WaitForEventsAsync(2, Today, Today, key: key);

        Assert.Equal((200, "application/x-protobuf"), (reply.Status, reply.MediaType));
        Assert.Equal((2L, 2_468L, 112L, 8_642L, 1_578L, 0L, 0.0293235m, 0L, 0L, 0L), Totals(overview));
    }

    [Fact]
    public async Task Codex_logs_are_priced_by_the_server_with_the_cached_share_moved_out_of_input()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "codex" }, "ingest", "read");

        var reply = await PostAsync(app, "logs", Encoding.UTF8.GetBytes(Fixture("codex", "otlp-logs.json")), "application/json", key);
        var overview = await app.WaitForEventsAsync(1, Today, Today, key: key);

        // gpt-5.5: 234 uncached input × $5 + 1,000 cached × $0.50 + 56 output × $30, per million.
        var cost = Money.ToUsd((234 * 5_000L) + (1_000 * 500L) + (56 * 30_000L));
        Assert.Equal(200, reply.Status);
        Assert.Equal((1L, 234L, 56L, 1_000L, 0L, 20L, cost, 0L, 0L, 0L), Totals(overview));
        Assert.Equal(1, overview.Long("server_priced_events"));
    }

    [Fact]
    public async Task A_GenAI_span_is_counted_with_its_resource_team_and_priced_by_the_server()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "genai" }, "ingest", "read");

        var reply = await PostAsync(app, "traces", Encoding.UTF8.GetBytes(Fixture("otel-sdk", "genai-span.json")), "application/json", key);
        var overview = await app.WaitForEventsAsync(1, Today, Today, key: key);
        var teams = (await app.SendAsync("GET", $"/api/v1/metrics/breakdown?by=team&from={Today}&to={Today}", key: key)).Body!.Value;

        var cost = Money.ToUsd((1_234 * 3_000L) + (56 * 15_000L) + (4_321 * 300L) + (789 * 3_750L)); // claude-sonnet-4-5
        Assert.Equal(200, reply.Status);
        Assert.Equal((1L, 1_234L, 56L, 4_321L, 789L, 0L, cost, 0L, 0L, 0L), Totals(overview));
        Assert.Equal("platform", teams.GetProperty("items")[0].Str("key"));
    }

    [Fact]
    public async Task Bad_bodies_get_clear_errors_and_a_bad_record_is_refused_alone()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "bad-otlp" }, "ingest", "read");
        var queue = app.Storage.GetQueue(Core.Storage.StorageNames.IngestQueue);
        var queuedBefore = await queue.GetApproximateCountAsync();

        var corrupt = await PostAsync(app, "logs", [0x0A, 0xFF, 0xFF, 0xFF, 0x0F, 0x01], "application/x-protobuf", key);
        var wrongType = await PostAsync(app, "logs", Encoding.UTF8.GetBytes("{}"), "text/plain", key);
        var notGzip = await PostAsync(app, "traces", Encoding.UTF8.GetBytes("{}"), "application/json", key, gzip: false) is var _ ? await SendRawAsync(app, key, "not gzip at all") : null;
        var notJson = await PostAsync(app, "traces", Encoding.UTF8.GetBytes("{\"resourceSpans\":[{"), "application/json", key);
        var noKey = await PostAsync(app, "logs", Encoding.UTF8.GetBytes("{}"), "application/json", "as_nobody_0000000000000000000000000000");
        var queuedAfterBad = await queue.GetApproximateCountAsync();

        // The first api_request's output_tokens becomes text: that record is refused, the other is counted.
        var mixed = new System.Text.RegularExpressions.Regex("(\"key\":\\s*\"output_tokens\",\\s*\"value\":\\s*\\{\\s*)\"intValue\":\\s*56")
            .Replace(Fixture("claude-code", "otlp-logs.json"), "$1\"stringValue\": \"fifty-six\"", 1);
        var partial = await PostAsync(app, "logs", Encoding.UTF8.GetBytes(mixed), "application/json", key);

        Assert.Equal((400, "application/problem+json"), (corrupt.Status, corrupt.MediaType));
        Assert.Equal(415, wrongType.Status);
        Assert.Equal(400, notGzip!.Status);
        Assert.Equal(400, notJson.Status);
        Assert.Equal(401, noKey.Status);
        Assert.Equal(queuedBefore, queuedAfterBad);
        Assert.Equal(200, partial.Status);
        var success = partial.Body!.Value.GetProperty("partialSuccess");
        Assert.Equal("1", success.GetProperty("rejectedLogRecords").ToString());
        Assert.Contains("output_tokens", success.Str("errorMessage"), StringComparison.Ordinal);
        var overview = await app.WaitForEventsAsync(1, Today, Today, key: key);
        Assert.Equal((1L, 1_234L, 56L, 4_321L, 789L, 0L, 0.01466175m, 0L, 0L, 0L), Totals(overview));
    }

    [Fact]
    public async Task The_OpenTelemetry_dotnet_sdk_exports_GenAI_spans_over_http_protobuf_and_the_totals_are_exact()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "otel-dotnet" }, "ingest", "read");
        using var source = new ActivitySource("agentspend.tests.genai");
        using (var tracer = Sdk.CreateTracerProviderBuilder()
                   .AddSource(source.Name)
                   .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService("support-bot").AddAttributes([new("team.id", "support")]))
                   .AddOtlpExporter(o =>
                   {
                       o.Endpoint = new Uri(app.BaseAddress, "/api/otlp/v1/traces");
                       o.Protocol = OtlpExportProtocol.HttpProtobuf;
                       o.Headers = "Authorization=Bearer " + key;
                       o.ExportProcessorType = ExportProcessorType.Simple;
                   })
                   .Build())
        {
            for (var i = 0; i < 3; i++)
            {
                using var call = source.StartActivity("chat gpt-4.1", ActivityKind.Client)!;
                call.SetTag("gen_ai.operation.name", "chat");
                call.SetTag("gen_ai.provider.name", "openai");
                call.SetTag("gen_ai.request.model", "gpt-4.1");
                call.SetTag("gen_ai.response.id", $"chatcmpl-{i}");
                call.SetTag("gen_ai.usage.input_tokens", 1_000L * (i + 1));     // includes the cached share, as OpenAI counts
                call.SetTag("gen_ai.usage.cache_read.input_tokens", 200L);
                call.SetTag("gen_ai.usage.output_tokens", 100L);
            }

            Assert.True(tracer.ForceFlush(10_000));
        }

        var overview = await app.WaitForEventsAsync(3, Today, Today, key: key);

        // gpt-4.1: $2 input, $0.50 cached, $8 output per million. Uncached input: 800 + 1,800 + 2,800.
        var cost = Money.ToUsd((5_400 * 2_000L) + (600 * 500L) + (300 * 8_000L));
        Assert.Equal((3L, 5_400L, 300L, 600L, 0L, 0L, cost, 0L, 0L, 0L), Totals(overview));
    }

    private static async Task<Reply> SendRawAsync(TestApp app, string key, string body)
    {
        using var client = app.CreateClient(key);
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/json");
        content.Headers.ContentEncoding.Add("gzip");
        using var response = await client.PostAsync("/api/otlp/v1/traces", content);
        return new Reply((int)response.StatusCode, null, await response.Content.ReadAsStringAsync(), response.Content.Headers.ContentType?.MediaType, null);
    }

    private static (long, long, long, long, long, long, decimal, long, long, long) Totals(JsonElement e) =>
        (e.Long("events"), e.Long("input_tokens"), e.Long("output_tokens"), e.Long("cache_read_tokens"), e.Long("cache_write_tokens"),
         e.Long("reasoning_tokens"), e.Dec("cost_usd"), e.Long("unpriced_events"), e.Long("successes"), e.Long("failures"));
}
