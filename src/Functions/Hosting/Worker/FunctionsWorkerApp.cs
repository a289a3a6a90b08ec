using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;

namespace AgentSpend.Functions.Hosting.Worker;

/// <summary>The app under the Functions host: the isolated worker, with ASP.NET Core integration and the shared request pipeline.</summary>
public static class FunctionsWorkerApp
{
    /// <summary>
    /// Whether the Functions host started this process: it always passes <c>--functions-uri</c> (which the worker reads as
    /// <c>Functions:Worker:HostEndpoint</c>) and, in older versions, <c>--workerId</c>. Not <c>FUNCTIONS_WORKER_RUNTIME</c>:
    /// a developer's shell or local.settings.json may carry that too.
    /// </summary>
    public static bool StartedByFunctionsHost(IReadOnlyCollection<string> args) =>
        args.Contains("--functions-uri") || args.Contains("--workerId");

    public static FunctionsApplicationBuilder CreateBuilder(string[] args)
    {
        var builder = FunctionsApplication.CreateBuilder(args);
        builder.ConfigureFunctionsWebApplication();

        // The worker's own telemetry (requests, dependencies, logs) to Application Insights, with the identity's
        // APPLICATIONINSIGHTS_* settings; without them, nothing is sent.
        builder.Services.AddApplicationInsightsTelemetryWorkerService().ConfigureFunctionsApplicationInsights();
        builder.Services.AddAgentSpendServices(builder.Configuration, new AppHost(AppHostKind.FunctionsHost));

        // No routing under the host: the functions' endpoints are what the OpenAPI description is built from.
        builder.Services.AddSingleton<EndpointDataSource>(sp => new DefaultEndpointDataSource(sp.GetRequiredService<FunctionEndpoints>().All));
        builder.UseMiddleware<FunctionsRequestPipeline>();
        return builder;
    }
}
