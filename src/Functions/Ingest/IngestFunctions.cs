using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Azure.Functions.Worker;

namespace AgentSpend.Functions.Ingest;

public static class IngestFunctions
{
    [Function("Ingest")]
    [Authorize(AuthPolicies.Ingest)]
    [EnableRateLimiting(KeyRateLimiting.Policy)]
    public static IResult Ingest([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/ingest")] HttpRequest request) =>
        EndpointHandler.Run(IngestEndpoints.IngestAsync);
}
