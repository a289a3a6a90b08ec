using System.Globalization;
using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Metrics;

/// <summary>Named ranges and the previous-period comparison, on workspace-local days, in a 45-minute-offset timezone and in UTC.</summary>
public sealed class RangeTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Theory]
    [InlineData("Asia/Kathmandu")]
    [InlineData("UTC")]
    public async Task Named_ranges_cover_the_workspaces_local_days_and_compare_with_the_period_before(string timezone)
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "ranges-" + timezone.Replace('/', '-'), timezone }, "ingest", "read");
        var zone = TimeZoneInfo.FindSystemTimeZoneById(timezone);
        var localNow = TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, zone);
        var today = DateOnly.FromDateTime(localNow.DateTime);
        DateTimeOffset LocalTime(DateOnly day, int hour, int minute) =>
            new(day.ToDateTime(new TimeOnly(hour, minute)), zone.GetUtcOffset(day.ToDateTime(new TimeOnly(hour, minute))));

        // Just after local midnight and just before it: a UTC day would put them elsewhere.
        var events = new (DateTimeOffset At, decimal Cost)[]
        {
            (LocalTime(today, 0, 10), 1.00m),
            (LocalTime(today.AddDays(-1), 23, 50), 0.50m),
            (LocalTime(today.AddDays(-8), 12, 0), 0.25m),
            (LocalTime(today.AddDays(-40), 12, 0), 0.125m),
        };
        var receipt = await app.SendAsync("POST", "/api/v1/ingest", new
        {
            events = events.Select((e, i) => new { agent_name = "a", provider = "p", model = "m", timestamp = e.At.ToString("O"), input_tokens = 10, cost_usd = e.Cost, idempotency_key = $"r{i}" }).ToArray(),
        }, key);
        Assert.Equal(202, receipt.Status);
        await app.WaitForEventsAsync(4, D(today.AddDays(-89)), D(today), key: key);

        decimal CostBetween(DateOnly from, DateOnly to) => events.Where(e => DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(e.At, zone).DateTime) is var d && d >= from && d <= to).Sum(e => e.Cost);
        async Task Check(string query, DateOnly from, DateOnly to, DateOnly previousFrom, DateOnly previousTo, string name)
        {
            var reply = await app.SendAsync("GET", "/api/v1/metrics/overview?" + query, key: key);
            Assert.True(reply.Status == 200, $"{query}: {reply.Text}");
            var o = reply.Body!.Value;
            var previous = o.GetProperty("previous");
            var (cost, before) = (CostBetween(from, to), CostBetween(previousFrom, previousTo));
            Assert.Equal((name, D(from), D(to), cost), (o.Str("range"), o.Str("from"), o.Str("to"), o.Dec("cost_usd")));
            Assert.Equal((D(previousFrom), D(previousTo), before), (previous.Str("from"), previous.Str("to"), previous.Dec("cost_usd")));
            var change = o.GetProperty("change_pct").GetProperty("cost_usd");
            decimal? expectedChange = before == 0 ? null : Math.Round((cost - before) * 100 / before, 1, MidpointRounding.AwayFromZero);
            decimal? actualChange = change.ValueKind == System.Text.Json.JsonValueKind.Null ? null : change.GetDecimal();
            Assert.Equal(expectedChange, actualChange);
        }

        await Check("range=today", today, today, today.AddDays(-1), today.AddDays(-1), "today");        // 1.00 against 0.50: +100 %
        await Check("range=yesterday", today.AddDays(-1), today.AddDays(-1), today.AddDays(-2), today.AddDays(-2), "yesterday"); // against nothing: null
        await Check("range=7d", today.AddDays(-6), today, today.AddDays(-13), today.AddDays(-7), "7d");     // 1.50 against 0.25: +500 %
        await Check("range=30d", today.AddDays(-29), today, today.AddDays(-59), today.AddDays(-30), "30d"); // 1.75 against 0.125
        await Check("range=90d", today.AddDays(-89), today, today.AddDays(-179), today.AddDays(-90), "90d");
        var monthStart = new DateOnly(today.Year, today.Month, 1);
        var monthBefore = monthStart.AddMonths(-1);
        await Check("range=mtd", monthStart, today, monthBefore, new DateOnly(monthBefore.Year, monthBefore.Month, Math.Min(today.Day, DateTime.DaysInMonth(monthBefore.Year, monthBefore.Month))), "mtd");
        await Check($"range=custom&from={D(today.AddDays(-8))}&to={D(today.AddDays(-1))}", today.AddDays(-8), today.AddDays(-1), today.AddDays(-16), today.AddDays(-9), "custom");
        await Check($"from={D(today.AddDays(-1))}&to={D(today)}", today.AddDays(-1), today, today.AddDays(-3), today.AddDays(-2), "custom");

        var timeseries = (await app.SendAsync("GET", "/api/v1/metrics/timeseries?range=7d", key: key)).Body!.Value;
        Assert.Equal(Enumerable.Range(0, 7).Select(i => (D(today.AddDays(i - 6)), CostBetween(today.AddDays(i - 6), today.AddDays(i - 6)))),
            timeseries.GetProperty("points").EnumerateArray().Select(p => (p.Str("date")!, p.Dec("cost_usd"))));
        var breakdown = (await app.SendAsync("GET", "/api/v1/metrics/breakdown?by=agent&range=yesterday", key: key)).Body!.Value;
        Assert.Equal(CostBetween(today.AddDays(-1), today.AddDays(-1)), breakdown.GetProperty("items")[0].Dec("cost_usd"));

        // Timeseries and breakdowns carry the previous equal period too: 1.50 against 0.25 over 7 days; agent a's 1.00 today against 0.50.
        var previous = timeseries.GetProperty("previous");
        Assert.Equal((D(today.AddDays(-13)), D(today.AddDays(-7)), 0.25m, 500.0m),
            (previous.Str("from"), previous.Str("to"), previous.Dec("cost_usd"), timeseries.GetProperty("change_pct").Dec("cost_usd")));
        var todays = (await app.SendAsync("GET", "/api/v1/metrics/breakdown?by=agent&range=today", key: key)).Body!.Value.GetProperty("items")[0];
        Assert.Equal(("a", 1.00m, 0.50m, 1L, 100.0m), (todays.Str("key"), todays.Dec("cost_usd"), todays.Dec("previous_cost_usd"), todays.Long("previous_events"), todays.Dec("cost_change_pct")));
    }

    [Theory]
    [InlineData("week")]
    [InlineData("month")]
    public async Task Weekly_and_monthly_points_are_local_weeks_from_Monday_and_calendar_months_zero_filled(string granularity)
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "periods-" + granularity, timezone = "Asia/Kolkata" }, "ingest", "read");
        var zone = TimeZoneInfo.FindSystemTimeZoneById("Asia/Kolkata");
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, zone).DateTime);
        var costs = new Dictionary<DateOnly, decimal> { [today.AddDays(-60)] = 8m, [today.AddDays(-35)] = 4m, [today.AddDays(-20)] = 2m, [today.AddDays(-3)] = 1m, [today] = 0.5m };
        var receipt = await app.SendAsync("POST", "/api/v1/ingest", new
        {
            events = costs.Select((c, i) => new
            {
                agent_name = "a", provider = "p", model = "m", cost_usd = c.Value, idempotency_key = $"p{i}",
                timestamp = new DateTimeOffset(c.Key.ToDateTime(new TimeOnly(0, 20)), zone.BaseUtcOffset).ToString("O"), // 00:20 local: the previous UTC day
            }).ToArray(),
        }, key);
        Assert.Equal(202, receipt.Status);
        var from = today.AddDays(-40);
        await app.WaitForEventsAsync(4, D(from), D(today), key: key);

        var series = (await app.SendAsync("GET", $"/api/v1/metrics/timeseries?granularity={granularity}&from={D(from)}&to={D(today)}", key: key)).Body!.Value;

        DateOnly PeriodOf(DateOnly day) => granularity == "week" ? day.AddDays(-(((int)day.DayOfWeek + 6) % 7)) : new DateOnly(day.Year, day.Month, 1);
        var expected = Enumerable.Range(0, today.DayNumber - from.DayNumber + 1).Select(from.AddDays)
            .GroupBy(PeriodOf)
            .Select(p => (D(p.Key), p.Sum(day => costs.GetValueOrDefault(day))))
            .ToArray();
        Assert.Equal(granularity, series.Str("granularity"));
        Assert.Equal(expected, series.GetProperty("points").EnumerateArray().Select(p => (p.Str("date")!, p.Dec("cost_usd"))));
        Assert.Equal(7.5m, expected.Sum(e => e.Item2)); // the event 60 days back is outside the range
    }

    [Fact]
    public async Task Bad_ranges_get_problem_details_naming_the_parameter()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var cases = new (string Query, string Field)[]
        {
            ("range=2w", "range"),
            ("range=7d&from=2026-11-01", "from"),
            ("range=today&to=2026-11-01", "to"),
            ("range=custom&from=2026-02-30", "from"),
            ("range=custom&from=2026-11-10&to=2026-11-01", "from"),
        };

        foreach (var (query, field) in cases)
        {
            var reply = await app.SendAsync("GET", "/api/v1/metrics/overview?" + query);
            Assert.True(reply.Status == 400, $"{query}: {reply.Status}");
            Assert.Equal(("application/problem+json", field), (reply.MediaType, reply.Body!.Value.GetProperty("errors")[0].Str("field")));
        }

        var hourlyTooLong = await app.SendAsync("GET", "/api/v1/metrics/timeseries?granularity=hour&range=30d");
        Assert.Equal((400, "range"), (hourlyTooLong.Status, hourlyTooLong.Body!.Value.GetProperty("errors")[0].Str("field")));
    }

    private static string D(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
