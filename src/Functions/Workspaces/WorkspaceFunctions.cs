using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Azure.Functions.Worker;

namespace AgentSpend.Functions.Workspaces;

/// <summary>The instance's workspaces and their first keys: instance-admin keys only.</summary>
public static class WorkspaceFunctions
{
    [Function("CreateWorkspace")]
    [Authorize(AuthPolicies.InstanceAdmin)]
    public static IResult CreateWorkspace([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/workspaces")] HttpRequest request) =>
        EndpointHandler.Run(WorkspaceEndpoints.CreateAsync);

    [Function("ListWorkspaces")]
    [Authorize(AuthPolicies.InstanceAdmin)]
    public static IResult ListWorkspaces([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/workspaces")] HttpRequest request) =>
        EndpointHandler.Run(WorkspaceEndpoints.ListAsync);

    [Function("GetWorkspace")]
    [Authorize(AuthPolicies.InstanceAdmin)]
    public static IResult GetWorkspace([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/workspaces/{id}")] HttpRequest request) =>
        EndpointHandler.Run(WorkspaceEndpoints.GetAsync);

    [Function("UpdateWorkspace")]
    [Authorize(AuthPolicies.InstanceAdmin)]
    public static IResult UpdateWorkspace([HttpTrigger(AuthorizationLevel.Anonymous, "patch", Route = "api/v1/workspaces/{id}")] HttpRequest request) =>
        EndpointHandler.Run(WorkspaceEndpoints.UpdateAsync);

    [Function("DeleteWorkspace")]
    [Authorize(AuthPolicies.InstanceAdmin)]
    public static IResult DeleteWorkspace([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/v1/workspaces/{id}")] HttpRequest request) =>
        EndpointHandler.Run(WorkspaceEndpoints.DeleteAsync);

    [Function("CreateWorkspaceKey")]
    [Authorize(AuthPolicies.InstanceAdmin)]
    public static IResult CreateWorkspaceKey([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/workspaces/{id}/keys")] HttpRequest request) =>
        EndpointHandler.Run(WorkspaceEndpoints.CreateKeyAsync);
}
