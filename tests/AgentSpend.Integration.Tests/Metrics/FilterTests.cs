using System.Globalization;
using System.Text.Json;
using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Metrics;

/// <summary>
/// Filters on every metrics endpoint, against a generated dataset whose every answer the test computes
/// itself: 120 calls over the last 46 hours on three agents, two models and providers, four users, two
/// teams, three harnesses, five repos and a custom tag. In a 45-minute-offset timezone and in UTC.
/// </summary>
public sealed class FilterTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private sealed record Call(int I, DateTimeOffset At, string Agent, string Model, string Provider, string User, string Team, string Harness, string Repo, string Env, decimal Cost, long Input)
    {
        public static Call Of(int i, DateTimeOffset now) => new(
            i, now.AddMinutes(-(i * 23) - 1), $"a{i % 3}", $"m{i % 2}", i % 2 == 0 ? "anthropic" : "openai", $"u{i % 4}", $"t{i % 5 % 2}",
            $"h{(i % 3 == 0 ? 0 : i % 7 % 3)}", $"r{i % 5}", i % 4 < 3 ? "prod" : "dev", ((i % 7) + 1) * 0.25m, i + 1);

        public object Wire() => new
        {
            agent_name = Agent, model = Model, provider = Provider, user_id = User, team = Team, timestamp = At.ToString("O"),
            input_tokens = Input, cost_usd = Cost, tags = new { harness = Harness, repo = Repo, env = Env }, idempotency_key = $"f{I}",
        };
    }

    [Theory]
    [InlineData("Asia/Kathmandu")]
    [InlineData("UTC")]
    public async Task Every_endpoint_answers_exactly_for_its_filters(string timezone)
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "filters-" + timezone.Replace('/', '-'), timezone }, "ingest", "read");
        var zone = TimeZoneInfo.FindSystemTimeZoneById(timezone);
        var now = DateTimeOffset.UtcNow;
        var calls = Enumerable.Range(0, 120).Select(i => Call.Of(i, now)).ToArray();
        Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new { events = calls.Select(c => c.Wire()).ToArray() }, key)).Status);
        DateOnly LocalDay(DateTimeOffset at) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(at, zone).DateTime);
        var today = LocalDay(now);
        await app.WaitForEventsAsync(120, D(today.AddDays(-6)), D(today), key: key);

        async Task<JsonElement> Get(string path)
        {
            var reply = await app.SendAsync("GET", path, key: key);
            Assert.True(reply.Status == 200, $"{path}: {reply.Status} {reply.Text}");
            return reply.Body!.Value;
        }

        (long Events, long Input, decimal Cost) Sum(IEnumerable<Call> some) => (some.Count(), some.Sum(c => c.Input), some.Sum(c => c.Cost));
        (long, long, decimal) Of(JsonElement e) => (e.Long("events"), e.Long("input_tokens"), e.Dec("cost_usd"));

        // Overview: two dimensions at once, then a custom tag with a team; the previous day filtered the same way.
        var o = await Get("/api/v1/metrics/overview?range=7d&agent=a1&model=m0");
        Assert.Equal(Sum(calls.Where(c => c.Agent == "a1" && c.Model == "m0")), Of(o));
        Assert.Equal((1L, "a1", "m0"), (o.Long("active_agents"), o.GetProperty("filters").Str("agent"), o.GetProperty("filters").Str("model")));
        o = await Get("/api/v1/metrics/overview?range=today&tag.env=prod&team=t1");
        var prodT1 = calls.Where(c => c.Env == "prod" && c.Team == "t1").ToArray();
        Assert.Equal(Sum(prodT1.Where(c => LocalDay(c.At) == today)), Of(o));
        Assert.Equal(Sum(prodT1.Where(c => LocalDay(c.At) == today.AddDays(-1))), Of(o.GetProperty("previous")));
        Assert.Equal(prodT1.Where(c => LocalDay(c.At) == today).Select(c => c.User).Distinct().Count(), o.Long("active_users"));

        // A filter that matches nothing answers zeros, not everything.
        Assert.Equal((0L, 0L, 0m), Of(await Get("/api/v1/metrics/overview?range=7d&agent=a1&model=m0&repo=nowhere")));

        // Breakdowns: by a dimension under a filter, by a custom tag, and by harness under a repo filter.
        var byUser = await Get("/api/v1/metrics/breakdown?by=user&range=7d&harness=h2&sort=events");
        Assert.Equal(
            calls.Where(c => c.Harness == "h2").GroupBy(c => c.User).Select(g => (g.Key, Sum(g)))
                .OrderByDescending(x => x.Item2.Events).ThenBy(x => x.Key, StringComparer.Ordinal).ToArray(),
            byUser.GetProperty("items").EnumerateArray().Select(i => (i.Str("key")!, Of(i))).ToArray());
        var byEnv = await Get("/api/v1/metrics/breakdown?by=tag.env&range=7d&provider=openai");
        Assert.Equal("tag.env", byEnv.Str("by"));
        Assert.Equal(
            calls.Where(c => c.Provider == "openai").GroupBy(c => c.Env).Select(g => (g.Key, Sum(g))).OrderByDescending(x => x.Item2.Cost).ToArray(),
            byEnv.GetProperty("items").EnumerateArray().Select(i => (i.Str("key")!, Of(i))).ToArray());

        // Daily timeseries, zero-filled over the seven local days, for one repo.
        var series = await Get("/api/v1/metrics/timeseries?range=7d&repo=r3");
        Assert.Equal(
            Enumerable.Range(0, 7).Select(d => today.AddDays(d - 6)).Select(day => (D(day), Sum(calls.Where(c => c.Repo == "r3" && LocalDay(c.At) == day)))).ToArray(),
            series.GetProperty("points").EnumerateArray().Select(p => (p.Str("date")!, Of(p))).ToArray());

        // Hourly, for one provider: every UTC hour of the two local days, each call in its own hour.
        var hourly = await Get($"/api/v1/metrics/timeseries?granularity=hour&from={D(today.AddDays(-1))}&to={D(today)}&provider=anthropic");
        var hours = hourly.GetProperty("points").EnumerateArray().ToDictionary(p => p.Str("hour")!, Of);
        foreach (var hour in calls.Where(c => c.Provider == "anthropic" && LocalDay(c.At) >= today.AddDays(-1)).GroupBy(c => HourOf(c.At)))
        {
            Assert.Equal(Sum(hour), hours[hour.Key]);
        }

        Assert.Equal(Sum(calls.Where(c => c.Provider == "anthropic" && LocalDay(c.At) >= today.AddDays(-1))), (hours.Values.Sum(h => h.Item1), hours.Values.Sum(h => h.Item2), hours.Values.Sum(h => h.Item3)));

        // Split by model, top 1: the dearer model's series and "other", each day summing to the day's total; hourly split too.
        var topModel = calls.Where(c => c.Agent == "a0" && LocalDay(c.At) == today.AddDays(-1)).GroupBy(c => c.Model)
            .OrderByDescending(g => g.Sum(c => c.Cost)).ThenByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).First().Key;
        foreach (var granularity in new[] { "day", "hour" })
        {
            var split = await Get($"/api/v1/metrics/timeseries?granularity={granularity}&range=yesterday&agent=a0&split=model&top=1");
            var lines = split.GetProperty("series").EnumerateArray().ToArray();
            Assert.Equal("model", split.Str("split"));
            Assert.Equal([topModel, "other"], lines.Select(l => l.Str("key")!));
            var yesterday = calls.Where(c => c.Agent == "a0" && LocalDay(c.At) == today.AddDays(-1)).ToArray();
            Assert.Equal(Sum(yesterday.Where(c => c.Model == topModel)), SumPoints(lines[0]));
            Assert.Equal(Sum(yesterday.Where(c => c.Model != topModel)), SumPoints(lines[1]));
            Assert.Equal(split.GetProperty("points").GetArrayLength(), lines[1].GetProperty("points").GetArrayLength());
        }

        var csv = await app.SendAsync("GET", "/api/v1/metrics/timeseries?range=7d&split=tag.env&format=csv", key: key);
        var rows = csv.Text.TrimEnd('\n').Split('\n');
        Assert.Equal("date,tag.env,events,input_tokens", string.Join(',', rows[0].Split(',').Take(4)));
        Assert.Equal(1 + (7 * 2), rows.Length); // seven days × {prod, dev}
        Assert.Equal(calls.Count(c => c.Env == "dev"), rows.Skip(1).Where(r => r.Split(',')[1] == "dev").Sum(r => long.Parse(r.Split(',')[2], CultureInfo.InvariantCulture)));

        // Concentration and burn rate under a filter.
        var shares = await Get("/api/v1/metrics/concentration?range=7d&user=u1");
        var u1 = calls.Where(c => c.User == "u1").ToArray();
        Assert.Equal(
            u1.GroupBy(c => c.Provider).Select(g => (g.Key, g.Sum(c => c.Cost), (long)g.Count())).OrderBy(x => x.Key).ToArray(),
            shares.GetProperty("providers").GetProperty("items").EnumerateArray().Select(i => (i.Str("key")!, i.Dec("cost_usd"), i.Long("events"))).OrderBy(x => x.Item1).ToArray());
        var burn = await Get("/api/v1/metrics/burn-rate?agent=a2");
        var firstHour = new DateTimeOffset(now.UtcDateTime.Date.AddHours(now.UtcDateTime.Hour - 23), TimeSpan.Zero);
        Assert.Equal(calls.Where(c => c.Agent == "a2" && c.At >= firstHour).Sum(c => c.Cost), burn.Dec("last24h_cost_usd"));
        Assert.Equal("a2", burn.GetProperty("filters").Str("agent"));
    }

    [Theory]
    [InlineData("/api/v1/metrics/overview?agnet=a", "agnet", "'agnet' is not a parameter here; use from, range, to, or the filters agent, model, provider, user, team, harness, repo, key and tag.<key>.")]
    [InlineData("/api/v1/metrics/overview?agent=", "agent", "must not be empty.")]
    [InlineData("/api/v1/metrics/breakdown?by=model&agent=a&agent=b", "agent", "give one value.")]
    [InlineData("/api/v1/metrics/timeseries?tag.=x", "tag.", "'tag.' is not a parameter here; use format, from, granularity, range, split, to, top, or the filters agent, model, provider, user, team, harness, repo, key and tag.<key>.")]
    [InlineData("/api/v1/metrics/breakdown?by=framework&framework=x", "framework", "'framework' is not a parameter here; use by, format, from, range, sort, to, top, or the filters agent, model, provider, user, team, harness, repo, key and tag.<key>.")]
    [InlineData("/api/v1/metrics/timeseries?split=colour", "split", "'colour' is not a dimension; use agent, model, provider, user, team, framework, task_type, harness, repo, branch or key, or tag.<key>.")]
    [InlineData("/api/v1/metrics/timeseries?top=3", "top", "'top' goes with 'split'.")]
    [InlineData("/api/v1/metrics/burn-rate?range=7d", "range", "'range' is not a parameter here; use the filters agent, model, provider, user, team, harness, repo, key and tag.<key>.")]
    public async Task Bad_filters_answer_400_naming_the_parameter(string path, string parameter, string reason)
    {
        await using var app = await TestApp.StartAsync(azurite);
        var reply = await app.SendAsync("GET", path);
        Assert.Equal(400, reply.Status);
        Assert.Equal("application/problem+json", reply.MediaType);
        var error = reply.Body!.Value.GetProperty("errors")[0];
        Assert.Equal((parameter, reason), (error.Str("field"), error.Str("reason")));
    }

    private static (long, long, decimal) SumPoints(JsonElement line)
    {
        var points = line.GetProperty("points").EnumerateArray().ToArray();
        return (points.Sum(p => p.Long("events")), points.Sum(p => p.Long("input_tokens")), points.Sum(p => p.Dec("cost_usd")));
    }

    private static string HourOf(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH':00:00Z'", CultureInfo.InvariantCulture);

    private static string D(DateOnly day) => Json.Day(day);
}
