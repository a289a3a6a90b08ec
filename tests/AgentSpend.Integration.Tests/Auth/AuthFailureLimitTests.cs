using AgentSpend.Core.Auth;
using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Auth;

/// <summary>An address that keeps presenting bad keys is turned away with 429 before its keys cost a lookup.</summary>
public sealed class AuthFailureLimitTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Past_the_failures_a_minute_allows_an_address_gets_429_with_retry_after()
    {
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" });

        var statuses = new List<int>();
        for (var i = 0; i < AuthFailureLimiter.MaxFailuresPerMinute + 5; i++)
        {
            statuses.Add((await app.SendAsync("GET", "/api/v1/metrics/overview", key: $"as_default_{i:D43}")).Status);
        }

        var limited = await app.SendAsync("GET", "/api/v1/metrics/overview", key: "as_default_not_a_key_either_000000000000000000000");
        var anonymous = await app.SendAsync("GET", "/api/health", key: null);

        Assert.Equal(Enumerable.Repeat(401, AuthFailureLimiter.MaxFailuresPerMinute).Concat(Enumerable.Repeat(429, 5)), statuses);
        Assert.Equal((429, "application/problem+json"), (limited.Status, limited.MediaType));
        Assert.InRange(limited.RetryAfter!.Value.TotalSeconds, 1, 60);
        Assert.Contains("Too many requests with keys that are not valid", limited.Text, StringComparison.Ordinal);
        Assert.Equal("too_many_failed_authentications", limited.Body!.Value.Str("reason")); // the one 429 shape: a reason beside Retry-After
        Assert.Equal(200, anonymous.Status); // what needs no key is not held up
    }

    [Theory]
    [InlineData("", false)]
    [InlineData("short", false)]
    [InlineData("as_default_with space_0000000000000", false)]
    [InlineData("as_default_\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9", false)]
    [InlineData("as_test_admin_key_0123456789abcdefghijklmnop", true)]
    public void A_key_that_cannot_be_one_costs_no_lookup(string key, bool plausible) =>
        Assert.Equal(plausible, ApiKeyService.IsPlausible(key));
}
