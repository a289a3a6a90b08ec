using AgentSpend.Core.Configuration;
using AgentSpend.Core.Domain;
using AgentSpend.Core.Metrics;
using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace AgentSpend.Functions.Metrics;

/// <summary>GET /api/v1/metrics/*: answers from daily buckets.</summary>
public static class MetricsEndpoints
{
    public static void MapMetrics(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/metrics").RequireAuthorization(AuthPolicies.Read);
        group.MapGet("/overview", GetOverviewAsync);
        group.MapGet("/timeseries", GetTimeseriesAsync);
        group.MapGet("/breakdown", GetBreakdownAsync);
        group.MapGet("/concentration", GetConcentrationAsync);
        group.MapGet("/burn-rate", GetBurnRateAsync);
    }

    public static async Task<Ok<BurnRate>> GetBurnRateAsync(Caller caller, MetricsService metrics, TimeProvider clock, CancellationToken cancellationToken) =>
        TypedResults.Ok(await metrics.BurnRateAsync(caller.Workspace, clock.GetUtcNow(), cancellationToken).ConfigureAwait(false));

    public static async Task<Results<Ok<Concentration>, ProblemHttpResult>> GetConcentrationAsync(
        string? range, string? from, string? to, Caller caller, MetricsService metrics, IOptions<AgentSpendOptions> options, TimeProvider clock, CancellationToken cancellationToken)
    {
        var workspace = caller.Workspace;
        var days = MetricsRange.Resolve(range, from, to, workspace, clock, MetricsRange.MaxDays, out var error);
        return error is not null
            ? Problems.BadRequest(error.Parameter, error.Reason)
            : TypedResults.Ok(await metrics.ConcentrationAsync(workspace, days, options.Value.ConcentrationThresholdPct, cancellationToken).ConfigureAwait(false));
    }

    public static async Task<Results<Ok<Overview>, ProblemHttpResult>> GetOverviewAsync(
        string? range, string? from, string? to, Caller caller, MetricsService metrics, TimeProvider clock, CancellationToken cancellationToken)
    {
        var workspace = caller.Workspace;
        var days = MetricsRange.Resolve(range, from, to, workspace, clock, MetricsRange.MaxDays, out var error);
        return error is not null
            ? Problems.BadRequest(error.Parameter, error.Reason)
            : TypedResults.Ok(await metrics.OverviewAsync(workspace, days, cancellationToken).ConfigureAwait(false));
    }

    public static async Task<Results<Ok<Timeseries>, ContentHttpResult, ProblemHttpResult>> GetTimeseriesAsync(
        string? granularity, string? range, string? from, string? to, string? format, HttpRequest request, Caller caller, MetricsService metrics, TimeProvider clock, CancellationToken cancellationToken)
    {
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

        var workspace = caller.Workspace;
        var maxDays = parsed == Granularity.Hour ? MetricsRange.MaxHourlyDays : MetricsRange.MaxDays;
        var days = MetricsRange.Resolve(range, from, to, workspace, clock, maxDays, out var error);
        if (error is not null)
        {
            return Problems.BadRequest(error.Parameter, error.Reason);
        }

        var series = await metrics.TimeseriesAsync(workspace, days, parsed, cancellationToken).ConfigureAwait(false);
        return csv ? TypedResults.Text(MetricsCsv.Of(series), ResponseFormat.CsvMediaType) : TypedResults.Ok(series);
    }

    public static async Task<Results<Ok<Breakdown>, ContentHttpResult, ProblemHttpResult>> GetBreakdownAsync(
        string? by, string? range, string? from, string? to, string? sort, string? top, string? format, HttpRequest request, Caller caller, MetricsService metrics, TimeProvider clock, CancellationToken cancellationToken)
    {
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

        int? topN = null;
        if (top is not null)
        {
            if (!int.TryParse(top, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) || n is < 1 or > 1000)
            {
                return Problems.BadRequest("top", $"'{top}' is not a whole number from 1 to 1000.");
            }

            topN = n;
        }

        if (!DimensionExtensions.TryParse(by, out var dimension))
        {
            return Problems.BadRequest("by", by is null
                ? $"'by' is required: {DimensionExtensions.NameList}."
                : $"'{by}' is not a dimension; use {DimensionExtensions.NameList}.");
        }

        var workspace = caller.Workspace;
        var days = MetricsRange.Resolve(range, from, to, workspace, clock, MetricsRange.MaxDays, out var error);
        if (error is not null)
        {
            return Problems.BadRequest(error.Parameter, error.Reason);
        }

        var breakdown = await metrics.BreakdownAsync(workspace, days, dimension, cancellationToken, order.Value, topN).ConfigureAwait(false);
        return csv ? TypedResults.Text(MetricsCsv.Of(breakdown), ResponseFormat.CsvMediaType) : TypedResults.Ok(breakdown);
    }
}
