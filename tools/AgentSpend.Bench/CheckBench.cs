using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace AgentSpend.Bench;

/// <summary>
/// Drives POST /api/v1/check with concurrent clients while 100 block budgets are in force (the workspace's, and
/// those of 20 teams, 20 users, 50 agents and 9 models), over usage of every one of them. Prints throughput and
/// latency percentiles against the targets (3,000 checks/s; p99 10 ms).
/// </summary>
internal static class CheckBench
{
    private const int Agents = 50;

    public static async Task<bool> RunAsync(HttpClient http, int clients, int checks)
    {
        // Usage for every agent, team, user and model, so that each budget has something to measure.
        var now = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O");
        var events = Enumerable.Range(0, 1000).Select(i => new
        {
            agent_name = $"agent-{i % Agents:D2}", provider = "p", model = $"model-{i % 9}", team = $"team-{i % 20}", user_id = $"user-{i % 20}",
            timestamp = now, input_tokens = 100, cost_usd = 0.001m, idempotency_key = $"check-bench-{i}",
        }).ToArray();
        using (var ingest = await http.PostAsJsonAsync("/api/v1/ingest", new { events }))
        {
            ingest.EnsureSuccessStatusCode();
        }

        await WaitForAgentsAsync(http);
        var budgets = new List<object> { new { scope = "workspace", metric = "cost_usd", period = "monthly", limit = 1_000_000m, action = "block" } };
        budgets.AddRange(Enumerable.Range(0, 20).Select(i => (object)new { scope = "team", scope_value = $"team-{i}", metric = "tokens", period = "daily", limit = 1e12m, action = "block" }));
        budgets.AddRange(Enumerable.Range(0, 20).Select(i => (object)new { scope = "user", scope_value = $"user-{i}", metric = "calls", period = "weekly", limit = 1e9m, action = "block" }));
        budgets.AddRange(Enumerable.Range(0, Agents).Select(i => (object)new { scope = "agent", scope_value = $"agent-{i:D2}", metric = "cost_usd", period = "rolling_5h", limit = 1e6m, action = "block" }));
        budgets.AddRange(Enumerable.Range(0, 9).Select(i => (object)new { scope = "model", scope_value = $"model-{i}", metric = "cost_usd", period = "total", limit = 1e6m, action = "block" }));
        foreach (var budget in budgets)
        {
            using var created = await http.PostAsJsonAsync("/api/v1/budgets", budget);
            if (created.StatusCode != HttpStatusCode.Created)
            {
                Console.WriteLine($"check: FAILED to create a budget: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync()}");
                return false;
            }
        }

        var bodies = Enumerable.Range(0, 997).Select(i => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            agent_name = $"agent-{i % Agents:D2}", team = $"team-{i % 20}", user_id = $"user-{i % 20}", model = $"model-{i % 9}", estimated_cost_usd = 0.01m,
        }))).ToArray();

        // Warm-up: the first check of the workspace reads every budget's usage.
        for (var i = 0; i < 200; i++)
        {
            await CheckAsync(http, bodies[i % bodies.Length]);
        }

        var latencies = new double[checks];
        var next = -1;
        var failures = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            for (var i = Interlocked.Increment(ref next); i < checks; i = Interlocked.Increment(ref next))
            {
                var start = Stopwatch.GetTimestamp();
                if (!await CheckAsync(http, bodies[i % bodies.Length]))
                {
                    Interlocked.Increment(ref failures);
                }

                latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
        }));
        var seconds = clock.Elapsed.TotalSeconds;
        Array.Sort(latencies);
        double Percentile(int pct) => latencies[Math.Max(1, ((pct * latencies.Length) + 99) / 100) - 1];
        var rate = checks / seconds;
        Console.WriteLine($"check: {rate:F0} checks/s ({checks} checks, {clients} clients, {budgets.Count} block budgets, {seconds:F2} s; target >= 3,000/s: {(rate >= 3000 ? "met" : "NOT met")})");
        Console.WriteLine($"check latency: p50 {Percentile(50):F2} ms, p99 {Percentile(99):F2} ms, max {latencies[^1]:F2} ms (target p99 <= 10 ms: {(Percentile(99) <= 10 ? "met" : "NOT met")})");
        if (failures > 0)
        {
            Console.WriteLine($"check: {failures} checks were not allowed though every budget had room: WRONG");
        }

        return failures == 0;
    }

    private static async Task<bool> CheckAsync(HttpClient http, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await http.PostAsync("/api/v1/check", content);
        await response.Content.ReadAsByteArrayAsync();
        return response.StatusCode == HttpStatusCode.OK;
    }

    private static async Task WaitForAgentsAsync(HttpClient http)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            using var response = await http.GetAsync("/api/v1/metrics/overview?range=today");
            var overview = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            if (overview.GetProperty("events").GetInt64() >= 1000)
            {
                return;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException("The check benchmark's usage was not counted within 60 s.");
    }
}
