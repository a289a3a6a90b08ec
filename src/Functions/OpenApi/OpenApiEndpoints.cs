using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace AgentSpend.Functions.OpenApi;

/// <summary>
/// /api/openapi.json: the API described from the endpoints themselves (routes, parameters, typed results),
/// so it cannot drift from what the app serves. Open to anyone, like health: it holds no data.
/// </summary>
public static class OpenApiEndpoints
{
    public const string DocumentPath = "/api/openapi.json";

    public static IServiceCollection AddAgentSpendOpenApi(this IServiceCollection services) =>
        services.AddOpenApi("v1", options => options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new OpenApiInfo
            {
                Title = "AgentSpend",
                Version = Health.HealthEndpoints.Version,
                Description = "Usage, cost and governance of AI agents. Every endpoint but health and this document takes `Authorization: Bearer <key>` or `x-api-key: <key>`; errors are RFC 9457 problem+json.",
            };
            return Task.CompletedTask;
        }));

    public static void MapOpenApiDocument(this IEndpointRouteBuilder app) =>
        app.MapOpenApi(DocumentPath).AllowAnonymous();
}
