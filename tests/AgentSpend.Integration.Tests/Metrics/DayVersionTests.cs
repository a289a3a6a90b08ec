using AgentSpend.Core.Aggregation;
using AgentSpend.Integration.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.Metrics;

/// <summary>Days the metrics keep in memory never hide a later write: answers always equal the stored buckets.</summary>
public sealed class DayVersionTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task A_day_answered_from_memory_shows_events_counted_into_it_later_and_a_held_day_is_read_afresh()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (workspace, key) = await app.CreateWorkspaceAsync(new { name = "day-versions" }, "ingest", "read");
        var yesterday = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);
        object Call(int i) => new { agent_name = "a", provider = "p", model = "m", timestamp = $"{Json.Day(yesterday)}T10:00:0{i}Z", cost_usd = 1.0m, idempotency_key = $"v{i}" };

        Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new { events = new[] { Call(1) } }, key)).Status);
        await app.WaitForEventsAsync(1, Json.Day(yesterday), Json.Day(yesterday), key: key);
        var first = (await app.SendAsync("GET", "/api/v1/metrics/overview?range=yesterday", key: key)).Body!.Value; // now kept in memory
        Assert.Equal(1, first.Long("events"));

        Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new { events = new[] { Call(2), Call(3) } }, key)).Status);
        var later = await app.WaitForEventsAsync(3, Json.Day(yesterday), Json.Day(yesterday), TimeSpan.FromSeconds(20), key);
        Assert.Equal((3L, 3.0m), (later.Long("events"), later.Dec("cost_usd")));

        // A writer that holds the day (and might die holding it): its day is read from storage on every request.
        var versions = app.Services.GetRequiredService<DayVersions>();
        var lease = await versions.BeginAsync(workspace, [Json.Day(yesterday)], CancellationToken.None);
        var held = await versions.ReadAsync(workspace, yesterday, yesterday, CancellationToken.None);
        Assert.True(held[yesterday].Leased);
        await versions.EndAsync(lease, CancellationToken.None);
        var released = await versions.ReadAsync(workspace, yesterday, yesterday, CancellationToken.None);
        Assert.False(released[yesterday].Leased);
        Assert.NotEqual(held[yesterday].Token, released[yesterday].Token);
    }
}
