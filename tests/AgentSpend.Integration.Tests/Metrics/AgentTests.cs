using System.Text.Json;
using AgentSpend.Integration.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.Metrics;

/// <summary>The agents list and an agent's detail, on the workspace's local days, in a 45-minute-offset timezone and in UTC.</summary>
public sealed class AgentTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private sealed record Call(string Agent, string Model, TimeSpan Ago, decimal Cost, long Input);

    [Theory]
    [InlineData("Asia/Kathmandu")]
    [InlineData("UTC")]
    public async Task The_list_sums_today_this_week_this_month_and_all_time_and_the_detail_shows_the_model_mix_and_seven_days(string timezone)
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "agents-" + timezone.Replace('/', '-'), timezone, retention_days = 400 }, "ingest", "read");
        var zone = TimeZoneInfo.FindSystemTimeZoneById(timezone);
        var now = DateTimeOffset.UtcNow;
        Call[] calls =
        [
            new("alpha", "m-big", TimeSpan.FromMinutes(1), 2.00m, 100),
            new("alpha", "m-small", TimeSpan.FromHours(2), 0.50m, 40),
            new("alpha", "m-small", TimeSpan.FromDays(3), 0.75m, 30),
            new("alpha", "m-big", TimeSpan.FromDays(6), 1.25m, 20),
            new("alpha", "m-small", TimeSpan.FromDays(20), 4.00m, 10),
            new("alpha", "m-big", TimeSpan.FromDays(100), 8.00m, 5),
            new("beta", "m-small", TimeSpan.FromDays(2), 0.30m, 7),
            new("beta", "m-small", TimeSpan.FromDays(45), 0.20m, 3),
        ];
        Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new
        {
            events = calls.Select((c, i) => new
            {
                agent_name = c.Agent, provider = "p", model = c.Model, timestamp = (now - c.Ago).ToString("O"), input_tokens = c.Input, output_tokens = 1, cost_usd = c.Cost, idempotency_key = $"ag{i}",
            }).ToArray(),
        }, key)).Status);
        DateOnly LocalDay(DateTimeOffset at) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(at, zone).DateTime);
        var today = LocalDay(now);
        await app.WaitForEventsAsync(calls.Length, Json.Day(today.AddDays(-120)), Json.Day(today), key: key);

        var weekStart = today.AddDays(-(((int)today.DayOfWeek + 6) % 7));
        var monthStart = new DateOnly(today.Year, today.Month, 1);
        (decimal, long, long) Spend(string agent, Func<DateOnly, bool> inPeriod)
        {
            var some = calls.Where(c => c.Agent == agent && inPeriod(LocalDay(now - c.Ago))).ToArray();
            return (some.Sum(c => c.Cost), some.Sum(c => c.Input + 1), some.Length);
        }

        static (decimal, long, long) Of(JsonElement period) => (period.Dec("cost_usd"), period.Long("tokens"), period.Long("events"));

        var list = (await app.SendAsync("GET", "/api/v1/agents", key: key)).Body!.Value;
        var periods = list.GetProperty("periods");
        Assert.Equal((Json.Day(today), Json.Day(weekStart), Json.Day(monthStart), Json.Day(today.AddDays(-399))),
            (periods.Str("today"), periods.Str("week_start"), periods.Str("month_start"), periods.Str("all_time_from")));
        var agents = list.GetProperty("agents").EnumerateArray().ToDictionary(a => a.Str("name")!);
        Assert.Equal(["alpha", "beta"], agents.Keys.Order());
        foreach (var name in new[] { "alpha", "beta" })
        {
            var agent = agents[name];
            Assert.Equal(Spend(name, d => d == today), Of(agent.GetProperty("today")));
            Assert.Equal(Spend(name, d => d >= weekStart), Of(agent.GetProperty("week")));
            Assert.Equal(Spend(name, d => d >= monthStart), Of(agent.GetProperty("month")));
            Assert.Equal(Spend(name, _ => true), Of(agent.GetProperty("all_time")));
            var last = calls.Where(c => c.Agent == name).Min(c => c.Ago);
            Assert.Equal((now - last).ToUnixTimeMilliseconds(), DateTimeOffset.Parse(agent.Str("last_active")!).ToUnixTimeMilliseconds());
            Assert.Equal(JsonValueKind.Null, agent.GetProperty("budget_used_pct").ValueKind);
        }

        // alpha: its last call a minute ago, m-big 3.25 against m-small 1.25 in the last seven days; beta: two days quiet.
        Assert.Equal(("active", "m-big"), (agents["alpha"].Str("status"), agents["alpha"].Str("primary_model")));
        Assert.Equal(("idle", "m-small"), (agents["beta"].Str("status"), agents["beta"].Str("primary_model")));

        // Filtered: each agent's usage of m-big only, and only the agents that have some (beta has none).
        (decimal, long, long) SpendOn(string agent, string model, Func<DateOnly, bool> inPeriod)
        {
            var some = calls.Where(c => c.Agent == agent && c.Model == model && inPeriod(LocalDay(now - c.Ago))).ToArray();
            return (some.Sum(c => c.Cost), some.Sum(c => c.Input + 1), some.Length);
        }

        var big = (await app.SendAsync("GET", "/api/v1/agents?model=m-big", key: key)).Body!.Value.GetProperty("agents").EnumerateArray().ToArray();
        Assert.Equal("alpha", Assert.Single(big).Str("name"));
        Assert.Equal(
            (SpendOn("alpha", "m-big", d => d == today), SpendOn("alpha", "m-big", d => d >= monthStart), SpendOn("alpha", "m-big", _ => true)),
            (Of(big[0].GetProperty("today")), Of(big[0].GetProperty("month")), Of(big[0].GetProperty("all_time"))));
        Assert.Equal((now - TimeSpan.FromMinutes(1)).ToUnixTimeMilliseconds(), DateTimeOffset.Parse(big[0].Str("last_active")!).ToUnixTimeMilliseconds());
        var small = (await app.SendAsync("GET", "/api/v1/agents?model=m-small&agent=beta", key: key)).Body!.Value.GetProperty("agents").EnumerateArray().ToArray();
        Assert.Equal(("beta", SpendOn("beta", "m-small", _ => true)), (Assert.Single(small).Str("name"), Of(small[0].GetProperty("all_time"))));
        Assert.Empty((await app.SendAsync("GET", "/api/v1/agents?model=m-big&agent=beta", key: key)).Body!.Value.GetProperty("agents").EnumerateArray());

        var detail = await app.SendAsync("GET", "/api/v1/agents/alpha?range=30d", key: key);
        Assert.Equal(200, detail.Status);
        var d = detail.Body!.Value;
        Assert.Equal(("alpha", "30d", Json.Day(today.AddDays(-29))), (d.GetProperty("agent").Str("name"), d.Str("range"), d.Str("from")));
        var inRange = calls.Where(c => c.Agent == "alpha" && LocalDay(now - c.Ago) >= today.AddDays(-29)).ToArray();
        Assert.Equal(
            inRange.GroupBy(c => c.Model).Select(g => (g.Key, g.Sum(c => c.Cost), (long)g.Count())).OrderByDescending(x => x.Item2).ToArray(),
            d.GetProperty("models").EnumerateArray().Select(m => (m.Str("key")!, m.Dec("cost_usd"), m.Long("events"))).ToArray());
        Assert.Equal(
            Enumerable.Range(0, 7).Select(i => today.AddDays(i - 6)).Select(day => (Json.Day(day), Spend("alpha", x => x == day).Item1)).ToArray(),
            d.GetProperty("history").EnumerateArray().Select(p => (p.Str("date")!, p.Dec("cost_usd"))).ToArray());

        // The detail takes the filters too: alpha's m-big usage only, in its model mix and its days; beta has none.
        var bigDetail = (await app.SendAsync("GET", "/api/v1/agents/alpha?range=30d&model=m-big", key: key)).Body!.Value;
        Assert.Equal(
            inRange.Where(c => c.Model == "m-big").GroupBy(c => c.Model).Select(g => (g.Key, g.Sum(c => c.Cost), (long)g.Count())).ToArray(),
            bigDetail.GetProperty("models").EnumerateArray().Select(m => (m.Str("key")!, m.Dec("cost_usd"), m.Long("events"))).ToArray());
        Assert.Equal(
            Enumerable.Range(0, 7).Select(i => today.AddDays(i - 6)).Select(day => (Json.Day(day), SpendOn("alpha", "m-big", x => x == day).Item1)).ToArray(),
            bigDetail.GetProperty("history").EnumerateArray().Select(p => (p.Str("date")!, p.Dec("cost_usd"))).ToArray());
        Assert.Equal(SpendOn("alpha", "m-big", _ => true), Of(bigDetail.GetProperty("agent").GetProperty("all_time")));
        Assert.Equal(404, (await app.SendAsync("GET", "/api/v1/agents/beta?model=m-big", key: key)).Status);

        var missing = await app.SendAsync("GET", "/api/v1/agents/gamma", key: key);
        Assert.Equal((404, "name"), (missing.Status, missing.Body!.Value.GetProperty("errors")[0].Str("field")));
        var extra = await app.SendAsync("GET", "/api/v1/agents?sort=cost", key: key);
        Assert.Equal((400, "sort"), (extra.Status, extra.Body!.Value.GetProperty("errors")[0].Str("field")));
        var badRange = await app.SendAsync("GET", "/api/v1/agents/alpha?range=1y", key: key);
        Assert.Equal((400, "range"), (badRange.Status, badRange.Body!.Value.GetProperty("errors")[0].Str("field")));
    }

    [Fact]
    public async Task A_cold_agents_list_reads_the_days_that_were_counted_not_every_day_kept()
    {
        var now = DateTimeOffset.UtcNow;
        string key;
        await using (var writer = await TestApp.StartAsync(azurite))
        {
            (_, key) = await writer.CreateWorkspaceAsync(new { name = "cold-agents", retention_days = 400 }, "ingest", "read");
            Assert.Equal(202, (await writer.SendAsync("POST", "/api/v1/ingest", new
            {
                events = new[] { TimeSpan.FromMinutes(1), TimeSpan.FromDays(100) }.Select((ago, i) => new
                {
                    agent_name = "gamma", provider = "p", model = "m", timestamp = (now - ago).ToString("O"), input_tokens = 10, cost_usd = 0.25m, idempotency_key = $"cold{i}",
                }).ToArray(),
            }, key)).Status);
            await writer.WaitForEventsAsync(2, Json.Day(DateOnly.FromDateTime(now.UtcDateTime).AddDays(-101)), Json.Day(DateOnly.FromDateTime(now.UtcDateTime)), key: key);
        }

        // A second app, with nothing read yet: the first list after a start is the one a dashboard waits on.
        await using var reader = await TestApp.StartAsync(azurite);
        var counter = reader.Services.GetRequiredService<AgentSpend.Core.Storage.StorageRequestCounter>();
        var before = counter.Requests;
        var list = (await reader.SendAsync("GET", "/api/v1/agents", key: key)).Body!.Value;
        var requests = counter.Requests - before;

        var gamma = list.GetProperty("agents").EnumerateArray().Single();
        Assert.Equal(("gamma", 0.50m, 2L), (gamma.Str("name"), gamma.GetProperty("all_time").Dec("cost_usd"), gamma.GetProperty("all_time").Long("events")));
        // 400 days are kept: one version row per month (14), the two counted days, and the budgets, controls and key
        // and workspace look-ups, with room for the app's own queue polls; a read of every kept day was over 400.
        Assert.InRange(requests, 1, 60);
    }
}
