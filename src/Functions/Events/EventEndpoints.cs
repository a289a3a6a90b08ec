using AgentSpend.Core.Events;
using AgentSpend.Core.Metrics;
using AgentSpend.Core.Runs;
using AgentSpend.Core.Storage;
using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentSpend.Functions.Events;

/// <summary>GET /api/v1/events: the stored events of a range, newest first, filtered like the metrics, page by page.</summary>
public static class EventEndpoints
{
    public static async Task<Results<Ok<EventPage>, ProblemHttpResult>> GetAsync(
        string? range, string? from, string? to, MetricsFilters filters, Paging paging, Caller caller, RecentEvents events, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (filters.Problem is { } problem)
        {
            return problem;
        }

        var filter = filters.Filter;

        var days = MetricsRange.Resolve(range ?? "today", from, to, caller.Workspace, clock, MetricsRange.MaxDays, out var error);
        if (error is not null)
        {
            return Problems.BadRequest(error.Parameter, error.Reason);
        }

        if (paging.Problem is { } badPage)
        {
            return badPage;
        }

        try
        {
            return TypedResults.Ok(await events.PageAsync(caller.Workspace, days, filter, paging.Limit, paging.Cursor, cancellationToken).ConfigureAwait(false));
        }
        catch (BadCursorException ex)
        {
            return Problems.BadRequest("cursor", ex.Message);
        }
    }
}
