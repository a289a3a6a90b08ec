using System.Text;
using System.Text.Json;
using AgentSpend.Core.Import;
using AgentSpend.Integration.Tests.Infrastructure;
using AgentSpend.Tests.Shared;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.Import;

/// <summary>CSV imports, read from the upload as it arrives without blocking a thread on it.</summary>
public sealed class CsvImportTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly string Today = DateOnly.FromDateTime(DateTime.UtcNow).ToString("yyyy-MM-dd");
    private static readonly string Now = DateTimeOffset.UtcNow.AddMinutes(-5).ToString("yyyy-MM-ddTHH:mm:ssZ");
    private const string Header = "timestamp,model,note,input_tokens,output_tokens,cost_usd,request_id,agent_name";

    [Fact]
    public async Task A_large_upload_raw_or_multipart_is_imported_without_one_synchronous_read_of_the_body()
    {
        // Every request body refuses synchronous reads, whatever the endpoint allows.
        await using var app = await TestApp.StartAsync(azurite, services: s => s.AddSingleton<IStartupFilter, AsyncOnlyBodies>());
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "csv-async" }, "ingest", "read");
        var note = new string('n', 400);
        string Csv(string run) => Header + "\n" + string.Concat(Enumerable.Range(0, 2_500).Select(i => $"{Now},claude-sonnet-4-5,\"{note}, {i}\",10,1,0.001,{run}-{i},bulk\n"));

        var raw = await PostAsync(app, key, new StringContent(Csv("raw"), Encoding.UTF8, "text/csv"));
        using var form = new MultipartFormDataContent { { new StringContent(Csv("form"), Encoding.UTF8, "text/csv"), "file", "usage.csv" } };
        var multipart = await PostAsync(app, key, form);

        Assert.True(raw.Status == 202, raw.Text);
        Assert.True(multipart.Status == 202, multipart.Text);
        Assert.Equal(("csv", 2_501L, 2_500L, 0L), (raw.Body!.Value.Str("format"), raw.Body.Value.Long("lines"), raw.Body.Value.Long("imported"), raw.Body.Value.Long("rejected")));
        Assert.Equal((2_501L, 2_500L, 0L), (multipart.Body!.Value.Long("lines"), multipart.Body.Value.Long("imported"), multipart.Body.Value.Long("rejected")));
        Assert.DoesNotContain(app.LogLines, l => l.Contains(AsyncOnlyStream.Refusal, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Quoted_fields_keep_their_line_breaks_commas_and_quotes_and_a_malformed_row_is_reported_by_line_while_the_next_rows_import()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "csv-quoting" }, "ingest", "read");
        var csv = "\uFEFF" + Header + "\r\n"
            + $"{Now},claude-sonnet-4-5,plain,100,10,0.01,q1,\"coder, the \"\"first\"\"\"\r\n"  // line 2
            + $"{Now},claude-sonnet-4-5,\"two\nlines, quoted\",200,20,0.02,q2,reviewer\r\n"     // lines 3-4
            + $"{Now},claude-sonnet-4-5,x,300,30,0.03,\"q3\"x,broken\r\n"                        // line 5: text after a closing quote
            + $"{Now},claude-sonnet-4-5,x,400,40,0.04,q4, \"spaced\" \r\n"                       // line 6: spaces around a quoted field
            + $"{Now},claude-sonnet-4-5,x,-5,40,0.04,q5,negative\r\n"                            // line 7: refused by validation
            + $"{Now},claude-sonnet-4-5,x,500,50,0.05,q6,reviewer";                              // line 8, no line break after it

        var reply = await PostAsync(app, key, new StringContent(csv, Encoding.UTF8, "text/csv"));
        var overview = await app.WaitForEventsAsync(4, Today, Today, key: key);
        var agents = (await app.SendAsync("GET", "/api/v1/metrics/breakdown?by=agent&range=today", key: key)).Body!.Value.GetProperty("items").EnumerateArray()
            .Select(i => (i.Str("key"), i.Dec("cost_usd"))).OrderBy(i => i.Item1, StringComparer.Ordinal).ToArray();

        Assert.True(reply.Status == 202, reply.Text);
        Assert.Equal((8L, 4L, 0L, 0L, 2L), Counts(reply));
        Assert.Equal([(5L, "line", "is not a valid CSV row (an unclosed quote?)."), (7L, "input_tokens", null)], Errors(reply).Select(e => (e.Line, e.Field, e.Line == 5 ? e.Reason : null)).ToArray());
        Assert.Equal(["note"], reply.Body!.Value.GetProperty("ignored_columns").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal([("coder, the \"first\"", 0.01m), ("reviewer", 0.07m), ("spaced", 0.04m)], agents);
        Assert.Equal((4L, 1_200L, 120L), (overview.Long("events"), overview.Long("input_tokens"), overview.Long("output_tokens")));
    }

    [Fact]
    public async Task Blank_lines_are_skipped_and_a_row_after_them_is_reported_on_its_own_line()
    {
        var reply = await ImportIntoNewWorkspaceAsync("csv-blank-lines",
            $"\n{Header}\n{Now},claude-sonnet-4-5,x,100,10,0.01,b1,blank\n\n \t \n{Now},claude-sonnet-4-5,x,100,-1,0.01,b2,blank\n\n");

        Assert.Equal((6L, 1L, 0L, 0L, 1L), Counts(reply));
        Assert.Equal([(6L, "output_tokens")], Errors(reply).Select(e => (e.Line, e.Field)).ToArray());
    }

    [Fact]
    public async Task A_row_longer_than_the_limit_is_reported_by_line_and_the_rows_before_it_are_imported()
    {
        var reply = await ImportIntoNewWorkspaceAsync("csv-long-row",
            $"{Header}\n{Now},claude-sonnet-4-5,x,100,10,0.01,l1,long\n{Now},claude-sonnet-4-5,{new string('x', ImportService.MaxLineBytes + 1)},1,1,0.01,l2,long\n");

        Assert.Equal((3L, 1L, 0L, 0L, 1L), Counts(reply));
        Assert.Equal([(3L, "line", $"is longer than {ImportService.MaxLineBytes} bytes; the rows after it were not read.")], Errors(reply).Select(e => (e.Line, e.Field, e.Reason)).ToArray());
    }

    /// <summary>Imports <paramref name="csv"/> into a new workspace of a fresh app; the answer, which must be 202.</summary>
    private async Task<Reply> ImportIntoNewWorkspaceAsync(string workspaceName, string csv)
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = workspaceName }, "ingest", "read");
        var reply = await PostAsync(app, key, new StringContent(csv, Encoding.UTF8, "text/csv"));
        Assert.True(reply.Status == 202, reply.Text);
        return reply;
    }

    private static async Task<Reply> PostAsync(TestApp app, string key, HttpContent content)
    {
        using var client = app.CreateClient(key);
        using var response = await client.PostAsync("/api/v1/import?format=csv", content);
        var text = await response.Content.ReadAsStringAsync();
        return new Reply((int)response.StatusCode, text.StartsWith('{') ? JsonDocument.Parse(text).RootElement.Clone() : null, text, response.Content.Headers.ContentType?.MediaType, null);
    }

    private static (long Lines, long Imported, long Skipped, long Duplicates, long Rejected) Counts(Reply r) =>
        (r.Body!.Value.Long("lines"), r.Body.Value.Long("imported"), r.Body.Value.Long("skipped"), r.Body.Value.Long("duplicates"), r.Body.Value.Long("rejected"));

    private static IEnumerable<(long Line, string? Field, string? Reason)> Errors(Reply r) =>
        r.Body!.Value.GetProperty("errors").EnumerateArray().Select(e => (e.Long("line"), e.Str("field"), e.Str("reason")));

    /// <summary>Gives every request a body whose synchronous reads throw.</summary>
    private sealed class AsyncOnlyBodies : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                context.Request.Body = new AsyncOnlyStream(context.Request.Body);
                return nextMiddleware(context);
            });
            next(app);
        };
    }
}
