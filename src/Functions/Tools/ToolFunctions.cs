using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Azure.Functions.Worker;

namespace AgentSpend.Functions.Tools;

/// <summary>The tool registry: read keys list it, admin keys register and remove tools.</summary>
public static class ToolFunctions
{
    [Function("ListTools")]
    [Authorize(AuthPolicies.Read)]
    public static IResult ListTools([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/tools")] HttpRequest request) =>
        EndpointHandler.Run(ToolEndpoints.ListAsync);

    [Function("PutTool")]
    [Authorize(AuthPolicies.Admin)]
    public static IResult PutTool([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/v1/tools/{name}")] HttpRequest request) =>
        EndpointHandler.Run(ToolEndpoints.PutAsync);

    [Function("DeleteTool")]
    [Authorize(AuthPolicies.Admin)]
    public static IResult DeleteTool([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/v1/tools/{name}")] HttpRequest request) =>
        EndpointHandler.Run(ToolEndpoints.DeleteAsync);
}
