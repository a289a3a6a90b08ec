using System.Globalization;
using System.Text;
using AgentSpend.Core.Serialization;

namespace AgentSpend.Core.Metrics;

/// <summary>Timeseries and breakdowns as CSV, one row per point or value, the columns named as in JSON.</summary>
public static class MetricsCsv
{
    private static readonly string[] Columns =
    [
        "events", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "cost_usd",
        "estimated_cost_usd", "unpriced_events", "server_priced_events", "successes", "failures", "duration_ms", "baseline_tokens",
    ];

    public static string Of(Timeseries series)
    {
        var csv = Csv.AppendLine(new StringBuilder(), [series.Granularity == "hour" ? "hour" : "date", .. Columns]);
        foreach (var point in series.Points)
        {
            Csv.AppendLine(csv, [point.Date ?? point.Hour ?? "", .. Values(point)]);
        }

        return csv.ToString();
    }

    public static string Of(Breakdown breakdown)
    {
        var csv = Csv.AppendLine(new StringBuilder(), [breakdown.By, .. Columns]);
        foreach (var item in breakdown.Other is { } other ? [.. breakdown.Items, other] : breakdown.Items)
        {
            Csv.AppendLine(csv, [item.Key ?? "", .. Values(item)]);
        }

        return csv.ToString();
    }

    private static string[] Values(UsageTotals t) =>
    [
        N(t.Events), N(t.InputTokens), N(t.OutputTokens), N(t.CacheReadTokens), N(t.CacheWriteTokens), N(t.ReasoningTokens),
        t.CostUsd.ToString(CultureInfo.InvariantCulture), t.EstimatedCostUsd.ToString(CultureInfo.InvariantCulture),
        N(t.UnpricedEvents), N(t.ServerPricedEvents), N(t.Successes), N(t.Failures), N(t.DurationMs), N(t.BaselineTokens),
    ];

    private static string N(long value) => value.ToString(CultureInfo.InvariantCulture);
}
