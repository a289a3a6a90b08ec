using System.Globalization;
using AgentSpend.Core.Domain;
using AgentSpend.Core.Workspaces;

namespace AgentSpend.Core.Metrics;

public enum Granularity
{
    Day,
    Hour,

    /// <summary>Local weeks, Monday to Sunday, each point dated by its Monday.</summary>
    Week,

    /// <summary>Local calendar months, each point dated by its first day.</summary>
    Month,
}

/// <summary>A validated request for metrics: inclusive workspace-local days.</summary>
public sealed record MetricsRange(DateOnly From, DateOnly To)
{
    public const int DefaultDays = 30;
    public const int MaxDays = 400;
    public const int MaxHourlyDays = 14;

    public int Days => To.DayNumber - From.DayNumber + 1;

    public IEnumerable<DateOnly> EachDay() => Enumerable.Range(0, Days).Select(From.AddDays);

    /// <summary>The named ranges, all of workspace-local days ending today (yesterday ends yesterday).</summary>
    public static readonly IReadOnlyList<string> Names = ["today", "yesterday", "7d", "30d", "90d", "mtd", "custom"];

    /// <summary>How the range was asked for: one of <see cref="Names"/>.</summary>
    public string Name { get; init; } = "custom";

    /// <summary>
    /// The period this one is compared with: as many days, just before it; for month-to-date, the same days
    /// of the month before (cut at that month's end, so March 1–31 compares with February 1–28).
    /// </summary>
    public MetricsRange Previous()
    {
        if (Name == "mtd")
        {
            var monthBefore = From.AddMonths(-1);
            var end = new DateOnly(monthBefore.Year, monthBefore.Month, Math.Min(To.Day, DateTime.DaysInMonth(monthBefore.Year, monthBefore.Month)));
            return new MetricsRange(monthBefore, end) { Name = Name };
        }

        return new MetricsRange(From.AddDays(-Days), From.AddDays(-1)) { Name = Name };
    }

    /// <summary>
    /// Reads <c>range</c> (<see cref="Names"/>) with <c>from</c>/<c>to</c>: a named range takes neither; <c>custom</c>
    /// (or no <c>range</c>) takes them as <see cref="Parse"/> does. Errors name the parameter.
    /// </summary>
    public static MetricsRange Resolve(string? range, string? from, string? to, Workspace workspace, TimeProvider clock, int maxDays, out MetricsParameterError? error)
    {
        var today = workspace.Today(clock);
        if (range is null or "" or "custom")
        {
            return Parse(from, to, workspace, clock, maxDays, out error) with { Name = "custom" };
        }

        error = null;
        if (!Names.Contains(range))
        {
            error = new MetricsParameterError("range", $"'{range}' is not a range; use {string.Join(", ", Names)}.");
            return new MetricsRange(today, today);
        }

        if (!string.IsNullOrEmpty(from) || !string.IsNullOrEmpty(to))
        {
            error = new MetricsParameterError(string.IsNullOrEmpty(from) ? "to" : "from", $"'from' and 'to' go with range=custom, not with range={range}.");
            return new MetricsRange(today, today);
        }

        var resolved = range switch
        {
            "today" => new MetricsRange(today, today),
            "yesterday" => new MetricsRange(today.AddDays(-1), today.AddDays(-1)),
            "7d" => new MetricsRange(today.AddDays(-6), today),
            "30d" => new MetricsRange(today.AddDays(-29), today),
            "90d" => new MetricsRange(today.AddDays(-89), today),
            _ => new MetricsRange(new DateOnly(today.Year, today.Month, 1), today),
        } with { Name = range };
        if (resolved.Days > maxDays)
        {
            error = new MetricsParameterError("range", $"range={range} spans {resolved.Days} days; at most {maxDays} are allowed here.");
        }

        return resolved;
    }

    /// <summary>Reads <c>from</c>/<c>to</c> (yyyy-MM-dd); defaults to the last 30 local days. Errors name the parameter.</summary>
    public static MetricsRange Parse(string? from, string? to, Workspace workspace, TimeProvider clock, int maxDays, out MetricsParameterError? error)
    {
        MetricsParameterError? problem = null;
        var today = workspace.Today(clock);
        DateOnly? ParseDay(string name, string? value)
        {
            if (string.IsNullOrEmpty(value))
            {
                return null;
            }

            if (DateOnly.TryParseExact(value, Workspace.DayFormat, CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
            {
                return day;
            }

            problem ??= new MetricsParameterError(name, $"'{value}' is not a date in the form YYYY-MM-DD.");
            return null;
        }

        var toDay = ParseDay("to", to);
        var fromDay = ParseDay("from", from);
        var end = toDay ?? (fromDay is { } f && f.AddDays(DefaultDays - 1) < today ? f.AddDays(DefaultDays - 1) : today);
        var start = fromDay ?? end.AddDays(-(DefaultDays - 1));
        var range = new MetricsRange(start, end);
        error = problem;
        if (error is null && start > end)
        {
            error = new MetricsParameterError("from", $"'from' ({Workspace.FormatDay(start)}) must not be after 'to' ({Workspace.FormatDay(end)}).");
        }
        else if (error is null && range.Days > maxDays)
        {
            error = new MetricsParameterError("to", $"The range spans {range.Days} days; at most {maxDays} are allowed here.");
        }

        return range;
    }
}

/// <summary>A bad query parameter: its name and what is wrong.</summary>
public sealed record MetricsParameterError(string Parameter, string Reason);
