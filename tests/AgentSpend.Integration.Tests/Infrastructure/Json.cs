using System.Globalization;
using System.Text.Json;

namespace AgentSpend.Integration.Tests.Infrastructure;

internal static class Json
{
    public static long Long(this JsonElement e, string name) => e.GetProperty(name).GetInt64();

    public static decimal Dec(this JsonElement e, string name) => e.GetProperty(name).GetDecimal();

    public static string? Str(this JsonElement e, string name) => e.GetProperty(name).GetString();

    /// <summary>The counters of a metrics answer in a fixed order, for one-line exact comparisons.</summary>
    public static (long Events, long In, long Out, long CacheRead, long CacheWrite, long Reasoning, decimal Cost, long Unpriced, long Ok, long Failed, long Duration) Totals(this JsonElement e) =>
        (e.Long("events"), e.Long("input_tokens"), e.Long("output_tokens"), e.Long("cache_read_tokens"), e.Long("cache_write_tokens"),
         e.Long("reasoning_tokens"), e.Dec("cost_usd"), e.Long("unpriced_events"), e.Long("successes"), e.Long("failures"), e.Long("duration_ms"));

    public static string Day(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
