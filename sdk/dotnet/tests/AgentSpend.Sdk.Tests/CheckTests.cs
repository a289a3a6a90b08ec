using System.Text.Json;
using AgentSpend.Sdk;
using Xunit;

namespace AgentSpend.Sdk.Tests;

public class CheckTests
{
    [Fact]
    public async Task AllowedCheckSendsTheRequestAndReadsRemaining()
    {
        using var server = new FakeHandler((_, _) => FakeHandler.Reply(200, "{\"allowed\":true,\"remaining\":{\"b-1\":12.5,\"b-2\":3}}"));
        await using var client = TestClient.Create(server, o => o.Defaults = new UsageEvent { Team = "ops" });

        var result = await client.CheckAsync(new CheckRequest { Model = "gpt-4o", EstimatedCostUsd = 0.40m });

        Assert.True(result.Allowed);
        Assert.False(result.FailedOpen);
        Assert.Null(result.Reservation);
        Assert.Equal(12.5m, result.Remaining["b-1"]);
        Assert.Equal(3m, result.Remaining["b-2"]);
        var request = Assert.Single(server.Requests);
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("http://agentspend.test/api/v1/check", request.Uri.ToString());
        Assert.Equal("Bearer " + TestClient.Key, request.Authorization);
        Assert.Null(request.ContentEncoding);
        Assert.Equal("{\"agent_name\":\"bot\",\"team\":\"ops\",\"model\":\"gpt-4o\",\"estimated_cost_usd\":0.40}", request.Text);
    }

    [Fact]
    public async Task ReserveAsksToHoldAndReadsTheReservation()
    {
        using var server = new FakeHandler((_, _) => FakeHandler.Reply(
            200,
            "{\"allowed\":true,\"remaining\":{\"b-1\":9.6},\"reservation\":{\"id\":\"res/1\",\"expires_at\":\"2026-12-04T12:10:00+00:00\",\"budget_ids\":[\"b-1\"]}}"));
        await using var client = TestClient.Create(server);

        var result = await client.ReserveAsync(new CheckRequest { EstimatedTokens = 5000, RunId = "r-1", ReservationTtlSeconds = 120 });

        Assert.Equal("{\"agent_name\":\"bot\",\"estimated_tokens\":5000,\"run_id\":\"r-1\",\"reservation_ttl_seconds\":120,\"reserve\":true}", Assert.Single(server.Requests).Text);
        Assert.NotNull(result.Reservation);
        Assert.Equal("res/1", result.Reservation!.Id);
        Assert.Equal(new DateTimeOffset(2026, 12, 4, 12, 10, 0, TimeSpan.Zero), result.Reservation.ExpiresAt);
        Assert.Equal(new[] { "b-1" }, result.Reservation.BudgetIds);
    }

    [Fact]
    public async Task ReleaseDeletesTheReservation()
    {
        using var server = new FakeHandler((c, _) => c.Uri.AbsolutePath.EndsWith("gone", StringComparison.Ordinal) ? FakeHandler.Reply(404) : FakeHandler.Reply(204));
        await using var client = TestClient.Create(server);

        Assert.True(await client.ReleaseAsync("res/1"));
        Assert.False(await client.ReleaseAsync("gone"));
        Assert.False(await client.ReleaseAsync(string.Empty));

        Assert.Equal(2, server.Requests.Count);
        Assert.Equal(HttpMethod.Delete, server.Requests[0].Method);
        Assert.Equal("/api/v1/check/reservations/res%2F1", server.Requests[0].Uri.AbsolutePath);
        Assert.Equal("Bearer " + TestClient.Key, server.Requests[0].Authorization);
    }

