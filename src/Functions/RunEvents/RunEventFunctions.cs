using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Azure.Functions.Worker;

namespace AgentSpend.Functions.RunEvents;

public static class RunEventFunctions
{
    [Function("PostRunEvent")]
    [Authorize(AuthPolicies.Ingest)]
    [EnableRateLimiting(KeyRateLimiting.Policy)]
    public static IResult Post([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/events")] HttpRequest request) =>
        EndpointHandler.Run(RunEventEndpoints.PostAsync);
}
