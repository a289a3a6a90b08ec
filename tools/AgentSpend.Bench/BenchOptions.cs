using System.Globalization;

namespace AgentSpend.Bench;

internal sealed record BenchOptions(
    int Events, int Days, int Agents, int Models, int Batch, int Concurrency, int RawEntities, int RawConcurrency, int QueryIterations, int Checks, int CheckClients, string ConnectionString, string RawConnectionString)
{
    /// <summary>uniform: independent random events (the first benchmark's); realistic: runs of ~20 events, sessions, users, teams, a tag, every token kind.</summary>
    public string WorkloadKind { get; init; } = "uniform";

    public static BenchOptions Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"Expected '--name value' pairs, got '{args[i]}'.");
            }

            values[args[i][2..]] = args[i + 1];
        }

        int Int(string name, int fallback) =>
            values.Remove(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

        var options = new BenchOptions(
            Int("events", 200_000), Int("days", 30), Int("agents", 50), Int("models", 10),
            Int("batch", 1000), Int("concurrency", 8), Int("raw-entities", 20_000), Int("raw-concurrency", 4),
            Int("query-iterations", 200), Int("checks", 60_000), Int("check-clients", 64),
            values.Remove("connection-string", out var cs) ? cs : throw new ArgumentException("--connection-string is required."),
            values.Remove("raw-connection-string", out var raw) ? raw : cs);
        options = options with { WorkloadKind = values.Remove("workload", out var kind) ? kind : "uniform" };
        if (options.WorkloadKind is not ("uniform" or "realistic"))
        {
            throw new ArgumentException("--workload must be uniform or realistic.");
        }

        if (values.Count > 0)
        {
            throw new ArgumentException($"Unknown options: {string.Join(", ", values.Keys)}.");
        }

        // Zero iterations would leave no samples to take percentiles of.
        return options.QueryIterations > 0 ? options : throw new ArgumentException("--query-iterations must be at least 1.");
    }
}
