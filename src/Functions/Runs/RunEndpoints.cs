using AgentSpend.Core.Metrics;
using AgentSpend.Core.Runs;
using AgentSpend.Core.Storage;
using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentSpend.Functions.Runs;

/// <summary>
/// GET /api/v1/runs and /api/v1/sessions (events grouped by <c>run_id</c> or <c>session_id</c>): a list, one in
/// detail, and its stored events page by page (RunFunctions: one function per kind and endpoint).
/// </summary>
public static class RunEndpoints
{
    public static async Task<Results<Ok<RunList>, ProblemHttpResult>> ListAsync(
        RunKind kind, Paging paging, HttpRequest request, Caller caller, RunQueries runs, TimeProvider clock, CancellationToken cancellationToken)
    {
        var query = request.Query;
        var range = MetricsRange.Resolve(query["range"], query["from"], query["to"], caller.Workspace, clock, MetricsRange.MaxDays, out var error);
        if (error is not null)
        {
            return Problems.BadRequest(error.Parameter, error.Reason);
        }

        string? status = query["status"];
        if (status is not (null or RunEntry.Active or RunEntry.Completed))
        {
            return Problems.BadRequest("status", $"'{status}' is not a status; use active or completed.");
        }

        if (paging.Problem is { } problem)
        {
            return problem;
        }

        string? agent = query["agent"], user = query["user"], team = query["team"], provider = query["provider"], model = query["model"];
        bool Keep(RunEntry e) =>
            (agent is null || e.Agent == agent) && (user is null || e.User == user) && (team is null || e.Team == team) && (status is null || e.Status == status);

        foreach (var (name, value) in new[] { ("agent", agent), ("user", user), ("team", team), ("provider", provider), ("model", model) })
        {
            if (value is not null && string.IsNullOrWhiteSpace(value))
            {
                return Problems.BadRequest(name, "must not be empty.");
            }
        }

        // Runs keep their usage per model, not per provider: a provider stands for the models it served in the range.
        IReadOnlySet<string>? models = provider is null ? null : await runs.ModelsOfProviderAsync(caller.Workspace, range, provider, cancellationToken).ConfigureAwait(false);
        if (model is not null)
        {
            models = models is null || models.Contains(model) ? new HashSet<string>([model], StringComparer.Ordinal) : new HashSet<string>(StringComparer.Ordinal);
        }

        try
        {
            return TypedResults.Ok(await runs.ListAsync(caller.Workspace, kind, range, Keep, models, paging.Limit, paging.Cursor, cancellationToken).ConfigureAwait(false));
        }
        catch (BadCursorException ex)
        {
            return Problems.BadRequest("cursor", ex.Message);
        }
    }

    public static async Task<Results<Ok<RunDetail>, ProblemHttpResult>> GetAsync(
        RunKind kind, string id, HttpRequest request, Caller caller, RunQueries runs, CancellationToken cancellationToken)
    {
        return await runs.DetailAsync(caller.Workspace, kind, id, cancellationToken).ConfigureAwait(false) is { } detail
            ? TypedResults.Ok(detail)
            : Problems.NotFound("id", $"No {kind.Name()} '{id}' has usage in this workspace.");
    }

    public static async Task<Results<Ok<EventPage>, ProblemHttpResult>> EventsAsync(
        RunKind kind, string id, Paging paging, Caller caller, RunQueries runs, CancellationToken cancellationToken)
    {
        if (paging.Problem is { } problem)
        {
            return problem;
        }

        try
        {
            return await runs.EventsAsync(caller.Workspace, kind, id, paging.Limit, paging.Cursor, cancellationToken).ConfigureAwait(false) is { } page
                ? TypedResults.Ok(page)
                : Problems.NotFound("id", $"No {kind.Name()} '{id}' has usage in this workspace.");
        }
        catch (BadCursorException ex)
        {
            return Problems.BadRequest("cursor", ex.Message);
        }
    }
}
