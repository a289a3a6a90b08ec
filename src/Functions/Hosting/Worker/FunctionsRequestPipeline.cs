using Microsoft.AspNetCore.Routing.Template;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;

namespace AgentSpend.Functions.Hosting.Worker;

/// <summary>
/// Under the Functions host: runs the shared <see cref="RequestPipeline"/> around each HTTP function. The invoked
/// function's endpoint (its attributes, its handler's signature) is set on the request and its route values are matched
/// from its route, as routing does in local mode; the pipeline's last step invokes the function and executes the
/// <see cref="IResult"/> it returned, inside the pipeline, so that its errors get the same problem details.
/// </summary>
public sealed class FunctionsRequestPipeline : IFunctionsWorkerMiddleware
{
    private const string InvocationKey = "AgentSpend.FunctionInvocation";

    private readonly FunctionEndpoints _endpoints;
    private readonly Dictionary<string, TemplateMatcher> _matchers;
    private readonly RequestDelegate _pipeline;

    public FunctionsRequestPipeline(IServiceProvider services, FunctionEndpoints endpoints)
    {
        _endpoints = endpoints;
        _matchers = endpoints.All.ToDictionary(
            e => e.DisplayName!, e => new TemplateMatcher(TemplateParser.Parse(e.RoutePattern.RawText!.TrimStart('/')), []), StringComparer.Ordinal);
        var app = new ApplicationBuilder(services);
        app.UseAgentSpendPipeline();
        app.Run(http => ((Func<Task>)http.Items[InvocationKey]!)());
        _pipeline = app.Build();
    }

    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        if (context.GetHttpContext() is not { } http || _endpoints.Find(context.FunctionDefinition.Name) is not { } endpoint)
        {
            await next(context).ConfigureAwait(false); // queue and timer functions
            return;
        }

        Prepare(http, endpoint, _matchers[endpoint.DisplayName!]);
        http.Items[InvocationKey] = async () =>
        {
            await next(context).ConfigureAwait(false);
            var invocation = context.GetInvocationResult();
            if (invocation.Value is IResult result)
            {
                // Executed here, not after the pipeline by the ASP.NET Core integration: an error it throws is the pipeline's to answer.
                invocation.Value = Results.Empty;
                await result.ExecuteAsync(http).ConfigureAwait(false);
            }
        };
        await _pipeline(http).ConfigureAwait(false);
    }

    /// <summary>What routing gives a request in local mode: its endpoint, and the route values of its function's route.</summary>
    internal static void Prepare(HttpContext http, RouteEndpoint endpoint, TemplateMatcher matcher)
    {
        var values = new RouteValueDictionary();
        if (matcher.TryMatch(http.Request.Path, values))
        {
            foreach (var (key, value) in values)
            {
                http.Request.RouteValues[key] = value;
            }
        }

        http.SetEndpoint(endpoint);
    }
}
