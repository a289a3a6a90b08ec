using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Azure.Functions.Worker;

namespace AgentSpend.Functions.Audit;

public static class AuditFunctions
{
    [Function("ListAuditEntries")]
    [Authorize(AuthPolicies.Admin)]
    public static IResult ListAuditEntries([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/audit")] HttpRequest request) =>
        EndpointHandler.Run(AuditEndpoints.GetAsync);
}
