using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Azure.Functions.Worker;

namespace AgentSpend.Functions.Pricing;

/// <summary>The price catalog and the models it has no price for: read keys.</summary>
public static class PricingFunctions
{
    [Function("GetPricingCatalog")]
    [Authorize(AuthPolicies.Read)]
    public static IResult GetPricingCatalog([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/pricing")] HttpRequest request) =>
        EndpointHandler.Run(PricingEndpoints.GetCatalogAsync);

    [Function("ListUnpricedModels")]
    [Authorize(AuthPolicies.Read)]
    public static IResult ListUnpricedModels([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/pricing/unpriced")] HttpRequest request) =>
        EndpointHandler.Run(PricingEndpoints.GetUnpricedAsync);
}