    [Theory]
    [InlineData("budget_exceeded")]
    [InlineData("agent_paused")]
    [InlineData("killed")]
    public async Task RefusalThrowsSpendRefused(string reason)
    {
        using var server = new FakeHandler((_, _) => FakeHandler.Reply(
            429,
            "{\"allowed\":false,\"reason\":\"" + reason + "\",\"budget\":{\"id\":\"b-1\",\"name\":\"Monthly\",\"scope\":\"agent\",\"scope_value\":\"bot\",\"metric\":\"cost\",\"period\":\"month\",\"limit\":100,\"used\":100.25,\"remaining\":0,\"period_end\":\"2027-01-01T00:00:00+00:00\"},\"resume_at\":\"2027-01-01T00:00:00+00:00\"}",
            retryAfter: "3600"));
        await using var client = TestClient.Create(server);

        var refused = await Assert.ThrowsAsync<SpendRefusedException>(() => client.CheckAsync(new CheckRequest { Model = "gpt-4o", EstimatedCostUsd = 1m }));

        Assert.Equal(reason, refused.Reason);
        Assert.Equal(429, refused.Status);
        Assert.Equal(TimeSpan.FromHours(1), refused.RetryAfter);
        Assert.Equal(new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero), refused.ResumeAt);
        Assert.NotNull(refused.Budget);
        Assert.Equal("b-1", refused.Budget!.Id);
        Assert.Equal("Monthly", refused.Budget.Name);
        Assert.Equal("agent", refused.Budget.Scope);
        Assert.Equal("bot", refused.Budget.ScopeValue);
        Assert.Equal(100m, refused.Budget.Limit);
        Assert.Equal(100.25m, refused.Budget.Used);
        Assert.Equal(0m, refused.Budget.Remaining);
        Assert.Equal(new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero), refused.Budget.PeriodEnd);
        Assert.Equal(reason, refused.Body!.Value.GetProperty("reason").GetString());
        Assert.Contains(reason, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KillSwitchWithoutBudget()
    {
        using var server = new FakeHandler((_, _) => FakeHandler.Reply(429, "{\"allowed\":false,\"reason\":\"killed\"}"));
        await using var client = TestClient.Create(server);
        var refused = await Assert.ThrowsAsync<SpendRefusedException>(() => client.ReserveAsync());
        Assert.Equal("killed", refused.Reason);
        Assert.Null(refused.Budget);
        Assert.Null(refused.ResumeAt);
        Assert.Null(refused.RetryAfter);
    }

    public static TheoryData<string> Outages => new() { "connection", "503", "500", "429-not-a-refusal", "timeout" };

    [Theory]
    [MemberData(nameof(Outages))]
    public async Task UnreachableFailsOpenByDefault(string outage)
    {
        using var server = Outage(outage);
        await using var client = TestClient.Create(server, o => o.CheckTimeout = TimeSpan.FromMilliseconds(200));

        var result = await client.CheckAsync(new CheckRequest { Model = "gpt-4o" });
        Assert.True(result.Allowed);
        Assert.True(result.FailedOpen);
        Assert.Empty(result.Remaining);
        Assert.Null(result.Raw);

        var reserved = await client.ReserveAsync(new CheckRequest { EstimatedCostUsd = 1m });
        Assert.True(reserved.FailedOpen);
        Assert.Null(reserved.Reservation);
        Assert.False(await client.ReleaseAsync(reserved));
        Assert.False(await client.ReleaseAsync("res-1"));
    }

    [Theory]
    [MemberData(nameof(Outages))]
    public async Task UnreachableThrowsWhenFailingClosed(string outage)
    {
        using var server = Outage(outage);
        await using var client = TestClient.Create(server, o =>
        {
            o.FailOpen = false;
            o.CheckTimeout = TimeSpan.FromMilliseconds(200);
        });

        await Assert.ThrowsAsync<AgentSpendUnavailableException>(() => client.CheckAsync());
        await Assert.ThrowsAsync<AgentSpendUnavailableException>(() => client.ReleaseAsync("res-1"));
    }

    [Fact]
    public async Task OtherAnswersThrowAgentSpendException()
    {
        using var server = new FakeHandler((_, _) => FakeHandler.Reply(401, "{\"title\":\"invalid key\"}"));
        await using var client = TestClient.Create(server);
        var error = await Assert.ThrowsAsync<AgentSpendException>(() => client.CheckAsync());
        Assert.Equal(401, error.Status);
        Assert.Equal("AgentSpend: check answered 401: invalid key", error.Message);
        var release = await Assert.ThrowsAsync<AgentSpendException>(() => client.ReleaseAsync("r"));
        Assert.Equal(401, release.Status);
    }

    [Fact]
    public async Task CallerCancellationIsNotAnOutage()
    {
        using var server = new FakeHandler(async (_, _, ct) =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return FakeHandler.Reply(200);
        });
        await using var client = TestClient.Create(server);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.CheckAsync(null, cts.Token));
    }

    private static FakeHandler Outage(string kind) => kind switch
    {
        "connection" => new FakeHandler((_, _) => throw new HttpRequestException("connection refused")),
        "503" => new FakeHandler((_, _) => FakeHandler.Reply(503, "{\"reason\":\"storage_unavailable\"}", retryAfter: "5")),
        "500" => new FakeHandler((_, _) => FakeHandler.Reply(500)),
        "429-not-a-refusal" => new FakeHandler((_, _) => FakeHandler.Reply(429, "{\"reason\":\"rate_limited\"}")),
        _ => new FakeHandler(async (_, _, ct) =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return FakeHandler.Reply(200);
        }),
    };
}
