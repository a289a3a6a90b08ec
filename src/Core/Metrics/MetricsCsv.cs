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

    /// <summary>One row per point; with a split, one row per point and series, the series' key after the date.</summary>
    public static string Of(Timeseries series)
    {
        var time = series.Granularity == "hour" ? "hour" : "date";
        if (series.Series is { } split)
        {
            var rows = Csv.AppendLine(new StringBuilder(), [time, series.Split!, .. Columns]);
            for (var i = 0; i < series.Points.Count; i++)
            {
                foreach (var s in split)
                {
                    var point = s.Points[i];
                    Csv.AppendLine(rows, [point.Date ?? point.Hour ?? "", s.Key ?? "", .. Values(point)]);
                }
            }

            return rows.ToString();
        }

        var csv = Csv.AppendLine(new StringBuilder(), [time, .. Columns]);
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
