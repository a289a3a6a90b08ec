using AgentSpend.Core.Audit;
using AgentSpend.Core.Governance;
using AgentSpend.Core.Limits;
using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Azure.Functions.Worker;

namespace AgentSpend.Functions.Agents;

/// <summary>The agents' spend (read keys, with the metrics filters) and their kill switches (admin keys).</summary>
public static class AgentFunctions
{
    [Function("ListAgents")]
    [Authorize(AuthPolicies.Read)]
    public static IResult ListAgents([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/agents")] HttpRequest request) =>
        EndpointHandler.Run(AgentEndpoints.ListAsync);

    [Function("GetAgent")]
    [Authorize(AuthPolicies.Read)]
    public static IResult GetAgent([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/agents/{name}")] HttpRequest request) =>
        EndpointHandler.Run(AgentEndpoints.GetAsync);

    [Function("KillAllAgents")]
    [Authorize(AuthPolicies.Admin)]
    public static IResult KillAllAgents([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/agents/kill-all")] HttpRequest request) =>
        EndpointHandler.Run(static (HttpRequest request, Caller caller, AgentControls controls, AuditLog audit, CancellationToken ct) =>
            AgentEndpoints.KillAsync(null, request, caller, controls, null, audit, ct));

    [Function("ResumeAllAgents")]
    [Authorize(AuthPolicies.Admin)]
    public static IResult ResumeAllAgents([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/agents/resume-all")] HttpRequest request) =>
        EndpointHandler.Run(static (Caller caller, AgentControls controls, AuditLog audit, CancellationToken ct) =>
            AgentEndpoints.ResumeAsync(null, caller, controls, audit, ct));

    [Function("KillAgent")]
    [Authorize(AuthPolicies.Admin)]
    public static IResult KillAgent([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/agents/{name}/kill")] HttpRequest request) =>
        EndpointHandler.Run(static (string name, HttpRequest request, Caller caller, AgentControls controls, PlanLimitEnforcer limits, AuditLog audit, CancellationToken ct) =>
            AgentEndpoints.KillAsync(name, request, caller, controls, limits, audit, ct));

    [Function("ResumeAgent")]
    [Authorize(AuthPolicies.Admin)]
    public static IResult ResumeAgent([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/agents/{name}/resume")] HttpRequest request) =>
        EndpointHandler.Run(static (string name, Caller caller, AgentControls controls, AuditLog audit, CancellationToken ct) =>
            AgentEndpoints.ResumeAsync(name, caller, controls, audit, ct));
}
