using AgentSpend.Core.Storage;
using AgentSpend.Integration.Tests.Alerts;
using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Poison;

/// <summary>An alert whose delivery failed every attempt waits in alerts-poison; a replay gives it one more attempt.</summary>
public sealed class AlertReplayTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private volatile bool _receiverUp;

    [Fact]
    public async Task A_failed_alert_replayed_from_the_poison_queue_gets_one_more_attempt_and_is_delivered_to_the_webhook_that_failed()
    {
        await using var receiver = await WebhookReceiver.StartAsync((_, _) => _receiverUp ? 200 : 503);
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?>
        {
            ["AGENTSPEND_ALERT_RETRY_BASE_SECONDS"] = "1",
            ["AGENTSPEND_ALERT_MAX_ATTEMPTS"] = "2",
        });
        var (workspace, admin) = await app.CreateWorkspaceAsync(new { name = "alert-replayed" });
        var webhookId = (await app.SendAsync("POST", "/api/v1/alerts/webhooks", new { url = receiver.Url("/down-then-up") }, admin)).Body!.Value.Str("id");
        var alert = AlertTesting.BudgetAlert(workspace, DateTimeOffset.UtcNow);
        var poison = app.Storage.GetQueue(StorageNames.PoisonQueueOf(StorageNames.AlertsQueue));

        await AlertTesting.RaiseAsync(app, alert);
        var failed = await AlertTesting.WaitUntilSettledAsync(app, admin, alert.Id);
        Assert.Equal(("failed", 2L), (failed.Str("status"), failed.Long("attempts")));
        Assert.Equal(1, await PoisonTesting.WaitForCountAsync(poison, 1));

        _receiverUp = true;
        var replay = await app.SendAsync("POST", "/api/v1/admin/queues/alerts/replay");
        Assert.Equal((200, """{"queue":"alerts","replayed":1,"remaining":0}"""), (replay.Status, replay.Text));

        var deadline = DateTime.UtcNow.AddSeconds(60);
        var settled = failed;
        while (settled.Str("status") != "delivered" && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
            settled = (await app.SendAsync("GET", $"/api/v1/alerts/{alert.Id}", key: admin)).Body!.Value;
        }

        Assert.Equal(("delivered", 3L, $"{webhookId}: HTTP 503"), (settled.Str("status"), settled.Long("attempts"), settled.Str("last_error")));
        Assert.Equal([(webhookId, "delivered", 3L, (int?)200, (string?)null)], AlertTesting.Deliveries(settled));
        Assert.Equal([503, 503, 200], receiver.Posts.Select(p => p.AnsweredWith));
        Assert.Equal(0, await poison.GetApproximateCountAsync());
        Assert.Equal(0, await app.Storage.GetQueue(StorageNames.AlertsQueue).GetApproximateCountAsync());
    }
}
