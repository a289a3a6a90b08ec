using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Azure.Functions.Worker;

namespace AgentSpend.Functions.Pricing;

/// <summary>A model's price: reading it is a read; changing it is an admin's act.</summary>
public static class PriceOverrideFunctions
{
    [Function("GetModelPrice")]
    [Authorize(AuthPolicies.Read)]
    public static IResult GetModelPrice([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/pricing/models/{*model}")] HttpRequest request) =>
        EndpointHandler.Run(PriceOverrideEndpoints.GetAsync);

    [Function("PutPriceOverride")]
    [Authorize(AuthPolicies.Admin)]
    public static IResult PutPriceOverride([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/v1/pricing/models/{*model}")] HttpRequest request) =>
        EndpointHandler.Run(PriceOverrideEndpoints.PutAsync);

    [Function("DeletePriceOverride")]
    [Authorize(AuthPolicies.Admin)]
    public static IResult DeletePriceOverride([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/v1/pricing/models/{*model}")] HttpRequest request) =>
        EndpointHandler.Run(PriceOverrideEndpoints.DeleteAsync);
}
