namespace AgentSpend.Bench;

/// <summary>Deterministic events and the totals they must add up to.</summary>
internal sealed class Workload
{
    private static readonly string[] Providers = ["anthropic", "openai", "google"];

    public Workload(BenchOptions options, DateTimeOffset now)
    {
        var first = now.UtcDateTime.Date.AddDays(-(options.Days - 1));
        FirstDay = DateOnly.FromDateTime(first);
        LastDay = DateOnly.FromDateTime(now.UtcDateTime);
        Events = new object[options.Events];
        if (options.WorkloadKind == "realistic")
        {
            Realistic(options, first, now.UtcDateTime);
        }
        else
        {
            Uniform(options, first, now.UtcDateTime);
        }
    }

    /// <summary>
    /// Traffic shaped like real agents': runs of about 20 calls a few seconds apart (one agent, user, team, model
    /// and repo each), sessions of about five runs, 12 users in 3 teams, a tag with 100 values, every token kind,
    /// and events sent in the order they happened, so that a batch holds the calls of the runs going on at once.
    /// </summary>
    private void Realistic(BenchOptions options, DateTime first, DateTime now)
    {
        var random = new Random(20261204);
        var span = (now - first).Ticks - TimeSpan.FromHours(2).Ticks; // a session lasts at most about an hour
        var events = new List<(DateTime At, object Event)>(options.Events);
        var i = 0;
        var start = first;
        var user = 0;
        for (var r = 0; i < options.Events; r++)
        {
            if (r % 5 == 0)
            {
                // A new session: one user's five runs, one after another.
                user = random.Next(12);
                start = first.AddTicks((long)(random.NextDouble() * span));
            }

            var agent = $"agent-{random.Next(options.Agents):D2}";
            var model = random.Next(options.Models);
            var repo = $"repo-{random.Next(100):D2}";
            var session = $"session-{r / 5}";
            start = start.AddMinutes(random.Next(1, 5));
            var calls = Math.Min(options.Events - i, random.Next(15, 26));
            var at = start;
            for (var c = 0; c < calls; c++, i++)
            {
                var input = random.Next(0, 20_000);
                var output = random.Next(0, 4_000);
                var cacheRead = random.Next(0, 50_000);
                var cacheWrite = random.Next(0, 5_000);
                var reasoning = random.Next(0, 2_000);
                decimal? cost = random.Next(10) == 0 ? null : random.Next(1, 5_000_000) / 1_000_000m;
                at = at.AddSeconds(random.Next(2, 20));
                events.Add((at, new
                {
                    agent_name = agent,
                    provider = Providers[model % Providers.Length],
                    model = $"model-{model:D2}",
                    timestamp = new DateTimeOffset(at, TimeSpan.Zero).ToString("O"),
                    input_tokens = input,
                    output_tokens = output,
                    cache_read_tokens = cacheRead,
                    cache_write_tokens = cacheWrite,
                    reasoning_tokens = reasoning,
                    cost_usd = cost,
                    user_id = $"user-{user:D2}",
                    team = $"team-{user % 3}",
                    run_id = $"run-{r}",
                    session_id = session,
                    task_type = "coding",
                    task_success = random.Next(4) != 0,
                    duration_ms = random.Next(100, 60_000),
                    tags = new Dictionary<string, string> { ["repo"] = repo },
                    idempotency_key = $"bench-{i}",
                }));
                Count(agent, input, output, cacheRead, cacheWrite, reasoning, cost);
                var key = (DateOnly.FromDateTime(at), $"model-{model:D2}");
                PerDayModel[key] = PerDayModel.GetValueOrDefault(key) + 1;
            }

            start = at;
        }

        var ordered = events.OrderBy(e => e.At).Select(e => e.Event).ToArray();
        Array.Copy(ordered, Events, ordered.Length);
    }

    private void Count(string agent, long input, long output, long cacheRead, long cacheWrite, long reasoning, decimal? cost)
    {
        Expected.Events++;
        Expected.Input += input;
        Expected.Output += output;
        Expected.CacheRead += cacheRead;
        Expected.CacheWrite += cacheWrite;
        Expected.Reasoning += reasoning;
        Expected.Cost += cost ?? 0;
        Expected.Unpriced += cost is null ? 1 : 0;
        PerAgent[agent] = PerAgent.GetValueOrDefault(agent) + 1;
    }

    private void Uniform(BenchOptions options, DateTime first, DateTime now)
    {
        var random = new Random(20261122);
        var span = (now - first).Ticks;
        for (var i = 0; i < options.Events; i++)
        {
            var model = random.Next(options.Models);
            var agent = $"agent-{random.Next(options.Agents):D2}";
            var input = random.Next(0, 20_000);
            var output = random.Next(0, 4_000);
            var cacheRead = random.Next(0, 50_000);
            decimal? cost = random.Next(10) == 0 ? null : random.Next(1, 5_000_000) / 1_000_000m;
            Events[i] = new
            {
                agent_name = agent,
                provider = Providers[model % Providers.Length],
                model = $"model-{model:D2}",
                timestamp = new DateTimeOffset(first.AddTicks((long)(random.NextDouble() * span)), TimeSpan.Zero).ToString("O"),
                input_tokens = input,
                output_tokens = output,
                cache_read_tokens = cacheRead,
                cost_usd = cost,
                user_id = $"user-{random.Next(20):D2}",
                team = $"team-{random.Next(5)}",
                task_success = random.Next(4) != 0,
                duration_ms = random.Next(100, 60_000),
                idempotency_key = $"bench-{i}",
            };
            Count(agent, input, output, cacheRead, 0, 0, cost);
        }
    }

    public object[] Events { get; }

    public DateOnly FirstDay { get; }

    public DateOnly LastDay { get; }

    public Totals Expected { get; } = new();

    public Dictionary<string, long> PerAgent { get; } = new(StringComparer.Ordinal);

    /// <summary>Events per UTC day and model (realistic workload only).</summary>
    public Dictionary<(DateOnly Day, string Model), long> PerDayModel { get; } = [];

    internal sealed record Totals
    {
        public long Events { get; set; }
        public long Input { get; set; }
        public long Output { get; set; }
        public long CacheRead { get; set; }
        public long CacheWrite { get; set; }
        public long Reasoning { get; set; }
        public decimal Cost { get; set; }
        public long Unpriced { get; set; }
    }
}
