using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Azure.Functions.Worker;

namespace AgentSpend.Functions.Import;

public static class ImportFunctions
{
    [Function("Import")]
    [Authorize(AuthPolicies.Ingest)]
    [EnableRateLimiting(KeyRateLimiting.Policy)]
    public static IResult Import([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/import")] HttpRequest request) =>
        EndpointHandler.Run(ImportEndpoints.ImportAsync);
}
