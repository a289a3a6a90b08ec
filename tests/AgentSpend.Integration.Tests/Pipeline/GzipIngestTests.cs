using System.IO.Compression;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Pipeline;

/// <summary>The native ingest API takes batches gzip-compressed, as the SDKs send them; its limits are the JSON's, before compression.</summary>
public sealed class GzipIngestTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly DateOnly Day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);

    [Fact]
    public async Task A_gzip_batch_is_counted_exactly_and_a_resent_one_counts_nothing_twice()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var events = Enumerable.Range(0, 1_000).Select(i => new
        {
            agent_name = $"agent-{i % 7}", provider = "anthropic", model = "claude-sonnet-4-5",
            timestamp = $"{Json.Day(Day)}T{i % 24:D2}:{i % 60:D2}:00Z",
            input_tokens = 100 + i, output_tokens = 10, cost_usd = 0.001m, idempotency_key = $"gz-{i}",
        }).ToArray();
        var json = JsonSerializer.SerializeToUtf8Bytes(new { events });

        var first = await PostAsync(app, Compress(json), "gzip");
        var resent = await PostAsync(app, Compress(json), "gzip");

        Assert.Equal((202, 1_000L), (first.Status, first.Body!.Value.Long("accepted")));
        Assert.Equal(202, resent.Status);
        var overview = await app.WaitForEventsAsync(1_000, Json.Day(Day), Json.Day(Day));
        // 1,000 events of 100 + i input tokens: 100,000 + 499,500.
        Assert.Equal((1_000L, 599_500L, 10_000L, 1.000m), (overview.Long("events"), overview.Long("input_tokens"), overview.Long("output_tokens"), overview.GetProperty("cost_usd").GetDecimal()));
    }

    [Fact]
    public async Task A_body_that_inflates_past_the_limit_is_413_a_body_that_is_not_gzip_400_and_another_encoding_415()
    {
        await using var app = await TestApp.StartAsync(azurite);
        // A megabyte of spaces and then one more byte: a few kilobytes on the wire.
        var tooBig = Encoding.UTF8.GetBytes("{\"events\":[]" + new string(' ', 1024 * 1024) + "}");

        var bomb = await PostAsync(app, Compress(tooBig), "gzip");
        var notGzip = await PostAsync(app, Encoding.UTF8.GetBytes("{\"events\":[]}"), "gzip");
        var brotli = await PostAsync(app, Encoding.UTF8.GetBytes("{\"events\":[]}"), "br");

        Assert.Equal((413, "body", "The body must inflate to at most 1048576 bytes."), Problem(bomb));
        Assert.Equal((400, "body", "The body is not valid gzip."), Problem(notGzip));
        Assert.Equal((415, "Content-Encoding", "must be gzip or absent."), Problem(brotli));
    }

    private static (int, string?, string?) Problem(Reply reply)
    {
        var error = reply.Body!.Value.GetProperty("errors").EnumerateArray().Single();
        return (reply.Status, error.Str("field"), error.Str("reason"));
    }

    private static byte[] Compress(byte[] body)
    {
        using var compressed = new MemoryStream();
        using (var zip = new GZipStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            zip.Write(body);
        }

        return compressed.ToArray();
    }

    private static async Task<Reply> PostAsync(TestApp app, byte[] payload, string encoding)
    {
        using var client = app.CreateClient(TestApp.AdminKey);
        using var content = new ByteArrayContent(payload);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        content.Headers.ContentEncoding.Add(encoding);
        using var response = await client.PostAsync("/api/v1/ingest", content);
        var text = await response.Content.ReadAsStringAsync();
        return new Reply((int)response.StatusCode, text.Length == 0 ? null : JsonDocument.Parse(text).RootElement.Clone(), text, response.Content.Headers.ContentType?.MediaType, response.Headers.RetryAfter?.Delta);
    }
}
