using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Azure.Functions.Worker;

namespace AgentSpend.Functions.Admin;

/// <summary>The queues and their poison queues: instance-admin keys only.</summary>
public static class AdminQueueFunctions
{
    [Function("ListAdminQueues")]
    [Authorize(AuthPolicies.InstanceAdmin)]
    public static IResult ListAdminQueues([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/admin/queues")] HttpRequest request) =>
        EndpointHandler.Run(AdminQueueEndpoints.ListAsync);

    [Function("ReplayPoisonQueue")]
    [Authorize(AuthPolicies.InstanceAdmin)]
    public static IResult ReplayPoisonQueue([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/admin/queues/{name}/replay")] HttpRequest request) =>
        EndpointHandler.Run(AdminQueueEndpoints.ReplayAsync);
}
