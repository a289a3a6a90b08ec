using AgentSpend.Core.Runs;
using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Azure.Functions.Worker;

namespace AgentSpend.Functions.Runs;

/// <summary>Runs and sessions (read keys): one function per kind, each naming its kind.</summary>
public static class RunFunctions
{
    [Function("ListRuns")]
    [Authorize(AuthPolicies.Read)]
    [AcceptsQuery("range", "from", "to", "agent", "user", "team", "provider", "model", "status")]
    public static IResult ListRuns([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/runs")] HttpRequest request) =>
        EndpointHandler.Run(static (Paging paging, HttpRequest request, Caller caller, RunQueries runs, TimeProvider clock, CancellationToken ct) =>
            RunEndpoints.ListAsync(RunKind.Run, paging, request, caller, runs, clock, ct));

    [Function("GetRun")]
    [Authorize(AuthPolicies.Read)]
    public static IResult GetRun([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/runs/{id}")] HttpRequest request) =>
        EndpointHandler.Run(static (string id, HttpRequest request, Caller caller, RunQueries runs, CancellationToken ct) =>
            RunEndpoints.GetAsync(RunKind.Run, id, request, caller, runs, ct));

    [Function("ListRunEvents")]
    [Authorize(AuthPolicies.Read)]
    public static IResult ListRunEvents([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/runs/{id}/events")] HttpRequest request) =>
        EndpointHandler.Run(static (string id, Paging paging, Caller caller, RunQueries runs, CancellationToken ct) =>
            RunEndpoints.EventsAsync(RunKind.Run, id, paging, caller, runs, ct));

    [Function("ListSessions")]
    [Authorize(AuthPolicies.Read)]
    [AcceptsQuery("range", "from", "to", "agent", "user", "team", "provider", "model", "status")]
    public static IResult ListSessions([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/sessions")] HttpRequest request) =>
        EndpointHandler.Run(static (Paging paging, HttpRequest request, Caller caller, RunQueries runs, TimeProvider clock, CancellationToken ct) =>
            RunEndpoints.ListAsync(RunKind.Session, paging, request, caller, runs, clock, ct));

    [Function("GetSession")]
    [Authorize(AuthPolicies.Read)]
    public static IResult GetSession([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/sessions/{id}")] HttpRequest request) =>
        EndpointHandler.Run(static (string id, HttpRequest request, Caller caller, RunQueries runs, CancellationToken ct) =>
            RunEndpoints.GetAsync(RunKind.Session, id, request, caller, runs, ct));

    [Function("ListSessionEvents")]
    [Authorize(AuthPolicies.Read)]
    public static IResult ListSessionEvents([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/sessions/{id}/events")] HttpRequest request) =>
        EndpointHandler.Run(static (string id, Paging paging, Caller caller, RunQueries runs, CancellationToken ct) =>
            RunEndpoints.EventsAsync(RunKind.Session, id, paging, caller, runs, ct));
}
