using System.Reflection;
using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.OpenApi;
using AgentSpend.Core.Domain;
using Microsoft.AspNetCore.Http.HttpResults;
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
        services.AddOpenApi(DocumentName, options => options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new OpenApiInfo
            {
                Title = "AgentSpend",
                Version = Health.HealthEndpoints.Version,
                Description = "Usage, cost and governance of AI agents. Every endpoint but health and this document takes `Authorization: Bearer <key>` or `x-api-key: <key>`; errors are RFC 9457 problem+json.",
            };
            return Task.CompletedTask;
        }).AddOperationTransformer((operation, context, _) =>
        {
            // Filters and paging are bound as objects from the query as a whole (any tag.<key> may be given), so what
            // they read is described here, for the handlers that take them.
            foreach (var parameter in context.Description.ActionDescriptor.EndpointMetadata.OfType<MethodInfo>().FirstOrDefault()?.GetParameters() ?? [])
            {
                if (parameter.ParameterType == typeof(MetricsFilters))
                {
                    foreach (var dimension in Core.Metrics.MetricsFilter.FilterDimensions)
                    {
                        Add(operation, dimension.Name(), $"Only events whose {dimension.Name()} is this value.");
                    }

                    Add(operation, "tag.{key}", "Only events whose tag {key} has this value (any tag key; several may be given).");
                }
                else if (parameter.ParameterType == typeof(Paging))
                {
                    var size = PageSizeAttribute.Of(parameter);
                    Add(operation, Paging.LimitName, $"Page size, 1 to {size.Max} (default {size.Default}).");
                    Add(operation, Paging.CursorName, "The next_cursor of the previous page.");
                }
            }

            var path = "/" + (context.Description.RelativePath ?? "");

            var runList = path.TrimEnd('/') is "/api/v1/runs" or "/api/v1/sessions";
            if (runList)
            {
                Add(operation, "range", "today, yesterday, 7d, 30d, 90d, mtd or custom (with from and to); default: the last 30 local days.");
                Add(operation, "from", "First local day, YYYY-MM-DD.");
                Add(operation, "to", "Last local day, YYYY-MM-DD.");
                Add(operation, "agent", "Only runs of this agent.");
                Add(operation, "user", "Only runs of this user.");
                Add(operation, "team", "Only runs of this team.");
                Add(operation, "status", "active or completed.");
            }

            if (path.TrimEnd('/') is "/api/v1/alerts" && operation.Parameters?.OfType<OpenApiParameter>().FirstOrDefault(p => p.Name == "kind") is { } kind)
            {
                kind.Description = $"Only alerts of this kind: {string.Join(", ", Core.Alerts.Alert.Kinds)}.";
            }

            return Task.CompletedTask;
        }));

    private static void Add(OpenApiOperation operation, string name, string description)
    {
        operation.Parameters ??= [];
        if (operation.Parameters.All(p => p.Name != name))
        {
            operation.Parameters.Add(new OpenApiParameter { Name = name, In = ParameterLocation.Query, Required = false, Description = description, Schema = new OpenApiSchema { Type = JsonSchemaType.String } });
        }
    }

    public const string DocumentName = "v1";

    /// <summary>The document as JSON, built from the functions' endpoints (see <see cref="Hosting.FunctionEndpoints"/>) under either host.</summary>
    public static async Task<ContentHttpResult> GetDocumentAsync([FromKeyedServices(DocumentName)] IOpenApiDocumentProvider documents, CancellationToken cancellationToken)
    {
        var document = await documents.GetOpenApiDocumentAsync(cancellationToken).ConfigureAwait(false);
        return TypedResults.Text(await document.SerializeAsJsonAsync(OpenApiSpecVersion.OpenApi3_1, cancellationToken).ConfigureAwait(false), "application/json", System.Text.Encoding.UTF8);
    }
}
