using System.Text.Json;
using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Metrics;

/// <summary>Tokens saved, success rates, time saved against the workspace's manual-effort setting, and cache economics.</summary>
public sealed class EfficiencyTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private sealed record Task(string Agent, string? TaskType, bool? Ok, long DurationMs);

    [Theory]
    [InlineData("Asia/Kolkata")]
    [InlineData("UTC")]
    public async System.Threading.Tasks.Task Efficiency_reports_exact_savings_rates_time_and_cache_economics(string timezone)
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, admin) = await app.CreateWorkspaceAsync(new { name = "efficiency-" + timezone.Replace('/', '-'), timezone });
        var at = DateTimeOffset.UtcNow.AddMinutes(-2).ToString("O");

        var defaults = (await app.SendAsync("GET", "/api/v1/settings/efficiency", key: admin)).Body!.Value;
        Assert.Equal((30L, true), (defaults.Long("minutes_per_task"), defaults.GetProperty("is_default").GetBoolean()));
        var put = await app.SendAsync("PUT", "/api/v1/settings/efficiency", new { minutes_per_task = 20, task_types = new { review = 45 } }, admin);
        Assert.Equal(200, put.Status);
        Assert.Equal((20L, 45L, false), (put.Body!.Value.Long("minutes_per_task"), put.Body.Value.GetProperty("task_types").Long("review"), put.Body.Value.GetProperty("is_default").GetBoolean()));
        Assert.Equal(200, (await app.SendAsync("PUT", "/api/v1/pricing/models/cache-model", new { input = 3m, output = 15m, cache_read = 0.3m, cache_write_5m = 3.75m }, admin)).Status);

        Task[] tasks =
        [
            new("rev", "review", true, 600_000), new("rev", "review", true, 600_000),
            new("fixer", "fix", true, 120_000), new("fixer", "fix", false, 120_000),
            new("misc", null, true, 60_000),
        ];
        var events = tasks.Select((t, i) => (object)new
        {
            agent_name = t.Agent, provider = "p", model = "m", timestamp = at, task_type = t.TaskType, task_success = t.Ok, duration_ms = t.DurationMs, cost_usd = 0.01m, idempotency_key = $"t{i}",
        }).Concat(
        [
            new { agent_name = "cacher", provider = "anthropic", model = "cache-model", timestamp = at, input_tokens = 10, cache_read_tokens = 1_000_000, cache_write_tokens = 200_000, idempotency_key = "c1" },
            new { agent_name = "cacher", provider = "x", model = "mystery", timestamp = at, cache_read_tokens = 5_000, idempotency_key = "c2" },
        ]).ToArray();
        Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new { events }, admin)).Status);
        Assert.Equal(202, (await app.SendAsync("POST", "/api/events", new { run_id = "opt-1", framework = "dspy", model_name = "m", tokens_before = 1000, tokens_after = 600, task_success = true, timestamp = at }, admin)).Status);
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow.AddMinutes(-2), TimeZoneInfo.FindSystemTimeZoneById(timezone)).DateTime);
        await app.WaitForEventsAsync(events.Length + 1, Json.Day(today), Json.Day(today), key: admin);

        var reply = await app.SendAsync("GET", "/api/v1/metrics/efficiency?range=today", key: admin);
        Assert.True(reply.Status == 200, reply.Text);
        var e = reply.Body!.Value;

        // One optimisation run: 1,000 tokens before, 600 after.
        var tokens = e.GetProperty("tokens");
        Assert.Equal((1000L, 600L, 400L, 40.0m), (tokens.Long("baseline_tokens"), tokens.Long("actual_tokens"), tokens.Long("saved_tokens"), tokens.Dec("reduction_pct")));

        // Outcomes: most reported first, then by name; the run event is an agent ("dspy") of its own.
        Assert.Equal(
            [("fixer", 1L, 1L, 50.0m), ("rev", 2L, 0L, 100.0m), ("dspy", 1L, 0L, 100.0m), ("misc", 1L, 0L, 100.0m)],
            e.GetProperty("success_by_agent").EnumerateArray().Select(r => (r.Str("key")!, r.Long("successes"), r.Long("failures"), r.Dec("success_rate_pct"))));
        Assert.Equal(
            [(null, 2L, 0L, 100.0m), ("fix", 1L, 1L, 50.0m), ("review", 2L, 0L, 100.0m)], // two outcomes each: by name
            e.GetProperty("success_by_task_type").EnumerateArray().Select(r => (r.Str("key"), r.Long("successes"), r.Long("failures"), r.Dec("success_rate_pct"))));

        // Time saved: each successful task counts its task type's minutes (review 45, others 20); the calls' durations are the agent's time.
        static decimal Hours(decimal ms) => Math.Round(ms / 3_600_000m, 2, MidpointRounding.AwayFromZero);
        (string? TaskType, long Tasks, int Minutes, long AgentMs)[] rows =
        [
            (null, 2, 20, 60_000), // misc, and the run event: no task type
            ("fix", 1, 20, 240_000),
            ("review", 2, 45, 1_200_000),
        ];
        var expected = rows.Select(r => (r.TaskType, r.Tasks, Minutes: (long)r.Minutes, Manual: Hours(r.Tasks * r.Minutes * 60_000m), Agent: Hours(r.AgentMs))).ToArray();
        var time = e.GetProperty("time_saved");
        Assert.Equal(
            expected.Select(x => (x.TaskType, x.Tasks, x.Minutes, x.Manual, x.Agent, x.Manual - x.Agent)),
            time.GetProperty("by_task_type").EnumerateArray().Select(r => (r.Str("task_type"), r.Long("tasks"), r.Long("minutes_per_task"), r.Dec("manual_hours"), r.Dec("agent_hours"), r.Dec("saved_hours"))));
        var (manual, agent) = (expected.Sum(x => x.Manual), expected.Sum(x => x.Agent));
        Assert.Equal((5L, manual, agent, manual - agent, Math.Round((manual - agent) * 100 / manual, 1, MidpointRounding.AwayFromZero)),
            (time.Long("tasks"), time.Dec("manual_hours"), time.Dec("agent_hours"), time.Dec("saved_hours"), time.Dec("saved_pct")));

        // Cache: 1 M reads at 3.00 - 0.30 saved 2.70; 200 k writes cost 0.75, 0.15 above plain input; net 2.55. "mystery" has no price.
        var cache = e.GetProperty("cache");
        Assert.Equal((1_000_000L, 200_000L, 2.7m, 0.75m, 0.15m, 2.55m),
            (cache.Long("cache_read_tokens"), cache.Long("cache_write_tokens"), cache.Dec("read_savings_usd"), cache.Dec("write_cost_usd"), cache.Dec("write_premium_usd"), cache.Dec("net_savings_usd")));
        Assert.Equal(["mystery"], cache.GetProperty("unpriced_models").EnumerateArray().Select(m => m.GetString()));

        // A filter narrows every figure: only the reviewer.
        var rev = (await app.SendAsync("GET", "/api/v1/metrics/efficiency?range=today&agent=rev", key: admin)).Body!.Value;
        Assert.Equal((2L, Hours(2 * 45 * 60_000m)), (rev.GetProperty("time_saved").Long("tasks"), rev.GetProperty("time_saved").Dec("manual_hours")));
        Assert.Equal(0m, rev.GetProperty("cache").Dec("net_savings_usd"));

        // Bad settings.
        var bad = await app.SendAsync("PUT", "/api/v1/settings/efficiency", new { minutes_per_task = 0 }, admin);
        Assert.Equal((400, "minutes_per_task"), (bad.Status, bad.Body!.Value.GetProperty("errors")[0].Str("field")));
        bad = await app.SendAsync("PUT", "/api/v1/settings/efficiency", new { minutes_per_task = 10, task_types = new { review = -5 } }, admin);
        Assert.Equal((400, "task_types.review"), (bad.Status, bad.Body!.Value.GetProperty("errors")[0].Str("field")));
    }
}
