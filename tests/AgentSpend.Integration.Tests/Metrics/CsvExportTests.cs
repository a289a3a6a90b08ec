using System.Net.Http.Headers;
using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Metrics;

public sealed class CsvExportTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private const string Columns = "events,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,reasoning_tokens,cost_usd,estimated_cost_usd,unpriced_events,server_priced_events,successes,failures,duration_ms,baseline_tokens";

    [Fact]
    public async Task Timeseries_and_breakdowns_export_as_csv_with_safe_quoting()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "csv-export" }, "ingest", "read");
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var noon = new DateTimeOffset(today.ToDateTime(new TimeOnly(12, 0)), TimeSpan.Zero);
        object Call(string agent, DateTimeOffset at, int input, decimal cost, string id) => new { agent_name = agent, provider = "p", model = "m", timestamp = at.ToString("O"), input_tokens = input, cost_usd = cost, idempotency_key = id };
        Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new
        {
            events = new[]
            {
                Call("reviewer, senior", noon.AddDays(-1), 100, 0.5m, "c1"),
                Call("=HYPERLINK(\"x\")", noon.AddDays(-1), 10, 0.25m, "c2"),
                Call("reviewer, senior", noon.AddDays(-2), 1, 0.125m, "c3"),
            },
        }, key)).Status);
        await app.WaitForEventsAsync(3, D(today.AddDays(-2)), D(today), key: key);
        using var client = app.CreateClient(key);

        using var series = await client.GetAsync($"/api/v1/metrics/timeseries?from={D(today.AddDays(-2))}&to={D(today)}&format=csv");
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/metrics/breakdown?by=agent&from={D(today.AddDays(-2))}&to={D(today)}");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));
        using var breakdown = await client.SendAsync(request);
        var badFormat = await app.SendAsync("GET", "/api/v1/metrics/breakdown?by=agent&format=xml", key: key);

        Assert.Equal("text/csv", series.Content.Headers.ContentType?.MediaType);
        Assert.Equal(
            $"date,{Columns}\r\n" +
            $"{D(today.AddDays(-2))},1,1,0,0,0,0,0.125,0,0,0,0,0,0,0\r\n" +
            $"{D(today.AddDays(-1))},2,110,0,0,0,0,0.75,0,0,0,0,0,0,0\r\n" +
            $"{D(today)},0,0,0,0,0,0,0,0,0,0,0,0,0,0\r\n",
            await series.Content.ReadAsStringAsync());
        Assert.Equal(
            $"agent,{Columns}\r\n" +
            "\"reviewer, senior\",2,101,0,0,0,0,0.625,0,0,0,0,0,0,0\r\n" +
            "\"'=HYPERLINK(\"\"x\"\")\",1,10,0,0,0,0,0.25,0,0,0,0,0,0,0\r\n", // a formula is never run by a spreadsheet
            await breakdown.Content.ReadAsStringAsync());
        Assert.Equal((400, "format"), (badFormat.Status, badFormat.Body!.Value.GetProperty("errors")[0].Str("field")));
    }

    private static string D(DateOnly day) => day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
}
