using AgentSpend.Core.Storage;
using AgentSpend.Core.Workspaces;
using AgentSpend.Integration.Tests.Infrastructure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.Tenancy;

public sealed class WorkspaceTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task An_instance_admin_creates_lists_reads_and_updates_workspaces()
    {
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" });

        var created = await app.SendAsync("POST", "/api/v1/workspaces", new
        {
            name = "  Research  ", timezone = "Europe/Berlin", retention_days = 30,
            limits = new { max_agents = 5, events_per_day = 1000, retention_ceiling_days = 60 },
        });
        var id = created.Body!.Value.Str("id")!;
        var listed = await app.SendAsync("GET", "/api/v1/workspaces");
        var updated = await app.SendAsync("PATCH", $"/api/v1/workspaces/{id}", new { name = "Research EU", retention_days = 45 });
        var read = await app.SendAsync("GET", $"/api/v1/workspaces/{id}");

        Assert.Equal(201, created.Status);
        Assert.Matches("^[a-z2-9]{8}$", id);
        Assert.Equal(("Research", "Europe/Berlin", 30L, "active"), (created.Body.Value.Str("name"), created.Body.Value.Str("timezone"), created.Body.Value.Long("retention_days"), created.Body.Value.Str("state")));
        var limits = created.Body.Value.GetProperty("limits");
        Assert.Equal((5L, 1000L, 60L), (limits.Long("max_agents"), limits.Long("events_per_day"), limits.Long("retention_ceiling_days")));
        Assert.Equal(["default", id], listed.Body!.Value.GetProperty("items").EnumerateArray().Select(w => w.Str("id")!).ToArray());
        Assert.Equal(200, updated.Status);
        Assert.Equal(("Research EU", 45L, "Europe/Berlin", 5L), (read.Body!.Value.Str("name"), read.Body.Value.Long("retention_days"), read.Body.Value.Str("timezone"), read.Body.Value.GetProperty("limits").Long("max_agents")));
    }

    [Theory]
    [InlineData("{}", "name")]
    [InlineData("{\"name\":\"\"}", "name")]
    [InlineData("{\"name\":\"x\",\"timezone\":\"Mars/Olympus\"}", "timezone")]
    [InlineData("{\"name\":\"x\",\"retention_days\":0}", "retention_days")]
    [InlineData("{\"name\":\"x\",\"retention_days\":90,\"limits\":{\"retention_ceiling_days\":30}}", "retention_days")]
    [InlineData("{\"name\":\"x\",\"limits\":{\"max_agents\":0}}", "limits.max_agents")]
    [InlineData("{\"name\":\"x\",\"limits\":{\"events_per_day\":-5}}", "limits.events_per_day")]
    [InlineData("{\"name\":\"x\",\"colour\":\"red\"}", "colour")]
    [InlineData("{\"name\":5}", "name")]
    public async Task Invalid_workspaces_are_refused_naming_the_field(string body, string field)
    {
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" });
        var before = (await app.SendAsync("GET", "/api/v1/workspaces")).Body!.Value.GetProperty("items").GetArrayLength();

        var reply = await app.SendAsync("POST", "/api/v1/workspaces", body);

        Assert.Equal((400, "application/problem+json"), (reply.Status, reply.MediaType));
        Assert.Equal(field, reply.Body!.Value.GetProperty("errors")[0].Str("field"));
        Assert.Equal(before, (await app.SendAsync("GET", "/api/v1/workspaces")).Body!.Value.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task The_default_workspace_cannot_be_deleted_and_an_unknown_one_is_404()
    {
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" });

        Assert.Equal(409, (await app.SendAsync("DELETE", "/api/v1/workspaces/default")).Status);
        Assert.Equal(404, (await app.SendAsync("DELETE", "/api/v1/workspaces/zzzzzzzz")).Status);
        Assert.Equal(404, (await app.SendAsync("GET", "/api/v1/workspaces/..%2Fdefault")).Status);
    }

    [Fact]
    public async Task Deleting_a_workspace_stops_its_keys_at_once_and_the_purge_removes_exactly_its_data_reporting_progress()
    {
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" });
        var (doomed, doomedKey) = await app.CreateWorkspaceAsync(new { name = "doomed" });
        var (kept, keptKey) = await app.CreateWorkspaceAsync(new { name = "kept" });
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        foreach (var (key, count) in new[] { (doomedKey, 250), (keptKey, 120) })
        {
            var events = Enumerable.Range(0, count).Select(i => EventFactory.Wire(i, today, $"k{i}")).ToArray();
            Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new { events }, key)).Status);
        }

        await app.Services.GetRequiredService<Core.Aggregation.UsageAggregator>().AggregateAsync(await DrainAsync(app), CancellationToken.None);
        var doomedRows = await CountRowsAsync(app, StorageNames.UsageTable, doomed);
        var keptRows = await CountRowsAsync(app, StorageNames.UsageTable, kept);

        var deleted = await app.SendAsync("DELETE", $"/api/v1/workspaces/{doomed}");
        var refused = await app.SendAsync("GET", "/api/v1/metrics/overview", key: doomedKey);
        var pending = await app.SendAsync("GET", $"/api/v1/workspaces/{doomed}");
        var purged = await app.Services.GetRequiredService<WorkspacePurgeService>().RunAsync(CancellationToken.None);
        var second = await app.Services.GetRequiredService<WorkspacePurgeService>().RunAsync(CancellationToken.None);
        var finished = await app.SendAsync("GET", $"/api/v1/workspaces/{doomed}");

        Assert.Equal((202, "deleting"), (deleted.Status, deleted.Body!.Value.Str("state")));
        Assert.Equal(401, refused.Status);
        Assert.Equal(("purging", 0L), (pending.Body!.Value.GetProperty("deletion").Str("status"), pending.Body.Value.GetProperty("deletion").Long("deleted_rows")));
        Assert.Equal(1 + 3, doomedRows); // 250 raw events on one page (under 240 characters each), the day's bucket row and slice row, and the month's day-versions row
        var outcome = Assert.Single(purged);
        Assert.Equal(doomed, outcome.WorkspaceId);
        Assert.Empty(second);
        Assert.Equal(("deleted", "purged"), (finished.Body!.Value.Str("state"), finished.Body.Value.GetProperty("deletion").Str("status")));
        Assert.Equal(outcome.DeletedRows, finished.Body.Value.GetProperty("deletion").Long("deleted_rows"));
        Assert.Equal(0, await CountRowsAsync(app, StorageNames.UsageTable, doomed));
        Assert.Equal(0, await CountRowsAsync(app, StorageNames.LimitsTable, doomed));
        Assert.Equal(0, await CountRowsAsync(app, StorageNames.AuditTable, doomed));
        Assert.Equal(0, await CountKeysAsync(app, doomed));
        Assert.Equal(keptRows, await CountRowsAsync(app, StorageNames.UsageTable, kept));
        Assert.Equal(120, (await app.SendAsync("GET", "/api/v1/metrics/overview", key: keptKey)).Body!.Value.Long("events"));
        Assert.DoesNotContain(doomed, (await app.SendAsync("GET", "/api/v1/workspaces")).Text);
    }

    [Fact]
    public async Task Events_queued_before_a_deletion_are_discarded_not_written_after_the_purge()
    {
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" });
        var (doomed, key) = await app.CreateWorkspaceAsync(new { name = "late" });
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new { events = new[] { EventFactory.Wire(1, today, "late-1") } }, key)).Status);
        var queued = await DrainAsync(app);

        await app.SendAsync("DELETE", $"/api/v1/workspaces/{doomed}");
        await app.Services.GetRequiredService<WorkspacePurgeService>().RunAsync(CancellationToken.None);
        var outcome = await app.Services.GetRequiredService<Core.Aggregation.UsageAggregator>().AggregateAsync(queued, CancellationToken.None);

        Assert.Equal((0, 1), (outcome.Counted, outcome.Discarded));
        Assert.Equal(0, await CountRowsAsync(app, StorageNames.UsageTable, doomed));
    }

    private static async Task<Core.Ingest.IngestMessage[]> DrainAsync(TestApp app)
    {
        var queue = app.Storage.GetQueue(StorageNames.IngestQueue);
        var messages = new List<Core.Ingest.IngestMessage>();
        while (await queue.ReceiveAsync(32, TimeSpan.FromMinutes(1)) is { Count: > 0 } batch)
        {
            foreach (var m in batch)
            {
                messages.Add(Core.Ingest.IngestMessageCodec.Unpack(m.Text));
                await queue.DeleteAsync(m.MessageId, m.PopReceipt);
            }
        }

        return [.. messages];
    }

    internal static async Task<int> CountRowsAsync(TestApp app, string table, string workspaceId)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey ge {workspaceId} and PartitionKey lt {workspaceId + "}"}");
        var count = 0;
        await foreach (var _ in app.Storage.GetTable(table).QueryAsync(filter, ["PartitionKey"]))
        {
            count++;
        }

        return count;
    }

    internal static async Task<int> CountKeysAsync(TestApp app, string workspaceId)
    {
        var count = 0;
        await foreach (var _ in app.Storage.GetTable(StorageNames.ApiKeysTable).QueryAsync(TableClient.CreateQueryFilter($"WorkspaceId eq {workspaceId}"), ["PartitionKey"]))
        {
            count++;
        }

        return count;
    }
}
