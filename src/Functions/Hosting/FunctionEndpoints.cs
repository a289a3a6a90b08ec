using AgentSpend.Functions.Hosting.Local;
using Microsoft.AspNetCore.Routing.Patterns;

namespace AgentSpend.Functions.Hosting;

/// <summary>
/// Each HTTP function as an ASP.NET Core endpoint: its route (with host.json's prefix), its methods, and as metadata its
/// method's attributes (authorization, rate limiting, query contracts) and its handler's signature (parameters and
/// typed results, for the OpenAPI description and the query contracts). Local mode maps these; under the Functions host
/// the worker middleware sets the invoked function's endpoint on the request, so the shared pipeline reads the same.
/// </summary>
public sealed class FunctionEndpoints
{
    private readonly Dictionary<string, RouteEndpoint> _byName;

    public FunctionEndpoints(FunctionCatalog catalog, string routePrefix, IServiceProvider services)
    {
        _byName = catalog.Functions.Where(f => f.IsHttp).ToDictionary(f => f.Name, f => Build(f, routePrefix, services), StringComparer.Ordinal);
    }

    public IReadOnlyCollection<RouteEndpoint> All => _byName.Values;

    public RouteEndpoint? Find(string functionName) => _byName.GetValueOrDefault(functionName);

    public static string PatternOf(FunctionEntry function, string routePrefix) =>
        "/" + string.Join('/', new[] { routePrefix, function.Route ?? function.Name }.Where(p => p.Length > 0));

    /// <summary>The metadata of a function's endpoint, in the order minimal APIs would give it.</summary>
    public static IReadOnlyList<object> MetadataOf(FunctionEntry function, IServiceProvider services)
    {
        var metadata = new List<object>();
        if (function.Method.IsStatic && EndpointHandler.Of(function.Method) is { } handler)
        {
            // Described by its handler's signature (query parameters, typed results), as a minimal API endpoint is.
            var inferred = RequestDelegateFactory.InferMetadata(handler.Method, new RequestDelegateFactoryOptions { ServiceProvider = services });
            metadata.Add(handler.Method);
            metadata.AddRange(inferred.EndpointMetadata);
        }

        metadata.AddRange(function.Method.GetCustomAttributes(inherit: true));
        metadata.Add(new HttpMethodMetadata(function.Methods));
        metadata.Add(new EndpointNameMetadata(function.Name));
        return metadata;
    }

    private static RouteEndpoint Build(FunctionEntry function, string routePrefix, IServiceProvider services) =>
        new(
            // Never run: under the Functions host the function itself runs, after the pipeline.
            _ => throw new InvalidOperationException($"The endpoint of function {function.Name} describes it; the host invokes it."),
            RoutePatternFactory.Parse(PatternOf(function, routePrefix)),
            order: 0,
            new EndpointMetadataCollection(MetadataOf(function, services)),
            function.Name);
}
