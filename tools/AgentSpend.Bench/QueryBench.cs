using System.Diagnostics;
using System.Net;

namespace AgentSpend.Bench;

/// <summary>
/// Query latency over the data the end-to-end run ingested: per endpoint, a few warm-up requests, then
/// --query-iterations sequential requests, each timed from sending to the last byte of the body read.
/// Prints p50, p95 and max (nearest rank) a line per endpoint. Any status other than 200 is a failure;
/// a missed latency target is only reported.
/// </summary>
internal static class QueryBench
{
    // Enough to JIT the endpoint's code path and open the connection, so the samples time the query alone.
    private const int WarmUps = 5;

    private const string OverviewPath = "/api/v1/metrics/overview?range=30d";

    // The workload spans --days (default 30) ending today, so 90d ranges also read days without events:
    // that is what a 90-day dashboard asks for.
    private static readonly Query[] Queries =
    [
        new("overview 30d", OverviewPath, TargetP95Ms: 50),
        new("timeseries day 90d", "/api/v1/metrics/timeseries?granularity=day&range=90d", TargetP95Ms: 100),
        new("breakdown agent 90d", "/api/v1/metrics/breakdown?by=agent&range=90d", TargetP95Ms: 150),
        new("agents", "/api/v1/agents", TargetP95Ms: 150),
        new("overview 30d agent=agent-07", OverviewPath + "&agent=agent-07"),
        new("breakdown model 30d team=team-1", "/api/v1/metrics/breakdown?by=model&range=30d&team=team-1"),
    ];

    /// <summary>Measures every query, even after one fails, so that one missing endpoint hides no figures.</summary>
    /// <returns>Whether every response was 200.</returns>
    public static async Task<bool> RunAsync(HttpClient http, BenchOptions options)
    {
        var ok = true;
        foreach (var query in Queries)
        {
            ok &= await MeasureAsync(http, query, options.QueryIterations);
        }

        return ok;
    }

    private static async Task<bool> MeasureAsync(HttpClient http, Query query, int iterations)
    {
        var samples = new double[iterations];
        try
        {
            for (var i = 0; i < WarmUps; i++)
            {
                await GetAsync(http, query.Path);
            }

            for (var i = 0; i < iterations; i++)
            {
                var start = Stopwatch.GetTimestamp();
                await GetAsync(http, query.Path);
                samples[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
        }
        catch (Exception ex) when (ex is QueryFailedException or HttpRequestException or TaskCanceledException)
        {
            Console.WriteLine($"query {query.Name}: FAILED: {ex.Message}");
            return false;
        }

        Array.Sort(samples);
        var p95 = Percentile(samples, 95);
        var verdict = query.TargetP95Ms is { } target ? $"; target p95 <= {target} ms: {(p95 <= target ? "met" : "NOT met")}" : string.Empty;
        Console.WriteLine($"query {query.Name}: p50 {Percentile(samples, 50):F1} ms, p95 {p95:F1} ms, max {samples[^1]:F1} ms ({iterations} requests{verdict})");
        return true;
    }

    /// <summary>Nearest rank: the smallest sample with at least <paramref name="percent"/>% of samples at or below it.</summary>
    /// <remarks>Whole-number arithmetic, so that 95% of 200 is rank 190 and not 191 by a rounding error.</remarks>
    private static double Percentile(double[] sorted, int percent) =>
        sorted[Math.Max(1, ((percent * sorted.Length) + 99) / 100) - 1];

    private static async Task<string> GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        return response.StatusCode == HttpStatusCode.OK
            ? body
            : throw new QueryFailedException($"GET {path} returned {(int)response.StatusCode} {response.StatusCode}: {body[..Math.Min(300, body.Length)]}");
    }

    private sealed record Query(string Name, string Path, int? TargetP95Ms = null);

    private sealed class QueryFailedException(string message) : Exception(message);
}
