using System.Text.Json;
using AgentSpend.Functions;
using AgentSpend.Functions.Hosting;
using AgentSpend.Integration.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.Hosting;

/// <summary>Local mode serves and triggers exactly what the build generated for the Functions host: no route, queue or schedule of its own.</summary>
public sealed class LocalModeContractTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Local_mode_serves_exactly_the_generated_http_functions_and_runs_exactly_their_queues_and_schedules()
    {
        var generated = await GeneratedAsync();
        await using var app = await TestApp.StartAsync(azurite);

        var served = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Select(e => $"{e.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName} {string.Join(',', e.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods)} {e.RoutePattern.RawText}")
            .Order(StringComparer.Ordinal);
        Assert.Equal(generated.Where(g => g.Contains(" http ", StringComparison.Ordinal)).Select(g => g.Replace(" http ", " ", StringComparison.Ordinal)).Order(StringComparer.Ordinal), served);

        // Under the Functions host the same endpoints describe the functions the host invokes.
        var described = app.Services.GetRequiredService<FunctionEndpoints>().All
            .Select(e => $"{e.DisplayName} {string.Join(',', e.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods)} {e.RoutePattern.RawText}")
            .Order(StringComparer.Ordinal);
        Assert.Equal(served, described);

        var listening = await WaitForLinesAsync(app, "listening on queue", 2);
        Assert.Equal(
            generated.Where(g => g.Contains(" queue ", StringComparison.Ordinal)).Select(g => $"{g.Split(' ')[0]} {g.Split(' ')[2]}").Order(StringComparer.Ordinal),
            listening.Select(l => Between(l, "Function ", " (batch")).Select(s => s.Replace(" listening on queue ", " ", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        var scheduled = await WaitForLinesAsync(app, "scheduled:", 4);
        Assert.Equal(
            generated.Where(g => g.Contains(" timer ", StringComparison.Ordinal)).Select(g => g.Replace(" timer ", ": ", StringComparison.Ordinal)).Order(StringComparer.Ordinal),
            scheduled.Select(l => Between(l, "Timer function ", " (UTC)").Replace(" scheduled:", ":", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
    }

    /// <summary>Each generated function as "name http METHODS /route", "name queue queue-name" or "name timer schedule".</summary>
    private static async Task<string[]> GeneratedAsync()
    {
        var functions = await new GeneratedFunctionMetadataProvider().GetFunctionMetadataAsync(AppContext.BaseDirectory);
        return [.. functions.Select(f =>
        {
            using var binding = JsonDocument.Parse(f.RawBindings!.Single(b => b.Contains("Trigger\"", StringComparison.Ordinal)));
            var b = binding.RootElement;
            return b.GetProperty("type").GetString() switch
            {
                "httpTrigger" => $"{f.Name} http {string.Join(',', b.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!.ToUpperInvariant()))} /{b.GetProperty("route").GetString()}",
                "queueTrigger" => $"{f.Name} queue {b.GetProperty("queueName").GetString()}",
                var other => $"{f.Name} timer {b.GetProperty("schedule").GetString()}",
            };
        })];
    }

    private static async Task<string[]> WaitForLinesAsync(TestApp app, string marker, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        string[] lines;
        while ((lines = [.. app.LogLines.Where(l => l.Contains(marker, StringComparison.Ordinal))]).Length < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        return lines;
    }

    private static string Between(string line, string start, string end)
    {
        var from = line.IndexOf(start, StringComparison.Ordinal) + start.Length;
        return line[from..line.IndexOf(end, from, StringComparison.Ordinal)];
    }
}
