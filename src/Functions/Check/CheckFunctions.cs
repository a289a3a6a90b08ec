using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Azure.Functions.Worker;

namespace AgentSpend.Functions.Check;

/// <summary>The pre-flight check and the release of its reservations: ingest keys, rate limited.</summary>
public static class CheckFunctions
{
    [Function("Check")]
    [Authorize(AuthPolicies.Ingest)]
    [EnableRateLimiting(KeyRateLimiting.Policy)]
    public static IResult Check([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/check")] HttpRequest request) =>
        EndpointHandler.Run(CheckEndpoints.CheckAsync);

    [Function("ReleaseReservation")]
    [Authorize(AuthPolicies.Ingest)]
    [EnableRateLimiting(KeyRateLimiting.Policy)]
    public static IResult ReleaseReservation([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/v1/check/reservations/{id}")] HttpRequest request) =>
        EndpointHandler.Run(CheckEndpoints.ReleaseAsync);
}
