using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Azure.Functions.Worker;

namespace AgentSpend.Functions.Keys;

/// <summary>The workspace's API keys (admin keys), and what the calling key is (any key).</summary>
public static class KeyFunctions
{
    [Function("CreateKey")]
    [Authorize(AuthPolicies.Admin)]
    public static IResult CreateKey([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/keys")] HttpRequest request) =>
        EndpointHandler.Run(KeyEndpoints.CreateAsync);

    [Function("ListKeys")]
    [Authorize(AuthPolicies.Admin)]
    public static IResult ListKeys([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/keys")] HttpRequest request) =>
        EndpointHandler.Run(KeyEndpoints.ListAsync);

    [Function("GetKey")]
    [Authorize(AuthPolicies.Admin)]
    public static IResult GetKey([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/keys/{id}")] HttpRequest request) =>
        EndpointHandler.Run(KeyEndpoints.GetAsync);

    [Function("RevokeKey")]
    [Authorize(AuthPolicies.Admin)]
    public static IResult RevokeKey([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/keys/{id}/revoke")] HttpRequest request) =>
        EndpointHandler.Run(KeyEndpoints.RevokeAsync);

    [Function("RotateKey")]
    [Authorize(AuthPolicies.Admin)]
    public static IResult RotateKey([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/keys/{id}/rotate")] HttpRequest request) =>
        EndpointHandler.Run(KeyEndpoints.RotateAsync);

    /// <summary>Any key may ask what it is: the dashboard offers what the key's scopes allow, in its workspace's timezone.</summary>
    [Function("GetCurrentKey")]
    [Authorize(AuthPolicies.AnyKey)]
    public static IResult GetCurrentKey([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/keys/current")] HttpRequest request) =>
        EndpointHandler.Run(KeyEndpoints.GetCurrent);
}
