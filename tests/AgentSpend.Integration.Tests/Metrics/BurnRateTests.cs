using System.Globalization;
using AgentSpend.Core.Metrics;
using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Metrics;

public sealed class BurnRateTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task The_last_24_hours_the_hourly_rate_and_the_month_end_projection_come_out_exact()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "burn-rate" }, "ingest", "read");
        var now = DateTimeOffset.UtcNow;
        var events = new (DateTimeOffset At, decimal Cost)[]
        {
            (now.AddMinutes(-30), 0.50m),   // in the rate's window (this hour or the one before)
            (now.AddHours(-3), 2.00m),      // in the 24 hours, not in the rate
            (now.AddHours(-30), 8.00m),     // before the 24 hours; in the month if the month is old enough
        };
        Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new
        {
            events = events.Select((e, i) => new { agent_name = "a", provider = "p", model = "m", timestamp = e.At.ToString("O"), input_tokens = 100, cost_usd = e.Cost, idempotency_key = $"b{i}" }).ToArray(),
        }, key)).Status);
        await app.WaitForEventsAsync(3, now.AddDays(-2).ToString("yyyy-MM-dd"), now.ToString("yyyy-MM-dd"), key: key);

        var body = (await app.SendAsync("GET", "/api/v1/metrics/burn-rate", key: key)).Body!.Value;

        var asOf = DateTimeOffset.Parse(body.Str("as_of")!, CultureInfo.InvariantCulture);
        var currentHour = new DateTimeOffset(asOf.Year, asOf.Month, asOf.Day, asOf.Hour, 0, 0, TimeSpan.Zero);
        var expectedHours = Enumerable.Range(0, 24).Select(i => currentHour.AddHours(i - 23))
            .Select(h => (h.ToString("yyyy-MM-dd'T'HH':00:00Z'", CultureInfo.InvariantCulture), events.Where(e => e.At >= h && e.At < h.AddHours(1)).Sum(e => e.Cost)))
            .ToArray();
        Assert.Equal(expectedHours, body.GetProperty("hours").EnumerateArray().Select(h => (h.Str("hour")!, h.Dec("cost_usd"))));
        Assert.Equal(2.50m, body.Dec("last24h_cost_usd"));
        var window = (decimal)(asOf - currentHour.AddHours(-1)).TotalHours;
        Assert.Equal(Math.Round(0.50m / window, 6, MidpointRounding.AwayFromZero), body.Dec("hourly_rate_usd"));

        var monthStart = new DateTimeOffset(asOf.Year, asOf.Month, 1, 0, 0, 0, TimeSpan.Zero);
        var monthToDate = events.Where(e => e.At >= monthStart).Sum(e => e.Cost);
        var elapsed = Math.Round((decimal)(asOf - monthStart).TotalDays, 6, MidpointRounding.AwayFromZero);
        var days = DateTime.DaysInMonth(asOf.Year, asOf.Month);
        Assert.Equal((monthStart.ToString("yyyy-MM-dd"), monthToDate, elapsed, (long)days), (body.Str("month_start")!, body.Dec("month_to_date_cost_usd"), body.Dec("month_elapsed_days"), body.Long("month_days")));
        Assert.Equal(Math.Round(monthToDate * days / elapsed, 6, MidpointRounding.AwayFromZero), body.Dec("projected_month_end_usd"));
        Assert.Equal(BurnRate.Project(monthToDate, elapsed, days), body.Dec("projected_month_end_usd"));
    }
}
