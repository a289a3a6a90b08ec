using System.Text.Json;
using AgentSpend.Functions.Triggers;
using AgentSpend.Integration.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.Metrics;

/// <summary>
/// Runs and sessions: their figures summed over their days, the RunCompletion timer, paging through a run's
/// events, the breakdown by session and the long-running-session detector. In a 45-minute-offset timezone and in UTC.
/// </summary>
public sealed class RunTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private sealed record Call(string? Run, string? Session, TimeSpan Ago, string Model, decimal Cost, long Input, bool? Ok, string Agent = "coder", string User = "ana");

    [Theory]
    [InlineData("Asia/Kathmandu")]
    [InlineData("UTC")]
    public async Task Runs_and_sessions_sum_their_days_complete_by_the_timer_and_page_their_events(string timezone)
    {
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?>
        {
            ["AGENTSPEND_RUN_IDLE_MINUTES"] = "1",
            ["AGENTSPEND_LOCAL_TRIGGERS"] = "true",
        });
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "runs-" + timezone.Replace('/', '-'), timezone }, "ingest", "read");
        var now = DateTimeOffset.UtcNow;
        Call[] calls =
        [
            new("r1", "s1", TimeSpan.FromSeconds(50), "m1", 0.50m, 100, true),
            new("r1", "s1", TimeSpan.FromSeconds(47), "m2", 1.25m, 200, false),
            new("r1", "s1", TimeSpan.FromSeconds(44), "m1", 0.25m, 300, true),
            new("r2", "s1", TimeSpan.FromSeconds(1), "m1", 2.00m, 10, null),
            new("r3", null, TimeSpan.FromHours(30), "m2", 4.00m, 7, true, "nightly", "bob"),
            new("r3", null, TimeSpan.FromHours(2), "m2", 1.00m, 3, true, "nightly", "bob"),
            new(null, "s-long", TimeSpan.FromMinutes(150), "m1", 0.10m, 1, null, "pairing", "cy"),
            new(null, "s-long", TimeSpan.FromSeconds(2), "m1", 0.20m, 2, null, "pairing", "cy"),
        ];
        Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new
        {
            events = calls.Select((c, i) => new
            {
                agent_name = c.Agent, user_id = c.User, provider = "p", model = c.Model, timestamp = (now - c.Ago).ToString("O"), input_tokens = c.Input,
                cost_usd = c.Cost, task_success = c.Ok, run_id = c.Run, session_id = c.Session, idempotency_key = $"run{i}",
            }).ToArray(),
        }, key)).Status);
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, TimeZoneInfo.FindSystemTimeZoneById(timezone)).DateTime);
        await app.WaitForEventsAsync(calls.Length, Json.Day(today.AddDays(-2)), Json.Day(today), key: key);

        async Task<JsonElement> Get(string path)
        {
            var reply = await app.SendAsync("GET", path, key: key);
            Assert.True(reply.Status == 200, $"{path}: {reply.Status} {reply.Text}");
            return reply.Body!.Value;
        }

        (long, decimal, long, long, long) Figures(IEnumerable<Call> some)
        {
            var list = some.ToArray();
            return (list.Length, list.Sum(c => c.Cost), list.Sum(c => c.Input), list.Count(c => c.Ok == true), list.Count(c => c.Ok == false));
        }

        static (long, decimal, long, long, long) Of(JsonElement e) => (e.Long("events"), e.Dec("cost_usd"), e.Long("input_tokens"), e.Long("successes"), e.Long("failures"));

        // Newest last event first; r3 (two local days apart) is summed over both days and, idle for two hours, completed on arrival.
        var runs = (await Get("/api/v1/runs?range=7d")).GetProperty("items").EnumerateArray().ToArray();
        Assert.Equal(["r2", "r1", "r3"], runs.Select(r => r.Str("id")));
        Assert.Equal(["active", "active", "completed"], runs.Select(r => r.Str("status")));
        foreach (var run in runs)
        {
            var mine = calls.Where(c => c.Run == run.Str("id")).ToArray();
            Assert.Equal(Figures(mine), Of(run));
            Assert.Equal((now - mine.Max(c => c.Ago)).ToUnixTimeMilliseconds(), DateTimeOffset.Parse(run.Str("started_at")!).ToUnixTimeMilliseconds());
            Assert.Equal((now - mine.Min(c => c.Ago)).ToUnixTimeMilliseconds(), DateTimeOffset.Parse(run.Str("ended_at")!).ToUnixTimeMilliseconds());
            Assert.Equal((long)(mine.Max(c => c.Ago) - mine.Min(c => c.Ago)).TotalMilliseconds, run.Long("elapsed_ms"));
        }

        Assert.Equal(["m2", "m1"], runs[1].GetProperty("models").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal(66.7m, runs[1].Dec("success_rate_pct"));

        // Paging the list, and filters on it.
        var first = await Get("/api/v1/runs?range=7d&limit=2");
        Assert.Equal(["r2", "r1"], first.GetProperty("items").EnumerateArray().Select(r => r.Str("id")));
        var rest = await Get($"/api/v1/runs?range=7d&limit=2&cursor={first.Str("next_cursor")}");
        Assert.Equal(["r3"], rest.GetProperty("items").EnumerateArray().Select(r => r.Str("id")));
        Assert.Equal(JsonValueKind.Null, rest.GetProperty("next_cursor").ValueKind);
        Assert.Equal(["r3"], (await Get("/api/v1/runs?range=7d&agent=nightly")).GetProperty("items").EnumerateArray().Select(r => r.Str("id")));
        Assert.Equal(["r3"], (await Get("/api/v1/runs?range=7d&status=completed")).GetProperty("items").EnumerateArray().Select(r => r.Str("id")));

        // Model and provider: the runs that used them, with the whole run's figures; paged like the rest.
        IEnumerable<string?> Ids(JsonElement list) => list.GetProperty("items").EnumerateArray().Select(r => r.Str("id"));
        Assert.Equal(["r1", "r3"], Ids(await Get("/api/v1/runs?range=7d&model=m2")));
        Assert.Equal(Figures(calls.Where(c => c.Run == "r1")), Of((await Get("/api/v1/runs?range=7d&model=m2")).GetProperty("items")[0]));
        var byModel = await Get("/api/v1/runs?range=7d&model=m1&limit=1");
        Assert.Equal(["r2"], Ids(byModel));
        var byModelRest = await Get($"/api/v1/runs?range=7d&model=m1&limit=1&cursor={byModel.Str("next_cursor")}");
        Assert.Equal(["r1"], Ids(byModelRest));
        Assert.Equal(JsonValueKind.Null, byModelRest.GetProperty("next_cursor").ValueKind);
        Assert.Equal(["r2", "r1", "r3"], Ids(await Get("/api/v1/runs?range=7d&provider=p")));
        Assert.Equal(["r1", "r3"], Ids(await Get("/api/v1/runs?range=7d&provider=p&model=m2")));
        Assert.Empty(Ids(await Get("/api/v1/runs?range=7d&provider=q")));
        Assert.Empty(Ids(await Get("/api/v1/runs?range=7d&provider=q&model=m2")));
        Assert.Equal(["s1"], Ids(await Get("/api/v1/sessions?range=7d&model=m2")));
        Assert.Equal((400, "model"), await Problem(app, key, "/api/v1/runs?model="));

        // The detail: model mix of r1.
        var detail = await Get("/api/v1/runs/r1");
        Assert.Equal(
            calls.Where(c => c.Run == "r1").GroupBy(c => c.Model).Select(g => (g.Key, g.Sum(c => c.Cost), (long)g.Count())).OrderByDescending(x => x.Item2).ToArray(),
            detail.GetProperty("model_usage").EnumerateArray().Select(m => (m.Str("model")!, m.Dec("cost_usd"), m.Long("events"))).ToArray());

        // Paging r1's events two at a time: every event once.
        var page1 = await Get("/api/v1/runs/r1/events?limit=2");
        var page2 = await Get($"/api/v1/runs/r1/events?limit=2&cursor={page1.Str("next_cursor")}");
        var seen = page1.GetProperty("items").EnumerateArray().Concat(page2.GetProperty("items").EnumerateArray()).Select(e => e.Long("input_tokens")).Order().ToArray();
        Assert.Equal([100L, 200, 300], seen);
        Assert.Equal(2, page1.GetProperty("items").GetArrayLength());
        Assert.True(page2.GetProperty("next_cursor").ValueKind == JsonValueKind.Null || (await Get($"/api/v1/runs/r1/events?limit=2&cursor={page2.Str("next_cursor")}")).GetProperty("items").GetArrayLength() == 0);

        // Sessions: the same views; breakdown by session; the long-running session in the burn rate.
        var sessions = (await Get("/api/v1/sessions?range=7d")).GetProperty("items").EnumerateArray().ToDictionary(s => s.Str("id")!);
        Assert.Equal(Figures(calls.Where(c => c.Session == "s1")), Of(sessions["s1"]));
        Assert.Equal(Figures(calls.Where(c => c.Session == "s-long")), Of(sessions["s-long"]));
        var bySession = await Get("/api/v1/metrics/breakdown?by=session&range=7d");
        Assert.Equal([("s1", 4.00m), ("s-long", 0.30m)], bySession.GetProperty("items").EnumerateArray().Select(i => (i.Str("key")!, i.Dec("cost_usd"))));
        var m1Only = await Get("/api/v1/metrics/breakdown?by=session&range=7d&model=m1");
        Assert.Equal([("s1", 2.75m), ("s-long", 0.30m)], m1Only.GetProperty("items").EnumerateArray().Select(i => (i.Str("key")!, i.Dec("cost_usd"))));
        var burn = await Get("/api/v1/metrics/burn-rate");
        var longOnes = burn.GetProperty("long_running_sessions").EnumerateArray().ToArray();
        Assert.Equal(("s-long", "pairing", 120L), (Assert.Single(longOnes).Str("session_id"), longOnes[0].Str("agent"), burn.Long("long_session_minutes")));
        Assert.InRange(longOnes[0].Long("running_minutes"), 150, 152);

        // A minute after r1's last event the timer marks it completed; r2 (a second old at ingest) is still active.
        var waitUntil = now + TimeSpan.FromSeconds(17);
        if (waitUntil > DateTimeOffset.UtcNow)
        {
            await Task.Delay(waitUntil - DateTimeOffset.UtcNow);
        }

        await app.Services.GetServices<ITimerFunction>().Single(f => f.Name == "RunCompletion").RunAsync(CancellationToken.None);
        var after = (await Get("/api/v1/runs?range=7d")).GetProperty("items").EnumerateArray().ToDictionary(r => r.Str("id")!);
        Assert.Equal(("completed", "active"), (after["r1"].Str("status"), after["r2"].Str("status")));
        Assert.True(DateTimeOffset.Parse(after["r1"].Str("completed_at")!) >= waitUntil.AddSeconds(-1));

        // Bad input.
        Assert.Equal((404, "id"), await Problem(app, key, "/api/v1/runs/nope"));
        Assert.Equal((400, "status"), await Problem(app, key, "/api/v1/runs?status=paused"));
        Assert.Equal((400, "cursor"), await Problem(app, key, "/api/v1/runs/r1/events?cursor=!!"));
        Assert.Equal((400, "limit"), await Problem(app, key, "/api/v1/sessions?limit=0"));
        Assert.Equal((400, "repo"), await Problem(app, key, "/api/v1/metrics/breakdown?by=session&repo=x"));
    }

    private static async Task<(int, string?)> Problem(TestApp app, string key, string path)
    {
        var reply = await app.SendAsync("GET", path, key: key);
        return (reply.Status, reply.Body?.GetProperty("errors")[0].Str("field"));
    }
}
