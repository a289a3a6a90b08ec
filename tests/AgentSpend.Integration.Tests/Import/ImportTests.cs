using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using AgentSpend.Core.Domain;
using AgentSpend.Integration.Tests.Infrastructure;
using AgentSpend.Tests.Shared;

namespace AgentSpend.Integration.Tests.Import;

public sealed class ImportTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly string Today = DateOnly.FromDateTime(DateTime.UtcNow).ToString("yyyy-MM-dd");
    private static readonly string Now = DateTimeOffset.UtcNow.AddMinutes(-5).ToString("yyyy-MM-ddTHH:mm:ssZ");
    private static readonly long NowUnix = DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds();

    private static string Fixture(string client, string file) => Fixtures.TextMovedToToday(client, file);

    private static async Task<Reply> ImportAsync(TestApp app, string key, string body, string query = "", string contentType = "application/octet-stream", bool multipart = false, string fileName = "usage.csv")
    {
        using var client = app.CreateClient(key);
        HttpContent content;
        if (multipart)
        {
            var form = new MultipartFormDataContent();
            form.Add(new StringContent(body, Encoding.UTF8, "text/csv"), "file", fileName);
            content = form;
        }
        else
        {
            content = new StringContent(body, Encoding.UTF8);
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        using (content)
        using (var response = await client.PostAsync("/api/v1/import" + query, content))
        {
            var text = await response.Content.ReadAsStringAsync();
            return new Reply((int)response.StatusCode, text.StartsWith('{') ? JsonDocument.Parse(text).RootElement.Clone() : null, text, response.Content.Headers.ContentType?.MediaType, null);
        }
    }

    private static (long Lines, long Imported, long Skipped, long Duplicates, long Rejected) Counts(Reply r) =>
        (r.Body!.Value.Long("lines"), r.Body.Value.Long("imported"), r.Body.Value.Long("skipped"), r.Body.Value.Long("duplicates"), r.Body.Value.Long("rejected"));

    private static (long, long, long, long, long, long, decimal, long) Totals(JsonElement e) =>
        (e.Long("events"), e.Long("input_tokens"), e.Long("output_tokens"), e.Long("cache_read_tokens"), e.Long("cache_write_tokens"),
         e.Long("reasoning_tokens"), e.Dec("cost_usd"), e.Long("unpriced_events"));

    [Fact]
    public async Task A_Claude_Code_session_counts_each_response_once_even_with_its_OTLP_records_and_a_second_import()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "cc-session" }, "ingest", "read");

        var first = await ImportAsync(app, key, Fixture("claude-code", "session.jsonl"));
        var afterImport = await app.WaitForEventsAsync(2, Today, Today, key: key);
        var again = await ImportAsync(app, key, Fixture("claude-code", "session.jsonl"), "?format=claude-code-jsonl");
        using var otlp = new StringContent(Fixture("claude-code", "otlp-logs.json"), Encoding.UTF8, "application/json");
        using var client = app.CreateClient(key);
        Assert.Equal(200, (int)(await client.PostAsync("/api/otlp/v1/logs", otlp)).StatusCode);
        await Task.Delay(1500);
        var afterAll = await app.WaitForEventsAsync(2, Today, Today, key: key);

        Assert.Equal((202, "claude-code-jsonl"), (first.Status, first.Body!.Value.Str("format")));
        Assert.Equal((10L, 2L, 7L, 1L, 0L), Counts(first)); // 3 assistant lines of 2 responses; 7 other lines
        var expected = (2L, 2_468L, 112L, 8_642L, 1_578L, 0L, Money.ToUsd(2 * 14_661_750L), 0L);
        Assert.Equal(expected, Totals(afterImport));
        Assert.Equal(202, again.Status);
        Assert.Equal(expected, Totals(afterAll));
    }

    [Fact]
    public async Task A_Codex_rollout_counts_one_usage_per_response_priced_by_the_server()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "codex-rollout" }, "ingest", "read");

        var reply = await ImportAsync(app, key, Fixture("codex", "rollout.jsonl"));
        var overview = await app.WaitForEventsAsync(1, Today, Today, key: key);

        Assert.Equal(("codex-jsonl", (4L, 1L, 3L, 0L, 0L)), (reply.Body!.Value.Str("format"), Counts(reply)));
        Assert.Equal((1L, 234L, 56L, 1_000L, 0L, 20L, Money.ToUsd((234 * 5_000L) + (1_000 * 500L) + (56 * 30_000L)), 0L), Totals(overview));
    }

    public static TheoryData<string, string, string, string, (long, long, long, long, long, long, decimal, long)> Exports => new()
    {
        {
            "anthropic csv with aliases", "",
            $"timestamp,model,input_tokens,output_tokens,cache_read_input_tokens,cache_creation_input_tokens,cost,request_id,workspace_name\n{Now},claude-sonnet-4-5,1000,200,5000,100,0.05,req_a1,platform\n{Now},claude-haiku-4-5,10,20,,,\"0.001\",req_a2,platform\n",
            "csv", (2, 1_010, 220, 5_000, 100, 0, 0.051m, 0)
        },
        {
            "openai csv: cached share moved out of the prompt, priced by the server", "",
            $"created_at,model,prompt_tokens,completion_tokens,cached_tokens,reasoning_tokens,id\n{NowUnix},gpt-4.1,1000,100,200,,r1\n{NowUnix},gpt-4o-mini,500,50,,,r2\n",
            "csv", (2, 1_300, 150, 200, 0, 0, Money.ToUsd((800 * 2_000L) + (200 * 500L) + (100 * 8_000L) + (500 * 150L) + (50 * 600L)), 0)
        },
        {
            "openai json nested under usage, wrapped in data", "",
            $"{{\"object\":\"list\",\"data\":[{{\"id\":\"chatcmpl-1\",\"created\":{NowUnix},\"model\":\"gpt-5\",\"usage\":{{\"prompt_tokens\":2000,\"completion_tokens\":300,\"prompt_tokens_details\":{{\"cached_tokens\":1000}},\"completion_tokens_details\":{{\"reasoning_tokens\":100}}}}}}]}}",
            "json", (1, 1_000, 300, 1_000, 0, 100, Money.ToUsd((1_000 * 1_250L) + (1_000 * 125L) + (300 * 10_000L)), 0)
        },
        {
            "gemini json, one record under usageMetadata", "",
            $"{{\"responseId\":\"g1\",\"modelVersion\":\"gemini-2.5-flash\",\"createTime\":\"{Now}\",\"usageMetadata\":{{\"promptTokenCount\":1000,\"candidatesTokenCount\":100,\"thoughtsTokenCount\":50,\"cachedContentTokenCount\":400}}}}",
            "json", (1, 600, 150, 400, 0, 50, Money.ToUsd((600 * 300L) + (400 * 30L) + (150 * 2_500L)), 0)
        },
        {
            "anthropic json array with unix seconds and an unknown model", "",
            $"[{{\"timestamp\":{NowUnix},\"model\":\"claude-3-haiku-legacy-x\",\"input_tokens\":7,\"output_tokens\":3}},{{\"timestamp\":\"{NowUnix}\",\"model\":\"claude-opus-4-8\",\"input_tokens\":100,\"output_tokens\":10,\"cost_usd\":0.5}}]",
            "json", (2, 107, 13, 0, 0, 0, 0.5m, 1)
        },
        {
            "anthropic messages usage with 1-hour cache writes, priced by the server", "",
            $"{{\"id\":\"msg_1h\",\"model\":\"claude-sonnet-4-5\",\"timestamp\":\"{Now}\",\"usage\":{{\"input_tokens\":1000,\"output_tokens\":100,\"cache_creation_input_tokens\":1000,\"cache_creation\":{{\"ephemeral_5m_input_tokens\":600,\"ephemeral_1h_input_tokens\":400}}}}}}",
            "json", (1, 1_000, 100, 0, 1_000, 0, Money.ToUsd((1_000 * 3_000L) + (100 * 15_000L) + (600 * 3_750L) + (400 * 6_000L)), 0)
        },
        {
            "json lines of provider records with a provider override", "?format=json&provider=openai",
            $"{{\"model\":\"gpt-4.1\",\"input_tokens\":100,\"output_tokens\":10,\"timestamp\":\"{Now}\",\"id\":\"j1\"}}\n{{\"model\":\"gpt-4.1\",\"input_tokens\":100,\"output_tokens\":10,\"timestamp\":\"{Now}\",\"id\":\"j2\"}}\n",
            "json", (2, 200, 20, 0, 0, 0, Money.ToUsd(2 * ((100 * 2_000L) + (10 * 8_000L))), 0)
        },
    };

    [Theory]
    [MemberData(nameof(Exports))]
    public async Task Provider_exports_in_every_format_and_alias_are_counted_exactly_and_twice_imported_once(
        string name, string query, string body, string format, (long, long, long, long, long, long, decimal, long) expected)
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = name[..Math.Min(name.Length, 40)] }, "ingest", "read");

        var first = await ImportAsync(app, key, body, query);
        var second = await ImportAsync(app, key, body, query);
        await Task.Delay(1000);
        var overview = await app.WaitForEventsAsync(expected.Item1, Today, Today, key: key);

        Assert.True(first.Status == 202, first.Text);
        Assert.Equal((format, expected.Item1, 0L), (first.Body!.Value.Str("format"), first.Body.Value.Long("imported"), first.Body.Value.Long("rejected")));
        Assert.Equal(202, second.Status);
        Assert.Equal(expected, Totals(overview));
    }

    [Fact]
    public async Task A_multipart_upload_is_read_from_its_file_part()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "multipart" }, "ingest", "read");

        var reply = await ImportAsync(app, key, $"model,input_tokens,output_tokens,timestamp,cost_usd,colour\nclaude-sonnet-4-5,10,1,{Now},0.25,blue\n", multipart: true);
        var overview = await app.WaitForEventsAsync(1, Today, Today, key: key);

        Assert.Equal((202, "csv"), (reply.Status, reply.Body!.Value.Str("format")));
        Assert.Equal(["colour"], reply.Body.Value.GetProperty("ignored_columns").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal((1L, 10L, 1L, 0L, 0L, 0L, 0.25m, 0L), Totals(overview));
    }

    [Fact]
    public async Task Bad_lines_are_reported_by_number_and_only_they_are_refused()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "bad-import" }, "ingest", "read");
        string Line(string id, string extra = "") => $"{{\"model\":\"gpt-4.1\",\"prompt_tokens\":100,\"completion_tokens\":10,\"created\":{NowUnix},\"id\":\"{id}\"{extra}}}";
        var jsonl = string.Join('\n', Line("ok1"), "{\"model\": \"gpt-4.1\", \"prompt_tokens\": 5, oops", Line("neg", ",\"completion_tokens\":-4").Replace(",\"completion_tokens\":10", ""),
            Line("huge", ",\"user\":\"" + new string('u', 11 * 1024 * 1024) + "\""), Line("ok2"), Line("text", "").Replace("\"prompt_tokens\":100", "\"prompt_tokens\":\"lots\""));

        var reply = await ImportAsync(app, key, jsonl, "?format=json");
        var noUsage = await ImportAsync(app, key, "name,colour\nwidget,blue\n", "?format=csv");
        var badFormat = await ImportAsync(app, key, "x", "?format=xlsx");
        var overview = await app.WaitForEventsAsync(2, Today, Today, key: key);

        Assert.Equal(202, reply.Status);
        Assert.Equal((6L, 2L, 0L, 0L, 4L), Counts(reply));
        var errors = reply.Body!.Value.GetProperty("errors").EnumerateArray().Select(e => (e.Long("line"), e.Str("field"))).ToArray();
        Assert.Equal([(2L, "line"), (3L, "output_tokens"), (4L, "line"), (6L, "input_tokens")], errors);
        Assert.Equal((400, "application/problem+json"), (noUsage.Status, noUsage.MediaType));
        Assert.Equal((400, "format"), (badFormat.Status, badFormat.Body!.Value.GetProperty("errors")[0].Str("field")));
        Assert.Equal((2L, 200L, 20L), (overview.Long("events"), overview.Long("input_tokens"), overview.Long("output_tokens")));
    }
}
