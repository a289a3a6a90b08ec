using AgentSpend.Integration.Tests.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.Auth;

/// <summary>Every route either names the policy a key must satisfy or says it is open to anyone; nothing is open by omission.</summary>
public sealed class DenyByDefaultTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    /// <summary>What anyone may reach: health, the OpenAPI document and the dashboard's files.</summary>
    private static readonly string[] OpenByDesign = ["/api/health", "/api/health/live", "/api/health/ready", "/api/openapi.json", "/dashboard/{**path}"];

    [Fact]
    public async Task Every_route_either_requires_a_policy_or_is_explicitly_anonymous()
    {
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" });
        var routes = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToArray();

        var neither = routes.Where(e => e.Metadata.GetMetadata<IAllowAnonymous>() is null && e.Metadata.GetOrderedMetadata<IAuthorizeData>().Count == 0)
            .Select(e => e.RoutePattern.RawText).ToArray();
        var open = routes.Where(e => e.Metadata.GetMetadata<IAllowAnonymous>() is not null).Select(e => e.RoutePattern.RawText!).Distinct().Order(StringComparer.Ordinal).ToArray();

        Assert.True(routes.Length > 40, $"only {routes.Length} routes found");
        Assert.Empty(neither);
        Assert.Equal(OpenByDesign.Order(StringComparer.Ordinal), open);
    }

    [Theory]
    [InlineData("GET", "/api/v1/no-such-thing")]
    [InlineData("POST", "/api/v1/no-such-thing")]
    [InlineData("GET", "/no-such-thing")]
    [InlineData("GET", "/AggregateUsage")]
    public async Task A_path_nothing_serves_answers_401_without_a_key_and_404_with_one(string method, string path)
    {
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" });

        var anonymous = await app.SendAsync(method, path, key: null);
        var keyed = await app.SendAsync(method, path);

        Assert.Equal(401, anonymous.Status);
        Assert.Equal(404, keyed.Status);
    }
}
