using System.Text.Json;
using AgentSpend.Functions.Hosting;
using AgentSpend.Functions.Hosting.Worker;
using AgentSpend.Integration.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Moq;

namespace AgentSpend.Integration.Tests.Hosting;

/// <summary>
/// The worker's side of the shared request pipeline, driven as the Functions host drives it (a FunctionContext whose
/// HttpContext is the request), against the same storage as a local-mode app: a request it refuses gets the answer local
/// mode gives, status, problem and headers alike, and the function is never invoked.
/// </summary>
public sealed class WorkerPipelineTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Under_the_Functions_host_a_refused_request_gets_the_answer_local_mode_gives_and_the_function_does_not_run()
    {
        await using var local = await TestApp.StartAsync(azurite);
        var (_, readOnly) = await local.CreateWorkspaceAsync(new { name = "worker-pipeline" }, "read");
        using var worker = FunctionsWorkerApp.CreateBuilder(
        [
            "--functions-uri", "http://127.0.0.1:1/",
            "--AzureWebJobsStorage", azurite.ConnectionString,
            "--AGENTSPEND_ADMIN_KEY", TestApp.AdminKey,
            "--AGENTSPEND_SECRET_KEY", TestApp.SecretKey,
        ]).Build();
        var pipeline = ActivatorUtilities.CreateInstance<FunctionsRequestPipeline>(worker.Services);
        var endpoints = worker.Services.GetRequiredService<FunctionEndpoints>();

        var cases = new (string Function, string Method, string Path, string? Key, int Status)[]
        {
            ("ListBudgets", "GET", "/api/v1/budgets", null, 401),
            ("ListBudgets", "GET", "/api/v1/budgets", "as_not_a_key_of_this_app_0123456789abcdef", 401),
            ("ListBudgets", "GET", "/api/v1/budgets?bogus=1", TestApp.AdminKey, 400),
            ("GetMetricsOverview", "GET", "/api/v1/metrics/overview?agnet=coder", TestApp.AdminKey, 400),
            ("CreateBudget", "POST", "/api/v1/budgets", readOnly, 403),
        };
        Assert.Equal(71, endpoints.All.Count);
        foreach (var (function, method, path, key, status) in cases)
        {
            Assert.NotNull(endpoints.Find(function));
            var expected = await local.SendAsync(method, path, key: key);
            await using var scope = worker.Services.CreateAsyncScope();
            var http = Request(scope.ServiceProvider, method, path, key);
            var invoked = false;

            await pipeline.Invoke(Context(function, http), _ =>
            {
                invoked = true;
                return Task.CompletedTask;
            });

            await ((StartingResponse)http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseFeature>()!).StartAsync();
            Assert.False(invoked, $"{function} ran");
            Assert.Equal((status, status), (expected.Status, http.Response.StatusCode));
            var body = JsonDocument.Parse(((MemoryStream)http.Response.Body).ToArray()).RootElement;
            Assert.Equal(Without(expected.Body!.Value, "trace_id"), Without(body, "trace_id"));
            Assert.Equal("nosniff", http.Response.Headers.XContentTypeOptions.ToString());
            Assert.Equal(expected.MediaType, http.Response.ContentType?.Split(';')[0]);
        }
    }

    [Fact]
    public async Task Under_the_Functions_host_the_openapi_document_describes_the_functions_as_local_mode_does()
    {
        await using var local = await TestApp.StartAsync(azurite);
        using var worker = FunctionsWorkerApp.CreateBuilder(
        [
            "--functions-uri", "http://127.0.0.1:1/",
            "--AzureWebJobsStorage", azurite.ConnectionString,
            "--AGENTSPEND_ADMIN_KEY", TestApp.AdminKey,
            "--AGENTSPEND_SECRET_KEY", TestApp.SecretKey,
        ]).Build();

        var described = await worker.Services.GetRequiredKeyedService<Microsoft.AspNetCore.OpenApi.IOpenApiDocumentProvider>(Functions.OpenApi.OpenApiEndpoints.DocumentName)
            .GetOpenApiDocumentAsync(CancellationToken.None);
        var served = (await local.SendAsync("GET", "/api/openapi.json", key: null)).Body!.Value.GetProperty("paths");

        Assert.Equal(served.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal), described.Paths.Keys.Order(StringComparer.Ordinal));
        Assert.Contains(described.Paths["/api/v1/metrics/overview"].Operations![System.Net.Http.HttpMethod.Get].Parameters!, p => p.Name == "range");
    }

    [Fact]
    public async Task Under_the_Functions_host_the_worker_sends_its_telemetry_to_application_insights_and_local_mode_does_not()
    {
        await using var local = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" });
        using var worker = FunctionsWorkerApp.CreateBuilder(
        [
            "--functions-uri", "http://127.0.0.1:1/",
            "--AzureWebJobsStorage", azurite.ConnectionString,
            "--AGENTSPEND_ADMIN_KEY", TestApp.AdminKey,
            "--AGENTSPEND_SECRET_KEY", TestApp.SecretKey,
        ]).Build();

        Assert.NotNull(worker.Services.GetService<Microsoft.ApplicationInsights.TelemetryClient>());
        Assert.Null(local.Services.GetService<Microsoft.ApplicationInsights.TelemetryClient>());
    }

    private static DefaultHttpContext Request(IServiceProvider services, string method, string pathAndQuery, string? key)
    {
        var http = new DefaultHttpContext { RequestServices = services };
        var query = pathAndQuery.IndexOf('?', StringComparison.Ordinal);
        http.Request.Method = method;
        http.Request.Path = query < 0 ? pathAndQuery : pathAndQuery[..query];
        http.Request.QueryString = query < 0 ? QueryString.Empty : new QueryString(pathAndQuery[query..]);
        http.Connection.RemoteIpAddress = System.Net.IPAddress.Loopback;
        if (key is not null)
        {
            http.Request.Headers.Authorization = $"Bearer {key}";
        }

        http.Features.Set<Microsoft.AspNetCore.Http.Features.IHttpResponseFeature>(new StartingResponse());
        http.Response.Body = new MemoryStream();
        return http;
    }

    /// <summary>A response that runs its OnStarting callbacks when told, as a server does when it sends the headers.</summary>
    private sealed class StartingResponse : Microsoft.AspNetCore.Http.Features.HttpResponseFeature
    {
        private readonly List<(Func<object, Task> Callback, object State)> _starting = [];

        public override void OnStarting(Func<object, Task> callback, object state) => _starting.Add((callback, state));

        public async Task StartAsync()
        {
            foreach (var (callback, state) in Enumerable.Reverse(_starting))
            {
                await callback(state);
            }
        }
    }

    private static FunctionContext Context(string function, HttpContext http)
    {
        var definition = new Mock<FunctionDefinition>();
        definition.Setup(d => d.Name).Returns(function);
        var context = new Mock<FunctionContext>();
        context.Setup(c => c.FunctionDefinition).Returns(definition.Object);
        context.Setup(c => c.Items).Returns(new Dictionary<object, object> { ["HttpRequestContext"] = http });
        return context.Object;
    }

    private static string Without(JsonElement problem, string field) =>
        JsonSerializer.Serialize(problem.EnumerateObject().Where(p => p.Name != field).ToDictionary(p => p.Name, p => p.Value));
}
