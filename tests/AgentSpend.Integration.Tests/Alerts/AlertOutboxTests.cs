using AgentSpend.Core.Alerts;
using AgentSpend.Core.Storage;
using AgentSpend.Integration.Tests.Infrastructure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.Alerts;

/// <summary>The outbox sweep (its own Azurite: it reads the alerts of every workspace).</summary>
public sealed class AlertOutboxTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task The_sweep_queues_again_only_the_pending_alerts_due_before_the_threshold_and_two_sweepers_queue_each_once()
    {
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" });
        var (first, _) = await app.CreateWorkspaceAsync(new { name = "outbox-1" });
        var (second, _) = await app.CreateWorkspaceAsync(new { name = "outbox-2" });
        var now = DateTimeOffset.UtcNow;
        var lostAfterRaise = AlertTesting.BudgetAlert(first, now.AddMinutes(-30));
        var lostRetry = AlertTesting.BudgetAlert(second, now.AddMinutes(-20));
        var fresh = AlertTesting.BudgetAlert(first, now.AddMinutes(-10));
        var settled = AlertTesting.BudgetAlert(second, now.AddMinutes(-40));
        foreach (var alert in new[] { lostAfterRaise, lostRetry, fresh, settled })
        {
            await AlertTesting.RaiseAsync(app, alert);
        }

        var table = app.Storage.GetTable(StorageNames.AlertsTable);
        async Task SetAsync(Alert alert, TableEntity values)
        {
            values.PartitionKey = alert.WorkspaceId;
            values.RowKey = AlertStore.AlertRowPrefix + alert.Id;
            await table.UpsertAsync(values, TableUpdateMode.Merge);
        }

        var anHourAgo = now.AddHours(-1);
        await SetAsync(lostAfterRaise, new TableEntity { [AlertStore.QueuedAtProperty] = anHourAgo });
        await SetAsync(lostRetry, new TableEntity { [AlertStore.QueuedAtProperty] = anHourAgo, [AlertStore.AttemptsProperty] = 2 });
        await SetAsync(settled, new TableEntity { [AlertStore.QueuedAtProperty] = anHourAgo, [AlertStore.DeliveryProperty] = AlertDelivery.Delivered.ToWire() });
        var queue = app.Storage.GetQueue(StorageNames.AlertsQueue);
        while (await queue.ReceiveAsync(32, TimeSpan.FromMinutes(1)) is { Count: > 0 } raisedMessages)
        {
            foreach (var message in raisedMessages)
            {
                await queue.DeleteAsync(message.MessageId, message.PopReceipt);
            }
        }

        var store = app.Services.GetRequiredService<AlertStore>();
        var sweptAt = DateTimeOffset.UtcNow;
        var counts = await Task.WhenAll(store.RequeueStuckAsync(TimeSpan.FromMinutes(5), CancellationToken.None), store.RequeueStuckAsync(TimeSpan.FromMinutes(5), CancellationToken.None));

        Assert.Equal(2, counts.Sum());
        Assert.Equal(
            new[] { new AlertMessage(first, lostAfterRaise.Id, 0).ToJson(), new AlertMessage(second, lostRetry.Id, 2).ToJson() }.Order(StringComparer.Ordinal),
            (await queue.PeekAsync(32)).Select(m => m.Text).Order(StringComparer.Ordinal));
        foreach (var alert in new[] { lostAfterRaise, lostRetry })
        {
            var row = await table.GetIfExistsAsync(alert.WorkspaceId, AlertStore.AlertRowPrefix + alert.Id);
            Assert.InRange(row!.GetDateTimeOffset(AlertStore.QueuedAtProperty)!.Value, sweptAt.AddSeconds(-1), DateTimeOffset.UtcNow);
        }

        Assert.Equal(0, await store.RequeueStuckAsync(TimeSpan.FromMinutes(5), CancellationToken.None)); // claimed: due again only after the threshold
    }
}
