using System.Collections.Concurrent;
using System.Reflection;

namespace AgentSpend.Functions.Hosting;

/// <summary>
/// Runs an endpoint's handler for an HTTP function, under either host: its parameters bound from the request (route
/// values, query, body, services, <see cref="Caller"/>) and its result written, exactly as ASP.NET Core minimal APIs do,
/// so that a function stays one line over the handler that its tests call directly.
/// </summary>
public static class EndpointHandler
{
    // Keyed by the delegate (its method and target): a lambda that captured nothing is the same every time.
    private static readonly ConcurrentDictionary<Delegate, RequestDelegate> Delegates = new();

    /// <summary>The result an HTTP function returns: executing it runs <paramref name="handler"/> on the request.</summary>
    public static IResult Run(Delegate handler) => new HandlerResult(handler);

    /// <summary>
    /// The handler an HTTP function runs, found by calling it with a request that is never read (a function only names
    /// its handler), so that what describes the API (OpenAPI, parameters, typed results) is the handler's signature.
    /// </summary>
    public static Delegate? Of(MethodInfo function)
    {
        var placeholder = new DefaultHttpContext().Request;
        var arguments = function.GetParameters().Select(p => p.ParameterType == typeof(HttpRequest) ? placeholder : (object?)null).ToArray();
        return function.Invoke(null, arguments) is HandlerResult result ? result.Handler : null;
    }

    private sealed class HandlerResult(Delegate handler) : IResult
    {
        public Delegate Handler => handler;

        public Task ExecuteAsync(HttpContext httpContext)
        {
            // The route's parameters bind from the route only, as in minimal APIs (never from a query parameter of the same name).
            var run = Delegates.GetOrAdd(handler, static (_, state) => RequestDelegateFactory.Create(
                state.Handler, new RequestDelegateFactoryOptions { ServiceProvider = state.Services, RouteParameterNames = state.Route }).RequestDelegate,
                (Handler: handler, Services: httpContext.RequestServices, Route: (IEnumerable<string>)[.. httpContext.Request.RouteValues.Keys]));
            return run(httpContext);
        }
    }
}
