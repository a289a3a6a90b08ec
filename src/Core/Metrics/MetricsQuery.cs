using System.Globalization;
using AgentSpend.Core.Domain;
using AgentSpend.Core.Workspaces;

namespace AgentSpend.Core.Metrics;

public enum Granularity
{
    Day,
    Hour,
}

/// <summary>A validated request for metrics: inclusive workspace-local days.</summary>
public sealed record MetricsRange(DateOnly From, DateOnly To)
{
    public const int DefaultDays = 30;
    public const int MaxDays = 400;
    public const int MaxHourlyDays = 14;

    public int Days => To.DayNumber - From.DayNumber + 1;

    public IEnumerable<DateOnly> EachDay() => Enumerable.Range(0, Days).Select(From.AddDays);

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
