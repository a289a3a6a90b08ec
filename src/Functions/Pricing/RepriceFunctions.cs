using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Azure.Functions.Worker;

namespace AgentSpend.Functions.Pricing;

public static class RepriceFunctions
{
    [Function("Reprice")]
    [Authorize(AuthPolicies.Admin)]
    public static IResult Reprice([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/v1/pricing/reprice")] HttpRequest request) =>
        EndpointHandler.Run(RepriceEndpoints.RepriceAsync);
}
