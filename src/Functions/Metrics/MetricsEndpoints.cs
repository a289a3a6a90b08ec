using AgentSpend.Core.Configuration;
using AgentSpend.Core.Domain;
using AgentSpend.Core.Governance;
using AgentSpend.Core.Metrics;
using AgentSpend.Core.Runs;
using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace AgentSpend.Functions.Metrics;

/// <summary>
/// GET /api/v1/metrics/*: answers from daily buckets. Every endpoint takes the filters
/// (<see cref="MetricsFilter"/>) as query parameters beside its own.
/// </summary>
public static class MetricsEndpoints
{
    private static readonly string GroupingNames = $"{string.Join(", ", Core.Domain.DimensionExtensions.All.Select(d => d.Name()))}, session or tag.<key>";

    public static async Task<Results<Ok<BurnRate>, ProblemHttpResult>> GetBurnRateAsync(
        MetricsFilters filters, Caller caller, MetricsService metrics, RunIndex runs, IOptions<AgentSpendOptions> options, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (filters.Problem is { } problem)
        {
            return problem;
        }

        var filter = filters.Filter;

        var now = clock.GetUtcNow();
        var burn = await metrics.BurnRateAsync(caller.Workspace, now, filter, cancellationToken).ConfigureAwait(false);
        var limit = TimeSpan.FromMinutes(options.Value.LongSessionMinutes);
        string? Wanted(Core.Domain.Dimension d) => filter.Dimensions.Where(f => f.Dimension == d).Select(f => f.Value).FirstOrDefault();
        var (agent, user, team) = (Wanted(Core.Domain.Dimension.Agent), Wanted(Core.Domain.Dimension.User), Wanted(Core.Domain.Dimension.Team));
        var sessions = (await runs.ActiveAsync(caller.Workspace.Id, cancellationToken).ConfigureAwait(false))
            .Where(r => r.Kind == RunKind.Session && now - DateTimeOffset.FromUnixTimeMilliseconds(r.FirstAtMs) > limit)
            .Where(r => (agent is null || r.Agent == agent) && (user is null || r.User == user) && (team is null || r.Team == team))
            .OrderBy(r => r.FirstAtMs).ThenBy(r => r.Id, StringComparer.Ordinal)
            .Select(r => new LongRunningSession(r.Id, r.Agent, r.User, RunSummary.Instant(r.FirstAtMs), RunSummary.Instant(r.LastAtMs),
                (long)(now - DateTimeOffset.FromUnixTimeMilliseconds(r.FirstAtMs)).TotalMinutes))
            .ToArray();
        return TypedResults.Ok(burn with { LongSessionMinutes = options.Value.LongSessionMinutes, LongRunningSessions = sessions });
    }

    public static async Task<Results<Ok<Concentration>, ProblemHttpResult>> GetConcentrationAsync(
        string? range, string? from, string? to, MetricsFilters filters, Caller caller, MetricsService metrics, IOptions<AgentSpendOptions> options, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (filters.Problem is { } problem)
        {
            return problem;
        }

        var filter = filters.Filter;

        var workspace = caller.Workspace;
        var days = MetricsRange.Resolve(range, from, to, workspace, clock, MetricsRange.MaxDays, out var error);
        return error is not null
            ? Problems.BadRequest(error.Parameter, error.Reason)
            : TypedResults.Ok(await metrics.ConcentrationAsync(workspace, days, filter, options.Value.ConcentrationThresholdPct, cancellationToken).ConfigureAwait(false));
    }

    public static async Task<Results<Ok<Efficiency>, ProblemHttpResult>> GetEfficiencyAsync(
        string? range, string? from, string? to, MetricsFilters filters, Caller caller, EfficiencyMetrics efficiency, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (filters.Problem is { } problem)
        {
            return problem;
        }

        var filter = filters.Filter;

        var days = MetricsRange.Resolve(range, from, to, caller.Workspace, clock, MetricsRange.MaxDays, out var error);
        return error is not null
            ? Problems.BadRequest(error.Parameter, error.Reason)
            : TypedResults.Ok(await efficiency.ComputeAsync(caller.Workspace, days, filter, cancellationToken).ConfigureAwait(false));
    }

    public static async Task<Results<Ok<Overview>, ProblemHttpResult>> GetOverviewAsync(
        string? range, string? from, string? to, MetricsFilters filters, Caller caller, MetricsService metrics, BudgetStore budgets, BudgetUsage budgetUsage,
        TimeProvider clock, CancellationToken cancellationToken)
    {
        if (filters.Problem is { } problem)
        {
            return problem;
        }

        var filter = filters.Filter;

        var workspace = caller.Workspace;
        var days = MetricsRange.Resolve(range, from, to, workspace, clock, MetricsRange.MaxDays, out var error);
        if (error is not null)
        {
            return Problems.BadRequest(error.Parameter, error.Reason);
        }

        var overviewTask = metrics.OverviewAsync(workspace, days, filter, cancellationToken);
        var all = await budgets.ListAsync(workspace.Id, cancellationToken).ConfigureAwait(false);
        var standings = await budgetUsage.MeasureAllAsync(workspace, all, cancellationToken).ConfigureAwait(false);
        var overview = await overviewTask.ConfigureAwait(false);
        if (all.Count > 0)
        {
            var items = all.Zip(standings, (b, s) => new BudgetSummaryItem(
                    b.Id, b.Name, BudgetNames.Name(BudgetNames.Scopes, b.Scope), b.ScopeValue, BudgetNames.Name(BudgetNames.Metrics, b.Metric),
                    BudgetNames.Name(BudgetNames.Periods, b.Period), s.Used, b.Limit, s.UsedPct, s.Status))
                .ToArray();
            overview.Budgets = new BudgetsSummary(
                items.Length, items.Count(i => i.Status == BudgetStanding.Ok), items.Count(i => i.Status == BudgetStanding.Warning), items.Count(i => i.Status == BudgetStanding.Exceeded),
                [.. items.OrderByDescending(i => i.UsedPct).ThenBy(i => i.Id, StringComparer.Ordinal).Take(BudgetsSummary.Shown)]);
        }

        return TypedResults.Ok(overview);
    }

