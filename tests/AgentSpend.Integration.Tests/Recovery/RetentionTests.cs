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
        var workspace = (await app.Services.GetRequiredService<IWorkspaceDirectory>().FindAsync(Workspace.DefaultId, CancellationToken.None))!;
        var retention = app.Services.GetRequiredService<RetentionService>();

        var first = await retention.RunAsync(workspace, CancellationToken.None);
        var second = await retention.RunAsync(workspace, CancellationToken.None);

        Assert.Equal((270, 2, Json.Day(recent)), (first.Deleted, first.Partitions, first.Cutoff));
        Assert.Equal(0, second.Deleted);
        Assert.Equal(new[] { 0, 0, 80 }, await Task.WhenAll(new[] { old, older, recent }.Select(d => RawEventsAsync(app.Storage, d))));
        var overview = await app.GetJsonAsync($"/api/v1/metrics/overview?from={Json.Day(older)}&to={Json.Day(recent)}");
        Assert.Equal(350, overview.Long("events")); // buckets outlive raw events
    }

    internal static async Task<int> RawEventsAsync(IStorageProvider storage, DateOnly day, string workspaceId = Workspace.DefaultId)
    {
        var partition = UsageTableKeys.Partition(workspaceId, Json.Day(day));
        var count = 0;
        await foreach (var row in storage.GetTable(StorageNames.UsageTable).QueryAsync($"PartitionKey eq '{partition}' and RowKey ge 'e|' and RowKey lt 'e}}'"))
        {
            count += EventPages.Read(row).Count;
        }

        return count;
    }
}

/// <summary>Per-workspace retention, in an Azurite of its own so that its days do not mix with the test above.</summary>
public sealed class WorkspaceRetentionTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Each_workspace_keeps_raw_events_for_its_own_retention_and_buckets_for_the_aggregate_retention()
    {
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?>
        {
            ["AGENTSPEND_LOCAL_TRIGGERS"] = "false",
            ["AGENTSPEND_RETENTION_DAYS"] = "30",
            ["AGENTSPEND_AGGREGATE_RETENTION_DAYS"] = "40",
        });
        var (shortLived, key) = await app.CreateWorkspaceAsync(new { name = "short", retention_days = 10 });
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var days = new[] { -5, -15, -35, -45 }.Select(today.AddDays).ToArray();
        var messages = days.SelectMany(day => new[] { Workspace.DefaultId, shortLived }.Select(ws => new IngestMessage
        {
            Events = Enumerable.Range(0, 40).Select(i => EventFactory.Queued(i, day, $"s:{ws}{day}-") with { WorkspaceId = ws }).ToArray(),
        })).ToArray();
        var aggregator = app.Services.GetRequiredService<UsageAggregator>();

        // Day -15 of the short-lived workspace is counted in two passes: 7 events, then 33, on two pages.
        var split = Array.FindIndex(messages, m => m.Events[0].WorkspaceId == shortLived && m.Events[0].Day == Json.Day(days[1]));
        await aggregator.AggregateAsync([new IngestMessage { Events = [.. messages[split].Events.Take(7)] }], CancellationToken.None);
        await aggregator.AggregateAsync(messages, CancellationToken.None);

        // A run that stopped half-way left some rows deleted (the first page of that day): the next run must finish the job, not fail on them.
        var table = app.Storage.GetTable(StorageNames.UsageTable);
        var partition = UsageTableKeys.Partition(shortLived, Json.Day(days[1]));
        await table.DeleteAsync(partition, EventPages.RowKey(partition, 1), Azure.ETag.All);

        var first = await app.Services.GetRequiredService<RetentionService>().RunAllAsync(CancellationToken.None);
        var second = await app.Services.GetRequiredService<RetentionService>().RunAllAsync(CancellationToken.None);

        var byWorkspace = first.ToDictionary(o => o.Workspace);
        // days -35 and -45; bucket row and slice row of -45
        Assert.Equal((80, 2), (byWorkspace[Workspace.DefaultId].Deleted, byWorkspace[Workspace.DefaultId].AggregatesDeleted));
        Assert.Equal((113, 2), (byWorkspace[shortLived].Deleted, byWorkspace[shortLived].AggregatesDeleted)); // days -15 (33 left), -35, -45
        Assert.All(second, o => Assert.Equal((0, 0), (o.Deleted, o.AggregatesDeleted)));
        Assert.Equal(new[] { 40, 40, 0, 0 }, await Task.WhenAll(days.Select(d => RetentionTests.RawEventsAsync(app.Storage, d))));
        Assert.Equal(new[] { 40, 0, 0, 0 }, await Task.WhenAll(days.Select(d => RetentionTests.RawEventsAsync(app.Storage, d, shortLived))));
        var range = $"?from={Json.Day(days[3])}&to={Json.Day(today)}";
        Assert.Equal(120, (await app.SendAsync("GET", "/api/v1/metrics/overview" + range)).Body!.Value.Long("events"));
        Assert.Equal(120, (await app.SendAsync("GET", "/api/v1/metrics/overview" + range, key: key)).Body!.Value.Long("events"));
    }
}
