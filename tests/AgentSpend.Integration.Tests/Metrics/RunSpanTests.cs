using AgentSpend.Core.Aggregation;
using AgentSpend.Core.Ingest;
using AgentSpend.Integration.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.Metrics;

/// <summary>A run stretched across years (stored before events older than the retention were refused) is read over its last retention + 1 days only.</summary>
public sealed class RunSpanTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task A_run_spanning_years_is_summed_over_its_last_retention_plus_one_days()
    {
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" });
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        // The default workspace keeps raw events 90 days: the run's rows 90 days back (91 days in all) are read, those before are not.
        var days = new[] { today.AddDays(-3000), today.AddDays(-90), today.AddDays(-1), today };
        var events = days.Select((day, i) => EventFactory.Queued(i, day, "s:span-") with { RunId = "years-long" }).ToArray();
        await app.Services.GetRequiredService<UsageAggregator>().AggregateAsync([new IngestMessage { Events = events }], CancellationToken.None);

        var detail = await app.GetJsonAsync("/api/v1/runs/years-long");

        Assert.Equal((3L, events.Skip(1).Sum(e => e.InputTokens)), (detail.GetProperty("run").Long("events"), detail.GetProperty("run").Long("input_tokens")));
    }
}