    public static async Task<Results<Ok<Timeseries>, ContentHttpResult, ProblemHttpResult>> GetTimeseriesAsync(
        string? granularity, string? range, string? from, string? to, string? split, string? top, string? format,
        MetricsFilters filters, HttpRequest request, Caller caller, MetricsService metrics, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (filters.Problem is { } problem)
        {
            return problem;
        }

        var filter = filters.Filter;

        if (ResponseFormat.WantsCsv(format, request) is not { } csv)
        {
            return Problems.BadRequest("format", "use json or csv.");
        }

        Granularity parsed;
        switch (granularity)
        {
            case null or "" or "day":
                parsed = Granularity.Day;
                break;
            case "hour":
                parsed = Granularity.Hour;
                break;
            case "week":
                parsed = Granularity.Week;
                break;
            case "month":
                parsed = Granularity.Month;
                break;
            default:
                return Problems.BadRequest("granularity", $"'{granularity}' is not a granularity; use day, hour, week or month.");
        }

        Grouping? splitBy = null;
        if (split is not null)
        {
            if (!Grouping.TryParse(split, out var grouping))
            {
                return Problems.BadRequest("split", $"'{split}' is not a dimension; use {Core.Domain.DimensionExtensions.NameList}, or tag.<key>.");
            }

            splitBy = grouping;
        }

        if (ParseTop(top, out var topN) is { } topProblem)
        {
            return topProblem;
        }

        if (topN is not null && splitBy is null)
        {
            return Problems.BadRequest("top", "'top' goes with 'split'.");
        }

        var workspace = caller.Workspace;
        var maxDays = parsed == Granularity.Hour ? MetricsRange.MaxHourlyDays : MetricsRange.MaxDays;
        var days = MetricsRange.Resolve(range, from, to, workspace, clock, maxDays, out var error);
        if (error is not null)
        {
            return Problems.BadRequest(error.Parameter, error.Reason);
        }

        var series = await metrics.TimeseriesAsync(workspace, days, parsed, filter, cancellationToken, splitBy, topN ?? MetricsService.DefaultSplitTop).ConfigureAwait(false);
        return csv ? TypedResults.Text(MetricsCsv.Of(series), ResponseFormat.CsvMediaType) : TypedResults.Ok(series);
    }

    public static async Task<Results<Ok<Breakdown>, ContentHttpResult, ProblemHttpResult>> GetBreakdownAsync(
        string? by, string? range, string? from, string? to, string? sort, string? top, string? format,
        MetricsFilters filters, HttpRequest request, Caller caller, MetricsService metrics, RunQueries runs, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (filters.Problem is { } problem)
        {
            return problem;
        }

        var filter = filters.Filter;

        if (ResponseFormat.WantsCsv(format, request) is not { } csv)
        {
            return Problems.BadRequest("format", "use json or csv.");
        }

        BreakdownSort? order = sort switch
        {
            null or "" or "cost" => BreakdownSort.Cost,
            "tokens" => BreakdownSort.Tokens,
            "events" => BreakdownSort.Events,
            _ => null,
        };
        if (order is null)
        {
            return Problems.BadRequest("sort", $"'{sort}' is not an order; use cost, tokens or events.");
        }

        if (ParseTop(top, out var topN) is { } topProblem)
        {
            return topProblem;
        }

        var bySession = by == "session";
        if (!Grouping.TryParse(by, out var grouping) && !bySession)
        {
            return Problems.BadRequest("by", by is null
                ? $"'by' is required: {GroupingNames}."
                : $"'{by}' is not a dimension; use {GroupingNames}.");
        }

        if (bySession && filter.Tags.Concat(filter.Dimensions.Select(d => (Key: d.Dimension.Name(), d.Value)))
                .FirstOrDefault(f => f.Key is not ("agent" or "user" or "team" or "model")) is { Key: not null } unsupported)
        {
            var name = filter.Tags.Any(t => t.Key == unsupported.Key) ? MetricsFilter.TagPrefix + unsupported.Key : unsupported.Key;
            return Problems.BadRequest(name, "by=session takes the filters agent, user, team and model only.");
        }

        var workspace = caller.Workspace;
        var days = MetricsRange.Resolve(range, from, to, workspace, clock, MetricsRange.MaxDays, out var error);
        if (error is not null)
        {
            return Problems.BadRequest(error.Parameter, error.Reason);
        }

        var breakdown = bySession
            ? await runs.SessionBreakdownAsync(workspace, days, filter, order.Value, topN, cancellationToken).ConfigureAwait(false)
            : await metrics.BreakdownAsync(workspace, days, grouping, filter, cancellationToken, order.Value, topN).ConfigureAwait(false);
        return csv ? TypedResults.Text(MetricsCsv.Of(breakdown), ResponseFormat.CsvMediaType) : TypedResults.Ok(breakdown);
    }

    private static ProblemHttpResult? ParseTop(string? top, out int? value)
    {
        value = null;
        if (top is null)
        {
            return null;
        }

        if (!int.TryParse(top, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) || n is < 1 or > 1000)
        {
            return Problems.BadRequest("top", $"'{top}' is not a whole number from 1 to 1000.");
        }

        value = n;
        return null;
    }
}
