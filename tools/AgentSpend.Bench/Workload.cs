namespace AgentSpend.Bench;

/// <summary>Deterministic events and the totals they must add up to.</summary>
internal sealed class Workload
{
    private static readonly string[] Providers = ["anthropic", "openai", "google"];

    public Workload(BenchOptions options, DateTimeOffset now)
    {
        var random = new Random(20261122);
        var first = now.UtcDateTime.Date.AddDays(-(options.Days - 1));
        FirstDay = DateOnly.FromDateTime(first);
        LastDay = DateOnly.FromDateTime(now.UtcDateTime);
        var span = (now.UtcDateTime - first).Ticks;
        Events = new object[options.Events];
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
            Expected.Events++;
            Expected.Input += input;
            Expected.Output += output;
            Expected.CacheRead += cacheRead;
            Expected.Cost += cost ?? 0;
            Expected.Unpriced += cost is null ? 1 : 0;
            PerAgent[agent] = PerAgent.GetValueOrDefault(agent) + 1;
        }
    }

    public object[] Events { get; }

    public DateOnly FirstDay { get; }

    public DateOnly LastDay { get; }

    public Totals Expected { get; } = new();

    public Dictionary<string, long> PerAgent { get; } = new(StringComparer.Ordinal);

    internal sealed record Totals
    {
        public long Events { get; set; }
        public long Input { get; set; }
        public long Output { get; set; }
        public long CacheRead { get; set; }
        public decimal Cost { get; set; }
        public long Unpriced { get; set; }
    }
}
