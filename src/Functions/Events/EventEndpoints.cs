using AgentSpend.Core.Events;
using AgentSpend.Core.Metrics;
using AgentSpend.Core.Runs;
using AgentSpend.Core.Storage;
using AgentSpend.Functions.Hosting;
using AgentSpend.Functions.Metrics;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentSpend.Functions.Events;

/// <summary>GET /api/v1/events: the stored events of a range, newest first, filtered like the metrics, page by page.</summary>
public static class EventEndpoints
{
    public static async Task<Results<Ok<EventPage>, ProblemHttpResult>> GetAsync(
        string? range, string? from, string? to, string? cursor, HttpRequest request, Caller caller, RecentEvents events, TimeProvider clock, CancellationToken cancellationToken)
    {
        var filter = MetricsEndpoints.Filters(request, ["range", "from", "to", "limit", "cursor"], out var problem);
        if (problem is not null)
        {
            return problem;
        }

        var days = MetricsRange.Resolve(range ?? "today", from, to, caller.Workspace, clock, MetricsRange.MaxDays, out var error);
        if (error is not null)
        {
            return Problems.BadRequest(error.Parameter, error.Reason);
        }

        if (QueryParameters.Limit(request) is not { } size)
        {
            return QueryParameters.BadLimit();
        }

        try
        {
            return TypedResults.Ok(await events.PageAsync(caller.Workspace, days, filter, size, cursor, cancellationToken).ConfigureAwait(false));
        }
        catch (BadCursorException ex)
        {
            return Problems.BadRequest("cursor", ex.Message);
        }
    }
}
