using System.Text.Json;
using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Governance;

/// <summary>Budgets: CRUD, their usage over each kind of period from aggregated usage, thresholds, and clear errors.</summary>
public sealed class BudgetTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private sealed record Call(string Agent, string Team, TimeSpan Ago, decimal Cost, long Input);

    [Theory]
    [InlineData("Asia/Kathmandu")]
    [InlineData("UTC")]
    public async Task Each_period_counts_exactly_its_window_of_the_scopes_usage(string timezone)
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, admin) = await app.CreateWorkspaceAsync(new { name = "budgets-" + timezone.Replace('/', '-'), timezone });
        var zone = TimeZoneInfo.FindSystemTimeZoneById(timezone);
        var now = DateTimeOffset.UtcNow;
        Call[] calls =
        [
            new("coder", "core", TimeSpan.FromMinutes(5), 1.00m, 100),
            new("coder", "core", TimeSpan.FromHours(3), 2.00m, 200),
            new("coder", "core", TimeSpan.FromHours(7), 4.00m, 400),
            new("coder", "core", TimeSpan.FromDays(3), 8.00m, 800),
            new("coder", "core", TimeSpan.FromDays(12), 16.00m, 1_600),
            new("reviewer", "web", TimeSpan.FromMinutes(10), 0.50m, 50),
            new("reviewer", "web", TimeSpan.FromDays(40), 32.00m, 3_200),
        ];
        Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new
        {
            events = calls.Select((c, i) => new { agent_name = c.Agent, team = c.Team, provider = "p", model = "m", timestamp = (now - c.Ago).ToString("O"), input_tokens = c.Input, cost_usd = c.Cost, idempotency_key = $"b{i}" }).ToArray(),
        }, admin)).Status);
        DateOnly LocalDay(DateTimeOffset at) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(at, zone).DateTime);
        var today = LocalDay(now);
        await app.WaitForEventsAsync(calls.Length, Json.Day(today.AddDays(-60)), Json.Day(today), key: admin);

        var monday = today.AddDays(-(((int)today.DayOfWeek + 6) % 7));
        var firstOfMonth = new DateOnly(today.Year, today.Month, 1);
        var currentHour = new DateTimeOffset(now.UtcDateTime.Date.AddHours(now.UtcDateTime.Hour), TimeSpan.Zero);
        Func<Call, bool> InDays(Func<DateOnly, bool> days) => c => days(LocalDay(now - c.Ago));
        var cases = new (object Body, Func<Call, bool> Counts, Func<IEnumerable<Call>, decimal> Measure)[]
        {
            (new { scope = "agent", scope_value = "coder", metric = "cost_usd", period = "daily", limit = 10m }, c => c.Agent == "coder" && InDays(d => d == today)(c), cs => cs.Sum(c => c.Cost)),
            (new { scope = "team", scope_value = "core", metric = "tokens", period = "weekly", limit = 1000m }, c => c.Team == "core" && InDays(d => d >= monday)(c), cs => cs.Sum(c => c.Input)),
            (new { scope = "workspace", metric = "calls", period = "monthly", limit = 4m }, InDays(d => d >= firstOfMonth), cs => cs.Count()),
            (new { scope = "workspace", metric = "cost_usd", period = "total", limit = 50m }, _ => true, cs => cs.Sum(c => c.Cost)),
            (new { scope = "agent", scope_value = "coder", metric = "cost_usd", period = "rolling_5h", limit = 4m }, c => c.Agent == "coder" && now - c.Ago >= currentHour.AddHours(-4), cs => cs.Sum(c => c.Cost)),
        };
        var ids = new List<string>();
        foreach (var (body, counts, measure) in cases)
        {
            var created = await app.SendAsync("POST", "/api/v1/budgets", body, admin);
            Assert.True(created.Status == 201, created.Text);
            var budget = created.Body!.Value;
            ids.Add(budget.Str("id")!);
            var used = measure(calls.Where(counts));
            var limit = budget.Dec("limit");
            var usage = budget.GetProperty("usage");
            Assert.Equal(used, usage.Dec("used"));
            Assert.Equal(Math.Round(used * 100 / limit, 1, MidpointRounding.AwayFromZero), usage.Dec("used_pct"));
            var reached = new[] { 50, 80, 100 }.Where(t => used * 100 >= t * limit).Select(t => (int?)t).Max();
            Assert.Equal(used >= limit ? "exceeded" : reached is null ? "ok" : "warning", usage.Str("status"));
            Assert.Equal((reached ?? 0), usage.GetProperty("threshold_reached").ValueKind == JsonValueKind.Null ? 0 : usage.Long("threshold_reached"));
        }

        // Calendar periods start at local midnight, Monday and the first of the month; total has no bounds.
        DateTimeOffset Start(DateOnly day) => new(day.ToDateTime(TimeOnly.MinValue), zone.GetUtcOffset(day.ToDateTime(TimeOnly.MinValue)));
        var list = (await app.SendAsync("GET", "/api/v1/budgets", key: admin)).Body!.Value.GetProperty("items").EnumerateArray().ToArray();
        Assert.Equal(ids, list.Select(b => b.Str("id")));
        Assert.Equal(
            [Start(today), Start(monday), Start(firstOfMonth), (DateTimeOffset?)null, currentHour.AddHours(-4)],
            list.Select(b => b.GetProperty("usage").GetProperty("period_start") is { ValueKind: JsonValueKind.String } s ? DateTimeOffset.Parse(s.GetString()!) : (DateTimeOffset?)null));

        // The overview sums the budgets up, the most used first; the agents list shows each agent's tightest budget.
        var overview = (await app.SendAsync("GET", "/api/v1/metrics/overview?range=today", key: admin)).Body!.Value.GetProperty("budgets");
        var standings = list.Select(b => (Id: b.Str("id")!, Pct: b.GetProperty("usage").Dec("used_pct"), Status: b.GetProperty("usage").Str("status")!)).ToArray();
        Assert.Equal((5L, standings.Count(s => s.Status == "ok"), standings.Count(s => s.Status == "warning"), standings.Count(s => s.Status == "exceeded")),
            (overview.Long("total"), (int)overview.Long("ok"), (int)overview.Long("warning"), (int)overview.Long("exceeded")));
        Assert.Equal(standings.OrderByDescending(s => s.Pct).ThenBy(s => s.Id, StringComparer.Ordinal).Select(s => s.Id), overview.GetProperty("most_used").EnumerateArray().Select(i => i.Str("id")));
        var agents = (await app.SendAsync("GET", "/api/v1/agents", key: admin)).Body!.Value.GetProperty("agents").EnumerateArray().ToDictionary(a => a.Str("name")!);
        Assert.Equal(standings.Where((_, i) => i is 0 or 4).Max(s => s.Pct), agents["coder"].Dec("budget_used_pct")); // its daily and rolling_5h budgets
        Assert.Equal(JsonValueKind.Null, agents["reviewer"].GetProperty("budget_used_pct").ValueKind);

        // Replace, read back, delete.
        var put = await app.SendAsync("PUT", $"/api/v1/budgets/{ids[0]}", new { name = "coder daily", scope = "agent", scope_value = "coder", metric = "cost_usd", period = "daily", limit = 2m, action = "block", thresholds = new[] { 25, 100 } }, admin);
        Assert.Equal(200, put.Status);
        var read = (await app.SendAsync("GET", $"/api/v1/budgets/{ids[0]}", key: admin)).Body!.Value;
        // Just after local midnight the day holds less: the expected standing comes from the calls, as above.
        var coderToday = cases[0].Measure(calls.Where(cases[0].Counts));
        var expected = coderToday >= 2m ? "exceeded" : coderToday * 100 >= 25 * 2m ? "warning" : "ok";
        Assert.Equal(("coder daily", "block", 2m, expected), (read.Str("name"), read.Str("action"), read.Dec("limit"), read.GetProperty("usage").Str("status")));
        Assert.Equal([25, 100], read.GetProperty("thresholds").EnumerateArray().Select(t => t.GetInt32()));
        Assert.Equal(204, (await app.SendAsync("DELETE", $"/api/v1/budgets/{ids[0]}", key: admin)).Status);
        Assert.Equal(404, (await app.SendAsync("GET", $"/api/v1/budgets/{ids[0]}", key: admin)).Status);
    }

    [Theory]
    [InlineData("""{"scope":"planet","metric":"cost_usd","period":"daily","limit":1}""", "scope", "'planet' is not a scope; use workspace, team, user, agent, model or key.")]
    [InlineData("""{"scope":"workspace","metric":"cost_usd","period":"daily","limit":-5}""", "limit", "must be a positive number (at most 10^12).")]
    [InlineData("""{"scope":"workspace","metric":"cost_usd","period":"fortnightly","limit":1}""", "period", "'fortnightly' is not a period; use daily, weekly, monthly, total or rolling_5h.")]
    [InlineData("""{"scope":"agent","scope_value":"a\u0007b","metric":"cost_usd","period":"daily","limit":1}""", "scope_value", "must be at most 256 characters, without control characters.")]
    [InlineData("""{"scope":"team","metric":"cost_usd","period":"daily","limit":1}""", "scope_value", "names the team the budget is for; it is required.")]
    [InlineData("""{"scope":"workspace","metric":"dollars","period":"daily","limit":1}""", "metric", "'dollars' is not a metric; use cost_usd, tokens or calls.")]
    [InlineData("""{"scope":"workspace","metric":"calls","period":"daily","limit":1,"action":"panic"}""", "action", "'panic' is not an action; use alert or block.")]
    [InlineData("""{"scope":"workspace","metric":"calls","period":"daily","limit":1,"thresholds":[80,50]}""", "thresholds", "must be 1 to 10 percentages from 1 to 1000, in ascending order.")]
    public async Task Bad_budgets_are_refused_naming_the_field(string body, string field, string reason)
    {
        await using var app = await TestApp.StartAsync(azurite);
        using var client = app.CreateClient(TestApp.AdminKey);
        using var response = await client.PostAsync("/api/v1/budgets", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(400, (int)response.StatusCode);
        Assert.Equal((field, reason), (problem.GetProperty("errors")[0].Str("field"), problem.GetProperty("errors")[0].Str("reason")));
    }
}
