using AgentSpend.Core.Audit;
using AgentSpend.Core.Governance;
using AgentSpend.Core.Limits;
using AgentSpend.Core.Metrics;
using AgentSpend.Functions.Hosting;
using AgentSpend.Functions.Metrics;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentSpend.Functions.Agents;

/// <summary>Why an agent is being stopped (optional).</summary>
public sealed record KillBody(string? Reason);

/// <summary>
/// GET /api/v1/agents and /api/v1/agents/{name}: every agent's spend by period, and one agent in detail.
/// POST …/{name}/kill, …/kill-all, …/{name}/resume and …/resume-all: the kill switches (admin).
/// </summary>
public static class AgentEndpoints
{
    /// <summary>Kills one agent (or, for a null name, every agent of the workspace): checks answer <c>killed</c> at once.</summary>
    public static async Task<Results<Ok<AgentControl>, ProblemHttpResult>> KillAsync(
        string? name, HttpRequest request, Caller caller, AgentControls controls, PlanLimitEnforcer? limits, AuditLog audit, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadAsync(request, cancellationToken, whenEmpty: new KillBody(null)).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        if (body!.Reason is { Length: > 500 })
        {
            return Problems.BadRequest("reason", "must be at most 500 characters.");
        }

        if (name is not null && !await limits!.KnowsAgentAsync(caller.Workspace.Id, name, cancellationToken).ConfigureAwait(false))
        {
            return Problems.NotFound("name", "No agent of this name has sent usage to this workspace.");
        }

        var control = await controls.KillAsync(caller.Workspace.Id, name, body.Reason, caller.KeyId, cancellationToken).ConfigureAwait(false);
        await audit.AppendAsync(caller.Workspace.Id, name is null ? AuditActions.AgentKillAll : AuditActions.AgentKill, name ?? "*", caller.KeyId, caller.SourceIp, null, control).ConfigureAwait(false);
        return TypedResults.Ok(control);
    }

    /// <summary>Lifts one agent's kill switch (or the workspace-wide one); 404 when none was in force.</summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> ResumeAsync(string? name, Caller caller, AgentControls controls, AuditLog audit, CancellationToken cancellationToken)
    {
        if (!await controls.ResumeAsync(caller.Workspace.Id, name, cancellationToken).ConfigureAwait(false))
        {
            return Problems.NotFound("name", name is null ? "No kill-all is in force." : "No kill switch is in force for this agent.");
        }

        await audit.AppendAsync(caller.Workspace.Id, name is null ? AuditActions.AgentResumeAll : AuditActions.AgentResume, name ?? "*", caller.KeyId, caller.SourceIp, null, null).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    /// <summary>The agents list; the metrics filters (provider, model, team, user, agent, …) narrow each agent's usage to what passes them.</summary>
    public static async Task<Results<Ok<AgentList>, ProblemHttpResult>> ListAsync(MetricsFilters filters, Caller caller, AgentMetrics agents, CancellationToken cancellationToken)
    {
        if (filters.Problem is { } problem)
        {
            return problem;
        }

        var filter = filters.Filter;

        return TypedResults.Ok(await agents.ListAsync(caller.Workspace, filter, cancellationToken).ConfigureAwait(false));
    }

    public static async Task<Results<Ok<AgentDetail>, ProblemHttpResult>> GetAsync(
        string name, string? range, string? from, string? to, MetricsFilters filters, Caller caller, AgentMetrics agents, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (filters.Problem is { } problem)
        {
            return problem;
        }

        var filter = filters.Filter;

        var days = MetricsRange.Resolve(range, from, to, caller.Workspace, clock, MetricsRange.MaxDays, out var error);
        if (error is not null)
        {
            return Problems.BadRequest(error.Parameter, error.Reason);
        }

        return await agents.DetailAsync(caller.Workspace, name, days, filter, cancellationToken).ConfigureAwait(false) is { } detail
            ? TypedResults.Ok(detail)
            : Problems.NotFound("name", filter.IsEmpty ? "No agent of this name has usage in the days kept." : "No agent of this name has usage that passes the filters in the days kept.");
    }
}
