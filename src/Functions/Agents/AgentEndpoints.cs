using AgentSpend.Core.Metrics;
using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentSpend.Functions.Agents;

/// <summary>GET /api/v1/agents and /api/v1/agents/{name}: every agent's spend by period, and one agent in detail.</summary>
public static class AgentEndpoints
{
    public static void MapAgents(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/agents").RequireAuthorization(AuthPolicies.Read);
        group.MapGet("/", ListAsync);
        group.MapGet("/{name}", GetAsync);
    }

    public static async Task<Results<Ok<AgentList>, ProblemHttpResult>> ListAsync(HttpRequest request, Caller caller, AgentMetrics agents, CancellationToken cancellationToken)
    {
        if (request.Query.Count > 0)
        {
            var name = request.Query.Keys.Order(StringComparer.Ordinal).First();
            return Problems.BadRequest(name, $"'{name}' is not a parameter here; the list takes none.");
        }

        return TypedResults.Ok(await agents.ListAsync(caller.Workspace, cancellationToken).ConfigureAwait(false));
    }

    public static async Task<Results<Ok<AgentDetail>, ProblemHttpResult>> GetAsync(
        string name, string? range, string? from, string? to, HttpRequest request, Caller caller, AgentMetrics agents, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (request.Query.Keys.Any(k => k is not ("range" or "from" or "to")))
        {
            var extra = request.Query.Keys.First(k => k is not ("range" or "from" or "to"));
            return Problems.BadRequest(extra, $"'{extra}' is not a parameter here; use range, from and to.");
        }

        var days = MetricsRange.Resolve(range, from, to, caller.Workspace, clock, MetricsRange.MaxDays, out var error);
        if (error is not null)
        {
            return Problems.BadRequest(error.Parameter, error.Reason);
        }

        return await agents.DetailAsync(caller.Workspace, name, days, cancellationToken).ConfigureAwait(false) is { } detail
            ? TypedResults.Ok(detail)
            : Problems.NotFound("name", $"No agent '{name}' has usage in the days kept.");
    }
}
