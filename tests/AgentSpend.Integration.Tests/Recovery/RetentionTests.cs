using AgentSpend.Core.Aggregation;
using AgentSpend.Core.Ingest;
using AgentSpend.Core.Retention;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Workspaces;
using AgentSpend.Integration.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.Recovery;

public sealed class RetentionTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Raw_events_past_retention_are_deleted_buckets_stay_and_a_second_run_finds_nothing()
    {
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?>
        {
            ["AGENTSPEND_LOCAL_TRIGGERS"] = "false",
            ["AGENTSPEND_RETENTION_DAYS"] = "30",
        });
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var (old, older, recent) = (today.AddDays(-31), today.AddDays(-45), today.AddDays(-30));
        var messages = new[] { (old, 150), (older, 120), (recent, 80) }
            .Select(x => new IngestMessage { Events = Enumerable.Range(0, x.Item2).Select(i => EventFactory.Queued(i, x.Item1, $"s:{x.Item1}-")).ToArray() })
            .ToArray();
        await app.Services.GetRequiredService<UsageAggregator>().AggregateAsync(messages, CancellationToken.None);
        var workspace = app.Services.GetRequiredService<IWorkspaceDirectory>().Find(Workspace.DefaultId);
        var retention = app.Services.GetRequiredService<RetentionService>();

        var first = await retention.RunAsync(workspace, CancellationToken.None);
        var second = await retention.RunAsync(workspace, CancellationToken.None);

        Assert.Equal((270, 2, Json.Day(recent)), (first.Deleted, first.Partitions, first.Cutoff));
        Assert.Equal(0, second.Deleted);
        Assert.Equal(new[] { 0, 0, 80 }, await Task.WhenAll(new[] { old, older, recent }.Select(d => RawEventsAsync(app.Storage, d))));
        var overview = await app.GetJsonAsync($"/api/v1/metrics/overview?from={Json.Day(older)}&to={Json.Day(recent)}");
        Assert.Equal(350, overview.Long("events")); // buckets outlive raw events
    }

    private static async Task<int> RawEventsAsync(IStorageProvider storage, DateOnly day)
    {
        var partition = UsageTableKeys.Partition(Workspace.DefaultId, Json.Day(day));
        var count = 0;
        await foreach (var _ in storage.GetTable(StorageNames.UsageTable).QueryAsync($"PartitionKey eq '{partition}' and RowKey ge 'e|' and RowKey lt 'e}}'", ["RowKey"]))
        {
            count++;
        }

        return count;
    }
}
