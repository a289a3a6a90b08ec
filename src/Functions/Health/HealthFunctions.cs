using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Azure.Functions.Worker;

namespace AgentSpend.Functions.Health;

/// <summary>The health probes: anonymous, never throttled.</summary>
public static class HealthFunctions
{
    [Function("Health")]
    [AllowAnonymous]
    public static IResult GetHealth([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/health")] HttpRequest request) =>
        EndpointHandler.Run(HealthEndpoints.GetHealthAsync);

    [Function("HealthLive")]
    [AllowAnonymous]
    public static IResult GetLiveness([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/health/live")] HttpRequest request) =>
        EndpointHandler.Run(HealthEndpoints.GetLiveness);

    [Function("HealthReady")]
    [AllowAnonymous]
    public static IResult GetReadiness([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/health/ready")] HttpRequest request) =>
        EndpointHandler.Run(HealthEndpoints.GetReadinessAsync);
}
