using System.ComponentModel;
using System.Reflection;

namespace AgentSpend.Functions.Hosting.Local;

/// <summary>
/// Local mode's HTTP functions: each HTTP trigger of the <see cref="FunctionCatalog"/> mapped at its route and methods,
/// with its method's attributes as endpoint metadata (authorization, accepted query parameters), invoking the same
/// method the Functions host invokes and executing its <see cref="IResult"/>.
/// </summary>
public static class LocalFunctionEndpoints
{
    public static IEndpointRouteBuilder MapFunctions(this IEndpointRouteBuilder app, FunctionCatalog catalog, string routePrefix)
    {
        foreach (var function in catalog.Functions.Where(f => f.IsHttp))
        {
            app.MapMethods(FunctionEndpoints.PatternOf(function, routePrefix), function.Methods, http => InvokeAsync(function.Method, http))
                .WithName(function.Name)
                .WithMetadata([.. FunctionEndpoints.MetadataOf(function, app.ServiceProvider)]);
        }

        return app;
    }

    /// <summary>Binds the method's parameters from the request, runs it and executes what it returned.</summary>
    internal static async Task InvokeAsync(MethodInfo method, HttpContext http)
    {
        var arguments = method.GetParameters().Select(p => Bind(p, http)).ToArray();
        if (await LocalFunctionInvoker.InvokeMethodAsync(method, http.RequestServices, arguments).ConfigureAwait(false) is IResult result)
        {
            await result.ExecuteAsync(http).ConfigureAwait(false);
        }
    }

    private static object? Bind(ParameterInfo parameter, HttpContext http)
    {
        if (parameter.ParameterType == typeof(HttpRequest))
        {
            return http.Request;
        }

        if (parameter.ParameterType == typeof(CancellationToken))
        {
            return http.RequestAborted;
        }

        if (http.Request.RouteValues.TryGetValue(parameter.Name!, out var value) && value is not null)
        {
            return parameter.ParameterType == typeof(string) ? value.ToString() : TypeDescriptor.GetConverter(parameter.ParameterType).ConvertFromInvariantString(value.ToString()!);
        }

        return parameter.HasDefaultValue ? parameter.DefaultValue : throw new InvalidOperationException(
            $"Function method {method(parameter)} has a parameter '{parameter.Name}' that local mode cannot bind.");

        static string method(ParameterInfo p) => $"{p.Member.DeclaringType?.Name}.{p.Member.Name}";
    }
}
