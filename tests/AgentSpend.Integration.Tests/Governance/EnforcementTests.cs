using System.Text.Json;
using AgentSpend.Core.Governance;
using AgentSpend.Core.Storage;
using AgentSpend.Functions.Triggers;
using AgentSpend.Integration.Tests.Alerts;
using AgentSpend.Integration.Tests.Infrastructure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.Governance;

/// <summary>
/// Budgets enforced from aggregated usage: threshold alerts raised once, pauses that hold until the period rolls over
/// (in the workspace's timezone) or someone resumes, usage from paused agents flagged, reservations that bound
/// overshoot under concurrency, key budgets, and the unpriced-model and spend-spike alerts.
/// </summary>
public sealed class EnforcementTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task A_block_budget_alerts_once_per_threshold_pauses_its_agent_flags_late_usage_and_rolls_over_at_local_midnight()
    {
        var clock = new ShiftedClock();
        await using var app = await TestApp.StartAsync(azurite, clock: clock);
        var (ws, admin) = await app.CreateWorkspaceAsync(new { name = "pause-kolkata", timezone = "Asia/Kolkata" });
        var zone = TimeZoneInfo.FindSystemTimeZoneById("Asia/Kolkata");
        var at = DateTimeOffset.UtcNow.AddMinutes(-1);
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(at, zone).DateTime);
        var sent = 0;
        async Task Spend(string agent, decimal cost)
        {
            sent++;
            Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new { events = new[] { new { agent_name = agent, provider = "p", model = "m", timestamp = at.ToString("O"), cost_usd = cost, idempotency_key = $"e{sent}" } } }, admin)).Status);
            await app.WaitForEventsAsync(sent, Json.Day(today), Json.Day(today), key: admin);
        }

        await Spend("coder", 0.10m);
        var budget = (await app.SendAsync("POST", "/api/v1/budgets", new { scope = "agent", scope_value = "coder", metric = "cost_usd", period = "daily", limit = 1m, action = "block" }, admin)).Body!.Value.Str("id")!;

        // 0.80 of 1.00: the 50% and 80% thresholds, each once, however many batches follow.
        await Spend("coder", 0.70m);
        await Spend("reviewer", 0.01m);
        Assert.Equal([50, 80], await Eventually(() => ThresholdsAsync(app, ws, budget), t => t.Count == 2));
        Assert.Equal(200, (await app.SendAsync("POST", "/api/v1/check", new { agent_name = "coder", estimated_cost_usd = 0.1m }, admin)).Status);

        // The limit: the 100% alert, and the agent is paused until local midnight.
        await Spend("coder", 0.20m);
        Assert.Equal([50, 80, 100], await Eventually(() => ThresholdsAsync(app, ws, budget), t => t.Count == 3));
        var midnight = new DateTimeOffset(today.AddDays(1).ToDateTime(TimeOnly.MinValue), zone.GetUtcOffset(today.AddDays(1).ToDateTime(TimeOnly.MinValue)));
        // The pause is seen within a second, the budget's usage within a few.
        var paused = await Eventually(() => app.SendAsync("POST", "/api/v1/check", new { agent_name = "coder" }, admin), r => r.Body!.Value.Str("reason") == "agent_paused" && r.Body.Value.GetProperty("budget").Dec("used") == 1.00m);
        Assert.Equal((429, budget, 1.00m, midnight), (paused.Status, paused.Body!.Value.GetProperty("budget").Str("id"), paused.Body.Value.GetProperty("budget").Dec("used"), DateTimeOffset.Parse(paused.Body.Value.Str("resume_at")!)));
        Assert.Equal(200, (await app.SendAsync("POST", "/api/v1/check", new { agent_name = "reviewer" }, admin)).Status);
        var agents = (await app.SendAsync("GET", "/api/v1/agents", key: admin)).Body!.Value.GetProperty("agents").EnumerateArray().ToDictionary(a => a.Str("name")!, a => a.Str("status"));
        Assert.Equal("paused", agents["coder"]);

        // Usage that still arrives from the paused agent is counted, never dropped, and flagged; no alert is raised twice.
        await Spend("coder", 0.05m);
        var overview = await app.WaitForOverviewAsync(o => o.Long("held_events") == 1, Json.Day(today), Json.Day(today), key: admin);
        Assert.Equal((5L, 1.06m, 1L, 0.05m), (overview.Long("events"), overview.Dec("cost_usd"), overview.Long("held_events"), overview.Dec("held_cost_usd")));
        var events = (await app.SendAsync("GET", "/api/v1/events?agent=coder", key: admin)).Body!.Value.GetProperty("items").EnumerateArray()
            .Select(e => (e.Dec("cost_usd"), e.TryGetProperty("held", out var held) && held.ValueKind == JsonValueKind.String ? held.GetString() : null)).OrderBy(e => e.Item1).ToArray();
        Assert.Equal([(0.05m, "paused"), (0.10m, null), (0.20m, null), (0.70m, null)], events);
        Assert.Equal([50, 80, 100], await ThresholdsAsync(app, ws, budget));

        // Before midnight the timer lifts nothing; after it, two timers at once lift the pause once, and the new day has room.
        var controls = app.Services.GetRequiredService<AgentControls>();
        Assert.Equal(0, await controls.LiftRolledOverAsync(CancellationToken.None));
        clock.Offset = midnight - DateTimeOffset.UtcNow + TimeSpan.FromMinutes(1);
        var lifted = await Task.WhenAll(controls.LiftRolledOverAsync(CancellationToken.None), controls.LiftRolledOverAsync(CancellationToken.None));
        Assert.Equal(1, lifted.Sum());
        await app.Services.GetServices<ITimerFunction>().Single(f => f.Name == "BudgetPeriods").RunAsync(CancellationToken.None);
        var resumed = await Eventually(() => app.SendAsync("POST", "/api/v1/check", new { agent_name = "coder", estimated_cost_usd = 0.9m }, admin), r => r.Status == 200);
        Assert.Equal(1.00m, resumed.Body!.Value.GetProperty("remaining").Dec(budget));
    }

    [Fact]
    public async Task A_pause_in_force_stays_and_one_whose_period_ended_gives_way_to_the_next_before_the_timer_lifts_it()
    {
        var clock = new ShiftedClock();
        await using var app = await TestApp.StartAsync(azurite, clock: clock);
        var controls = app.Services.GetRequiredService<AgentControls>();
        var start = clock.GetUtcNow();

        Assert.True(await controls.PauseAsync("ws-pauses", "agent", "coder", "bud_a", start.AddMinutes(1), CancellationToken.None));
        Assert.False(await controls.PauseAsync("ws-pauses", "agent", "coder", "bud_b", start.AddHours(1), CancellationToken.None));

        clock.Offset = TimeSpan.FromMinutes(2);
        Assert.Null(await controls.FindStopAsync("ws-pauses", "coder", null, null, null, null, CancellationToken.None));
        Assert.True(await controls.PauseAsync("ws-pauses", "agent", "coder", "bud_b", start.AddHours(1), CancellationToken.None));
        var stop = await controls.FindStopAsync("ws-pauses", "coder", null, null, null, null, CancellationToken.None);
        Assert.Equal((ControlState.Paused, "bud_b", start.AddHours(1)), (stop!.State, stop.BudgetId, stop.Until!.Value));
        Assert.Equal(0, await controls.LiftRolledOverAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Fifty_concurrent_reserving_callers_never_take_a_budget_past_its_limit_and_matching_usage_releases_their_holds()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (ws, admin) = await app.CreateWorkspaceAsync(new { name = "reservations" });
        var budget = (await app.SendAsync("POST", "/api/v1/budgets", new { scope = "workspace", metric = "cost_usd", period = "daily", limit = 1m, action = "block" }, admin)).Body!.Value.Str("id")!;
        Task<Reply> Check(object body) => app.SendAsync("POST", "/api/v1/check", body, admin);

        // Fifty at once, each reserving 0.10 of 1.00: exactly ten fit.
        var replies = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Check(new { agent_name = "coder", estimated_cost_usd = 0.10m, reserve = true, run_id = $"run-{i}" })));
        var admitted = replies.Select((r, i) => (Reply: r, Run: $"run-{i}")).Where(x => x.Reply.Status == 200).ToArray();
        Assert.Equal(10, admitted.Length);
        Assert.All(replies.Where(r => r.Status != 200), r => Assert.Equal((429, "budget_exceeded"), (r.Status, r.Body!.Value.Str("reason"))));
        Assert.All(admitted, a => Assert.Equal([budget], a.Reply.Body!.Value.GetProperty("reservation").GetProperty("budget_ids").EnumerateArray().Select(b => b.GetString())));
        Assert.Equal(0.9m, admitted.Select(a => a.Reply.Body!.Value.GetProperty("remaining").Dec(budget)).Max());

        // A check that reserves nothing sees the holds too.
        Assert.Equal(429, (await Eventually(() => Check(new { agent_name = "other", estimated_cost_usd = 0.01m }), r => r.Status == 429)).Status);

        // Three of the admitted calls report usage as estimated: released, and the budget stands at 0.30 used + 0.70 held.
        var at = DateTimeOffset.UtcNow.AddMinutes(-1);
        var today = Json.Day(DateOnly.FromDateTime(at.UtcDateTime));
        object Usage(string run, decimal cost) => new { agent_name = "coder", provider = "p", model = "m", timestamp = at.ToString("O"), cost_usd = cost, run_id = run, idempotency_key = "u-" + run };
        Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new { events = admitted.Take(3).Select(a => Usage(a.Run, 0.10m)).ToArray() }, admin)).Status);
        await app.WaitForEventsAsync(3, today, today, key: admin);
        var reservations = app.Services.GetRequiredService<BudgetReservations>();
        Assert.Equal(7, (await Eventually(() => reservations.OpenAsync(ws, CancellationToken.None), o => o.Count == 7)).Count);
        var full = await Check(new { agent_name = "coder", estimated_cost_usd = 0.01m });
        Assert.Equal((429, 1.00m), (full.Status, full.Body!.Value.GetProperty("budget").Dec("used")));

        // The other seven cost less than estimated (0.05 each): 0.65 used, nothing held, 0.35 of room.
        Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new { events = admitted.Skip(3).Select(a => Usage(a.Run, 0.05m)).ToArray() }, admin)).Status);
        await app.WaitForEventsAsync(10, today, today, key: admin);
        Assert.Empty(await Eventually(() => reservations.OpenAsync(ws, CancellationToken.None), o => o.Count == 0));
        var room = await Eventually(() => Check(new { agent_name = "coder", estimated_cost_usd = 0.35m }), r => r.Status == 200);
        Assert.Equal(0.35m, room.Body!.Value.GetProperty("remaining").Dec(budget));
        var over = await Check(new { agent_name = "coder", estimated_cost_usd = 0.36m });
        Assert.Equal((429, 0.65m), (over.Status, over.Body!.Value.GetProperty("budget").Dec("used")));

        // A reservation that expires stops holding; one released by hand stops at once and cannot be released twice.
        var expiring = await Check(new { agent_name = "coder", estimated_cost_usd = 0.35m, reserve = true, reservation_ttl_seconds = 1 });
        Assert.Equal(200, expiring.Status);
        Assert.Equal(429, (await Check(new { agent_name = "coder", estimated_cost_usd = 0.01m, reserve = true })).Status);
        Assert.Equal(200, (await Eventually(() => Check(new { agent_name = "coder", estimated_cost_usd = 0.35m }), r => r.Status == 200)).Status);
        // (Released holds count on until checks measure usage taken after their release, so this may take a moment.)
        var manual = (await Eventually(() => Check(new { agent_name = "coder", estimated_cost_usd = 0.30m, reserve = true }), r => r.Status == 200)).Body!.Value.GetProperty("reservation").Str("id")!;
        Assert.Equal(204, (await app.SendAsync("DELETE", $"/api/v1/check/reservations/{manual}", key: admin)).Status);
        var twice = await app.SendAsync("DELETE", $"/api/v1/check/reservations/{manual}", key: admin);
        Assert.Equal((404, "id"), (twice.Status, twice.Body!.Value.GetProperty("errors")[0].Str("field")));

        // The sweep removes the expired reservation (its hold and its open row), once.
        Assert.Equal(2, await reservations.SweepAsync(CancellationToken.None));
        Assert.Equal(0, await reservations.SweepAsync(CancellationToken.None));

        // Clear errors.
        var ttl = await Check(new { agent_name = "coder", reserve = true, reservation_ttl_seconds = 0 });
        var ttlWithout = await Check(new { agent_name = "coder", reservation_ttl_seconds = 60 });
        Assert.Equal((400, "reservation_ttl_seconds"), (ttl.Status, ttl.Body!.Value.GetProperty("errors")[0].Str("field")));
        Assert.Equal((400, "reservation_ttl_seconds"), (ttlWithout.Status, ttlWithout.Body!.Value.GetProperty("errors")[0].Str("field")));
    }

    [Fact]
    public async Task A_key_budget_counts_only_that_keys_usage_pauses_that_key_and_resume_all_lifts_it_for_good()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, admin) = await app.CreateWorkspaceAsync(new { name = "key-budget" });
        var created = (await app.SendAsync("POST", "/api/v1/keys", new { name = "ci-bot", scopes = new[] { "ingest" } }, admin)).Body!.Value;
        var (botId, bot) = (created.Str("id")!, created.Str("key")!);
        var at = DateTimeOffset.UtcNow.AddMinutes(-1);
        var today = Json.Day(DateOnly.FromDateTime(at.UtcDateTime));
        var sent = 0;
        async Task Spend(string key)
        {
            sent++;
            Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new { events = new[] { new { agent_name = "coder", provider = "p", model = "m", timestamp = at.ToString("O"), cost_usd = 0.5m, idempotency_key = $"k{sent}" } } }, key)).Status);
            await app.WaitForEventsAsync(sent, today, today, key: admin);
        }

        var budget = await app.SendAsync("POST", "/api/v1/budgets", new { scope = "key", scope_value = botId, metric = "calls", period = "daily", limit = 2m, action = "block" }, admin);
        Assert.Equal(201, budget.Status);
        var unknownKey = await app.SendAsync("POST", "/api/v1/budgets", new { scope = "key", scope_value = "key_nope", metric = "calls", period = "daily", limit = 2m }, admin);
        Assert.Equal((400, "scope_value"), (unknownKey.Status, unknownKey.Body!.Value.GetProperty("errors")[0].Str("field")));

        await Spend(admin);
        await Spend(bot);
        await Spend(bot);
        var byKey = (await app.SendAsync("GET", $"/api/v1/metrics/overview?range=today&key={botId}", key: admin)).Body!.Value;
        Assert.Equal((2L, 1.00m), (byKey.Long("events"), byKey.Dec("cost_usd")));
        var usage = (await app.SendAsync("GET", $"/api/v1/budgets/{budget.Body!.Value.Str("id")}", key: admin)).Body!.Value.GetProperty("usage");
        Assert.Equal((2m, "exceeded"), (usage.Dec("used"), usage.Str("status")));

        // The key is paused: its checks are refused, the same agent with another key is not.
        var paused = await Eventually(() => app.SendAsync("POST", "/api/v1/check", new { agent_name = "coder" }, bot), r => r.Body!.Value.Str("reason") == "agent_paused");
        Assert.Equal(429, paused.Status);
        Assert.Equal(200, (await app.SendAsync("POST", "/api/v1/check", new { agent_name = "coder" }, admin)).Status);

        // Resume-all lifts the pause; the budget itself still refuses, and later usage does not pause the key again this period.
        Assert.Equal(204, (await app.SendAsync("POST", "/api/v1/agents/resume-all", key: admin)).Status);
        Assert.Equal("budget_exceeded", (await Eventually(() => app.SendAsync("POST", "/api/v1/check", new { agent_name = "coder" }, bot), r => r.Body!.Value.Str("reason") == "budget_exceeded")).Body!.Value.Str("reason"));
        await Spend(bot);
        await Task.Delay(1500);
        Assert.Equal("budget_exceeded", (await app.SendAsync("POST", "/api/v1/check", new { agent_name = "coder" }, bot)).Body!.Value.Str("reason"));
    }

    [Fact]
    public async Task An_unpriced_model_alerts_on_first_appearance_only_and_an_hour_above_three_times_the_trailing_mean_raises_a_spike()
    {
        // Half past an hour, so the test's events all fall in the same clock hour.
        var clock = new ShiftedClock();
        var now = DateTimeOffset.UtcNow;
        clock.Offset = TimeSpan.FromMinutes(30) - TimeSpan.FromTicks(now.UtcTicks % TimeSpan.TicksPerHour);
        await using var app = await TestApp.StartAsync(azurite, clock: clock);
        var (ws, admin) = await app.CreateWorkspaceAsync(new { name = "spikes" });
        var at = clock.GetUtcNow().AddMinutes(-1);
        var sent = 0;
        async Task Send(DateTimeOffset when, string model, decimal? cost)
        {
            sent++;
            Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new { events = new[] { new { agent_name = "coder", provider = "p", model, timestamp = when.ToString("O"), cost_usd = cost, input_tokens = 10, idempotency_key = $"s{sent}" } } }, admin)).Status);
            await app.WaitForEventsAsync(sent, Json.Day(DateOnly.FromDateTime(at.UtcDateTime.AddDays(-3))), Json.Day(DateOnly.FromDateTime(at.UtcDateTime)), key: admin);
        }

        // The trailing week: 1.68 over 168 hours, a mean of 0.01 an hour. This hour: 0.03 is not above 3x, 0.04 is.
        await Send(at.AddDays(-2), "m", 1.68m);
        await Send(at, "m", 0.03m);
        await Send(at, "mystery-model-x", null);
        await Send(at, "mystery-model-x", null);
        var alerts = await Eventually(() => AlertsAsync(app, ws), a => a.Count == 1);
        Assert.Equal(("unpriced_model", "mystery-model-x"), (alerts[0].Str("Kind"), alerts[0].Str("Model")));

        await Send(at, "m", 0.01m);
        alerts = await Eventually(() => AlertsAsync(app, ws), a => a.Count == 2);
        var spike = alerts.Single(a => a.Str("Kind") == "spend_spike").GetProperty("Spike");
        var hour = new DateTimeOffset(at.UtcDateTime.Date.AddHours(at.UtcDateTime.Hour), TimeSpan.Zero);
        Assert.Equal((hour, 0.04m, 0.01m, 3m), (DateTimeOffset.Parse(spike.Str("HourStart")!), spike.Dec("HourCostUsd"), spike.Dec("TrailingHourlyMeanUsd"), spike.Dec("Factor")));

        // Once per hour.
        await Send(at, "m", 0.50m);
        await Task.Delay(1000);
        Assert.Equal(2, (await AlertsAsync(app, ws)).Count);
    }

    [Fact]
    public async Task Usage_crossing_each_threshold_posts_each_alert_once_signed_to_the_workspace_webhook()
    {
        await using var receiver = await WebhookReceiver.StartAsync((_, _) => 200);
        await using var app = await TestApp.StartAsync(azurite);
        var (_, admin) = await app.CreateWorkspaceAsync(new { name = "thresholds-to-webhook" });
        var secret = (await app.SendAsync("POST", "/api/v1/alerts/webhooks", new { url = receiver.Url("/budgets") }, admin)).Body!.Value.Str("secret")!;
        var budget = (await app.SendAsync("POST", "/api/v1/budgets", new { name = "team spend", scope = "workspace", metric = "cost_usd", period = "daily", limit = 1m }, admin)).Body!.Value.Str("id")!;
        var at = DateTimeOffset.UtcNow.AddMinutes(-1);
        var today = Json.Day(DateOnly.FromDateTime(at.UtcDateTime));
        var costs = new[] { 0.40m, 0.30m, 0.05m, 0.35m, 0.20m };
        for (var i = 0; i < costs.Length; i++)
        {
            Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new { events = new[] { new { agent_name = "coder", provider = "p", model = "m", timestamp = at.ToString("O"), cost_usd = costs[i], idempotency_key = $"w{i}" } } }, admin)).Status);
            await app.WaitForEventsAsync(i + 1, today, today, key: admin);
        }

        // 0.40, 0.70 (50%), 0.75, 1.10 (80% and 100%), 1.30: three alerts, each posted once.
        await Eventually(() => Task.FromResult(receiver.Posts.Count), n => n >= 3);
        await Task.Delay(1500);
        var posts = receiver.Posts;
        Assert.Equal(3, posts.Count);
        Assert.All(posts, p => Assert.Equal(AlertTesting.ExpectedSignature(secret, p), p.Headers["X-AgentSpend-Signature"]));
        var bodies = posts.Select(p => JsonDocument.Parse(p.Body).RootElement).ToArray();
        Assert.Equal([(50L, 0.70m), (80L, 1.10m), (100L, 1.10m)], bodies.Select(b => (b.GetProperty("budget").Long("threshold"), b.GetProperty("budget").Dec("used"))).Order());
        Assert.All(bodies, b => Assert.Equal((budget, "budget_threshold"), (b.GetProperty("budget").Str("id"), b.Str("kind"))));

        var history = await Eventually(() => app.SendAsync("GET", "/api/v1/alerts?kind=budget_threshold", key: admin),
            r => r.Body!.Value.GetProperty("items").EnumerateArray().All(a => a.Str("status") == "delivered"));
        Assert.Equal(3, history.Body!.Value.GetProperty("items").GetArrayLength());
    }

    private static async Task<List<JsonElement>> AlertsAsync(TestApp app, string workspaceId)
    {
        var alerts = new List<JsonElement>();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {workspaceId} and RowKey ge {"a|"} and RowKey lt {"a}"}");
        await foreach (var row in app.Storage.GetTable(StorageNames.AlertsTable).QueryAsync(filter))
        {
            alerts.Add(JsonDocument.Parse(row.GetString("Alert")!).RootElement.Clone());
        }

        return alerts;
    }

    private static async Task<List<int>> ThresholdsAsync(TestApp app, string workspaceId, string budgetId) =>
        [.. (await AlertsAsync(app, workspaceId)).Where(a => a.Str("Kind") == "budget_threshold" && a.GetProperty("Budget").Str("Id") == budgetId)
            .Select(a => (int)a.GetProperty("Budget").Long("Threshold")).Order()];

    private static async Task<T> Eventually<T>(Func<Task<T>> read, Func<T, bool> done, int timeoutMs = 15_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (true)
        {
            var value = await read();
            if (done(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }

            await Task.Delay(100);
        }
    }
}
