using System.Text.Json;
using System.Text.RegularExpressions;
using AgentSpend.Integration.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.Api;

public sealed class OpenApiDocumentTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task The_document_describes_every_endpoint_the_app_serves_and_needs_no_key()
    {
        await using var app = await TestApp.StartAsync(azurite);

        var reply = await app.SendAsync("GET", "/api/openapi.json", key: null);
        var document = reply.Body!.Value;
        var described = document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Select(method => $"{method.Name.ToUpperInvariant()} {path.Name}"))
            .ToHashSet(StringComparer.Ordinal);
        var served = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText!.StartsWith("/api/", StringComparison.Ordinal) && e.RoutePattern.RawText != "/api/openapi.json")
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                .Select(m => $"{m} {Regex.Replace(e.RoutePattern.RawText!, @"\{\*{0,2}([^}:?]+)[^}]*\}", "{$1}").TrimEnd('/')}"))
            .ToArray();

        Assert.Equal((200, "application/json"), (reply.Status, reply.MediaType));
        Assert.StartsWith("3.", document.Str("openapi"), StringComparison.Ordinal);
        Assert.Equal("AgentSpend", document.GetProperty("info").Str("title"));
        Assert.True(served.Length >= 25, $"only {served.Length} endpoints found");
        var missing = served.Where(s => !described.Contains(s)).ToArray();
        Assert.True(missing.Length == 0, "not described: " + string.Join(", ", missing));
        // Typed results are described: the overview's answer names its fields as the API writes them.
        var overview = document.GetProperty("paths").GetProperty("/api/v1/metrics/overview").GetProperty("get");
        Assert.Contains("\"cost_usd\"", JsonSerializer.Serialize(document.GetProperty("components")), StringComparison.Ordinal);
        Assert.Contains(overview.GetProperty("parameters").EnumerateArray(), p => p.Str("name") == "range");

        // Filters and paging, read from the query as a whole, are described too.
        string[] Parameters(string path) =>
            [.. document.GetProperty("paths").GetProperty(path).GetProperty("get").GetProperty("parameters").EnumerateArray().Select(p => p.Str("name")!)];
        Assert.Superset(new HashSet<string> { "agent", "model", "provider", "user", "team", "harness", "repo", "tag.{key}" }, Parameters("/api/v1/metrics/overview").ToHashSet());
        Assert.Superset(new HashSet<string> { "agent", "limit", "cursor" }, Parameters("/api/v1/events").ToHashSet());
        Assert.Superset(new HashSet<string> { "limit", "cursor" }, Parameters("/api/v1/runs/{id}/events").ToHashSet());
        Assert.Superset(new HashSet<string> { "range", "agent", "status", "limit", "cursor" }, Parameters("/api/v1/sessions").ToHashSet());
        var kind = document.GetProperty("paths").GetProperty("/api/v1/alerts").GetProperty("get").GetProperty("parameters").EnumerateArray().Single(p => p.Str("name") == "kind");
        Assert.Equal("Only alerts of this kind: budget_threshold, unpriced_model, spend_spike, ingest_poisoned.", kind.Str("description"));
    }
}
