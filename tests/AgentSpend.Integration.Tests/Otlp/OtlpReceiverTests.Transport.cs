using System.IO.Compression;
using System.Net.Http.Headers;
using System.Text;
using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Otlp;

/// <summary>What an OTLP exporter meets on the wire: its header styles, chunked bodies, size limits and back-pressure.</summary>
public sealed partial class OtlpReceiverTests
{
    [Fact]
    public async Task An_x_api_key_header_and_a_chunked_body_are_accepted_like_a_bearer_token()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "otlp-headers" }, "ingest", "read");
        using var client = app.CreateClient(null);
        client.DefaultRequestHeaders.Add("x-api-key", key); // OTEL_EXPORTER_OTLP_HEADERS=x-api-key=<key>

        // Claude Code's protobuf exporter sends chunked bodies without a Content-Length.
        using var content = new StreamContent(new NonSeekableStream(Encoding.UTF8.GetBytes(Fixture("claude-code", "otlp-logs.json"))));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await client.PostAsync("/api/otlp/v1/logs", content);
        var overview = await app.WaitForEventsAsync(2, Today, Today, key: key);

        Assert.Null(content.Headers.ContentLength);
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(FixtureCalls, Totals(overview));
    }

    [Fact]
    public async Task Bodies_over_the_limits_get_413_and_a_workspace_past_its_daily_quota_gets_429_with_Retry_After()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "otlp-limits", limits = new { events_per_day = 1 } }, "ingest", "read");
        var queue = app.Storage.GetQueue(Core.Storage.StorageNames.IngestQueue);
        var queuedBefore = await queue.GetApproximateCountAsync();

        var tooBig = await PostAsync(app, "metrics", new byte[(16 * 1024 * 1024) + 1], "application/x-protobuf", key);
        // 40 MiB of zeros gzip to a few KiB: small on the wire, refused when it inflates past 32 MiB.
        var bomb = await PostAsync(app, "logs", new byte[40 * 1024 * 1024], "application/x-protobuf", key, gzip: true);
        var corruptMetrics = await PostAsync(app, "metrics", [0x0A, 0xFF, 0xFF, 0xFF, 0x0F, 0x01], "application/x-protobuf", key);
        var queuedAfterBad = await queue.GetApproximateCountAsync();
        var overQuota = await PostAsync(app, "logs", Encoding.UTF8.GetBytes(Fixture("claude-code", "otlp-logs.json")), "application/json", key); // two calls, one allowed

        Assert.Equal((413, "application/problem+json"), (tooBig.Status, tooBig.MediaType));
        Assert.Equal((413, "application/problem+json"), (bomb.Status, bomb.MediaType));
        Assert.Equal((400, "application/problem+json"), (corruptMetrics.Status, corruptMetrics.MediaType));
        Assert.Equal(queuedBefore, queuedAfterBad);
        Assert.Equal(429, overQuota.Status);
        Assert.True(overQuota.RetryAfter is { TotalSeconds: > 0 }, "429 must carry Retry-After");
        Assert.Equal("daily_limit", overQuota.Body!.Value.Str("reason"));
    }

    /// <summary>A stream whose length is unknown, so HttpClient sends it chunked.</summary>
    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();
    }
}

/// <summary>How many records, spans, points and metrics one export may carry.</summary>
public sealed class OtlpExportCapTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Theory]
    [InlineData("logs", 10_001, 0, "An export carries at most 10000 log records; this one has 10001. Export smaller batches.")]
    [InlineData("traces", 10_001, 0, "An export carries at most 10000 spans; this one has 10001. Export smaller batches.")]
    [InlineData("metrics", 10_001, 1, "An export carries at most 10000 data points; this one has 10001. Export smaller batches.")]
    [InlineData("metrics", 1_001, 1_001, "An export carries at most 1000 metrics; this one has 1001. Export smaller batches.")]
    public async Task An_export_past_the_caps_gets_413_naming_them_and_queues_nothing(string signal, int items, int metrics, string reason)
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = $"otlp-cap-{signal}-{metrics}" }, "ingest", "read");
        var queue = app.Storage.GetQueue(Core.Storage.StorageNames.IngestQueue);
        var before = await queue.GetApproximateCountAsync();

        var body = signal switch
        {
            "logs" => "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[" + string.Join(',', Enumerable.Repeat("{}", items)) + "]}]}]}",
            "traces" => "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[" + string.Join(',', Enumerable.Repeat("{}", items)) + "]}]}]}",
            _ => "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[" + string.Join(',', Enumerable.Range(0, metrics).Select(m =>
                "{\"name\":\"m" + m + "\",\"sum\":{\"dataPoints\":[" + string.Join(',', Enumerable.Repeat("{\"asDouble\":1}", m == 0 ? items - (metrics - 1) : 1)) + "]}}")) + "]}]}]}",
        };
        using var client = app.CreateClient(key);
        using var response = await client.PostAsync($"/api/otlp/v1/{signal}", new StringContent(body, Encoding.UTF8, "application/json"));
        var problem = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal((413, "application/problem+json"), ((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType));
        Assert.Equal(("body", reason), (problem.GetProperty("errors")[0].Str("field"), problem.GetProperty("errors")[0].Str("reason")));
        Assert.Equal(before, await queue.GetApproximateCountAsync());
    }
}
