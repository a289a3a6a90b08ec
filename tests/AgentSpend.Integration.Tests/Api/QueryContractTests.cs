using System.Text.RegularExpressions;
using AgentSpend.Integration.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.Api;

/// <summary>Unknown query parameters are refused in one place, for every API endpoint, before its handler runs.</summary>
public sealed partial class QueryContractTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly Dictionary<string, string?> Settings = new() { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" };

    [Fact]
    public async Task Every_api_route_and_method_refuses_a_parameter_it_does_not_take_with_400_naming_it()
    {
        await using var app = await TestApp.StartAsync(azurite, Settings);
        var routes = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText!.StartsWith("/api/", StringComparison.Ordinal))
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => (Method: m, Pattern: e.RoutePattern.RawText!)))
            .Distinct()
            .ToArray();

        var wrong = new List<string>();
        foreach (var (method, pattern) in routes)
        {
            var path = RouteParameter().Replace(pattern, "x") + "?zz_not_a_parameter=1";
            var reply = await app.SendAsync(method, path);
            if (reply.Status != 400 || reply.Body?.GetProperty("errors")[0].Str("field") != "zz_not_a_parameter")
            {
                wrong.Add($"{method} {path}: {reply.Status} {reply.Text}");
            }
        }

        Assert.True(routes.Length > 60, $"only {routes.Length} routes found");
        Assert.Empty(wrong);
    }

    [Fact]
    public async Task What_an_endpoint_takes_passes_and_the_refusal_says_what_it_takes()
    {
        await using var app = await TestApp.StartAsync(azurite, Settings);

        Assert.Equal(200, (await app.SendAsync("GET", "/api/v1/metrics/overview?range=7d&agent=coder&tag.repo=web")).Status);
        Assert.Equal(200, (await app.SendAsync("GET", "/api/v1/metrics/breakdown?by=model&sort=tokens&top=3&format=json&team=core")).Status);
        Assert.Equal(200, (await app.SendAsync("GET", "/api/v1/alerts?kind=spend_spike&status=delivered&limit=5")).Status);
        Assert.Equal(200, (await app.SendAsync("GET", "/api/v1/runs?status=active&limit=3&agent=coder")).Status);
        Assert.Equal(200, (await app.SendAsync("GET", "/api/v1/events?limit=5&model=m&range=7d")).Status);
        Assert.Equal(200, (await app.SendAsync("GET", "/api/v1/audit?key_id=abc&limit=2")).Status);

        var alerts = await app.SendAsync("GET", "/api/v1/alerts?limt=5");
        Assert.Equal((400, "limt", "'limt' is not a parameter here; use cursor, kind, limit, status."),
            (alerts.Status, alerts.Body!.Value.GetProperty("errors")[0].Str("field"), alerts.Body.Value.GetProperty("errors")[0].Str("reason")));
        var metrics = await app.SendAsync("GET", "/api/v1/metrics/overview?agnet=coder");
        Assert.Equal("'agnet' is not a parameter here; use from, range, to, or the filters agent, model, provider, user, team, harness, repo, key and tag.<key>.",
            metrics.Body!.Value.GetProperty("errors")[0].Str("reason"));
        Assert.Equal(401, (await app.SendAsync("GET", "/api/v1/alerts?limt=5", key: null)).Status); // no key, nothing learnt
    }

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex RouteParameter();
}
