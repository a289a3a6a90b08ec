using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Azure.Functions.Worker;

namespace AgentSpend.Functions.OpenApi;

public static class OpenApiFunctions
{
    [Function("GetOpenApiDocument")]
    [AllowAnonymous]
    [ExcludeFromDescription]
    public static IResult GetDocument([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/openapi.json")] HttpRequest request) =>
        EndpointHandler.Run(OpenApiEndpoints.GetDocumentAsync);
}
