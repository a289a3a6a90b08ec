using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Azure.Functions.Worker;

namespace AgentSpend.Functions.Events;

public static class EventFunctions
{
    [Function("ListEvents")]
    [Authorize(AuthPolicies.Read)]
    public static IResult ListEvents([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/events")] HttpRequest request) =>
        EndpointHandler.Run(EventEndpoints.GetAsync);
}
