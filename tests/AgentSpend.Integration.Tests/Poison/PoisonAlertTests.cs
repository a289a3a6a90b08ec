using AgentSpend.Functions.Triggers;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Storage.Azure;
using Microsoft.Extensions.DependencyInjection;
using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Poison;

/// <summary>The ingest_poisoned alert: raised when a message is really poisoned, once per workspace, queue and UTC hour, and delivered.</summary>
public sealed class PoisonAlertTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task A_message_the_listener_poisons_alerts_its_workspace_once_in_its_hour_through_its_webhook_and_an_unreadable_one_alerts_no_one()
    {
        // The app's clock stands at five past the hour, so that both messages are poisoned within one UTC hour.
        var now = DateTimeOffset.UtcNow;
        var clock = new ShiftedClock { Offset = TimeSpan.FromMinutes(5) - (now.TimeOfDay - TimeSpan.FromHours(now.TimeOfDay.Hours)) };
        var appNow = clock.GetUtcNow();
        var hourStart = new DateTimeOffset(appNow.Year, appNow.Month, appNow.Day, appNow.Hour, 0, 0, TimeSpan.Zero);
        await using var receiver = await WebhookReceiver.StartAsync((_, _) => 200);
        await using var app = await TestApp.StartAsync(azurite, clock: clock);
        var (workspace, admin) = await app.CreateWorkspaceAsync(new { name = "poisoned" });
        Assert.Equal(201, (await app.SendAsync("POST", "/api/v1/alerts/webhooks", new { url = receiver.Url("/hook") }, admin)).Status);
        var day = DateOnly.FromDateTime(DateTime.UtcNow);
        var queue = app.Storage.GetQueue(StorageNames.IngestQueue);
        var poison = app.Storage.GetQueue(StorageNames.PoisonQueueOf(StorageNames.IngestQueue));

        await queue.SendAsync(PoisonTesting.UnwritableMessage(workspace, 3, day, "s:first-"));
        await queue.SendAsync("b1:not an ingest message");

        Assert.Equal(2, await PoisonTesting.WaitForCountAsync(poison, 2));
        var alerts = await WaitForAlertsAsync(app, admin, a => a.Length == 1 && a[0].Str("status") != "pending");
        var alert = Assert.Single(alerts);
        Assert.Equal(("delivered", 1L), (alert.Str("status"), alert.Long("attempts")));
        var post = Assert.Single(receiver.Posts);
        var body = JsonDocument.Parse(post.Body).RootElement;
        Assert.Equal(["id", "workspace_id", "kind", "message", "raised_at", "poisoned"], body.EnumerateObject().Select(p => p.Name));
        Assert.Equal((alert.Str("id"), workspace, "ingest_poisoned"), (body.Str("id"), body.Str("workspace_id"), body.Str("kind")));
        Assert.StartsWith(
            "A usage-ingest message carrying 3 of this workspace's events failed every try and was moved to usage-ingest-poison: those events are not counted until an instance admin replays it (POST /api/v1/admin/queues/usage-ingest/replay).",
            body.Str("message"), StringComparison.Ordinal);
        var details = body.GetProperty("poisoned");
        Assert.Equal(("usage-ingest", "usage-ingest-poison", 3L, hourStart.ToString("O", CultureInfo.InvariantCulture)),
            (details.Str("queue"), details.Str("poison_queue"), details.Long("events"), details.Str("hour_start")));
        var listedDetails = alert.GetProperty("poisoned");
        Assert.Equal(("usage-ingest", "usage-ingest-poison", 3L, hourStart.ToString("O", CultureInfo.InvariantCulture)),
            (listedDetails.Str("queue"), listedDetails.Str("poison_queue"), listedDetails.Long("events"), listedDetails.Str("hour_start")));

        // A second message of the workspace poisoned in the same hour raises no second alert.
        await queue.SendAsync(PoisonTesting.UnwritableMessage(workspace, 2, day, "s:second-"));
        Assert.Equal(3, await PoisonTesting.WaitForCountAsync(poison, 3));
        await Task.Delay(TimeSpan.FromSeconds(3)); // time for a second alert and its delivery, were there one

        Assert.True(clock.GetUtcNow() < hourStart.AddHours(1), "the test outran its hour");
        Assert.Equal(alert.Str("id"), Assert.Single(await PoisonTesting.AlertsAsync(app, admin, "ingest_poisoned")).Str("id"));
        Assert.Single(receiver.Posts);
        Assert.Single(app.LogLines, l => l.Contains("Alert ingest_poisoned raised for poisoned|usage-ingest|", StringComparison.Ordinal));
        // The unreadable message names no workspace: logged, and no workspace (the instance admin's included) is alerted.
        Assert.Contains(app.LogLines, l => l.Contains("A message moved from usage-ingest to usage-ingest-poison cannot be read and names no workspace", StringComparison.Ordinal));
        Assert.Empty(await PoisonTesting.AlertsAsync(app, TestApp.AdminKey, "ingest_poisoned"));
    }

    [Fact]
    public async Task Under_the_Functions_host_only_the_last_failed_try_of_a_message_alerts_its_workspace()
    {
        // A usage table that refuses every transaction: the aggregator isolates events the service itself refuses, so a
        // message fails on every try only when storage does.
        await using var host = await TestApp.StartAsync(
            azurite,
            new Dictionary<string, string?> { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" },
            services: s => s.AddSingleton<IStorageProvider>(sp => new RefusingUsageTableStorage(
                new AzureStorageProvider(new StorageConnectionSettings { ConnectionString = azurite.ConnectionString }, sp.GetRequiredService<StorageRequestCounter>()))));
        var (workspace, admin) = await host.CreateWorkspaceAsync(new { name = "hosted" });
        var text = PoisonTesting.Message(workspace, 4, DateOnly.FromDateTime(DateTime.UtcNow), "s:hosted-");
        var functions = ActivatorUtilities.CreateInstance<TriggerFunctions>(host.Services);

        // host.json's maxDequeueCount is 5: the host moves the message to the poison queue after its fifth failed try.
        for (var dequeueCount = 1; dequeueCount <= 5; dequeueCount++)
        {
            Assert.Empty(await PoisonTesting.AlertsAsync(host, admin, "ingest_poisoned"));
            var message = Azure.Storage.Queues.Models.QueuesModelFactory.QueueMessage("hosted-1", "receipt", text, dequeueCount);
            var failed = await Assert.ThrowsAsync<QueueFunctionFailedException>(() => functions.AggregateUsageAsync(message, CancellationToken.None));
            Assert.Equal("The test's usage table refuses every transaction.", Assert.IsType<Azure.RequestFailedException>(failed.InnerException).Message);
        }

        var alert = Assert.Single(await PoisonTesting.AlertsAsync(host, admin, "ingest_poisoned"));
        Assert.Equal(("usage-ingest", "usage-ingest-poison", 4L), (alert.GetProperty("poisoned").Str("queue"), alert.GetProperty("poisoned").Str("poison_queue"), alert.GetProperty("poisoned").Long("events")));
    }

    [Fact]
    public async Task In_local_mode_the_listener_invokes_the_function_per_try_and_poisons_after_the_last_which_alerts_once()
    {
        await using var app = await TestApp.StartAsync(
            azurite,
            services: s => s.AddSingleton<IStorageProvider>(sp => new RefusingUsageTableStorage(
                new AzureStorageProvider(new StorageConnectionSettings { ConnectionString = azurite.ConnectionString }, sp.GetRequiredService<StorageRequestCounter>()))));
        var (workspace, admin) = await app.CreateWorkspaceAsync(new { name = "local" });
        var poison = app.Storage.GetQueue(StorageNames.PoisonQueueOf(StorageNames.IngestQueue));
        var poisonedBefore = await poison.GetApproximateCountAsync(); // the class's tests share one Azurite

        await app.Storage.GetQueue(StorageNames.IngestQueue).SendAsync(PoisonTesting.Message(workspace, 4, DateOnly.FromDateTime(DateTime.UtcNow), "s:local-"));

        Assert.Equal(poisonedBefore + 1, await PoisonTesting.WaitForCountAsync(poison, poisonedBefore + 1));
        // Only the [Function] method raises this alert (on its last try): the listener poisons without one.
        var alert = Assert.Single(await WaitForAlertsAsync(app, admin, a => a.Length > 0));
        Assert.Equal(("usage-ingest", 4L), (alert.GetProperty("poisoned").Str("queue"), alert.GetProperty("poisoned").Long("events")));
        var tries = app.LogLines.Where(l => l.Contains("Function AggregateUsage failed on message", StringComparison.Ordinal)).ToArray();
        Assert.Equal([.. Enumerable.Range(1, 5).Select(n => $"(try {n} of 5)")], tries.Select(l => l[l.IndexOf("(try", StringComparison.Ordinal)..(l.IndexOf(')', l.IndexOf("(try", StringComparison.Ordinal)) + 1)]));
        Assert.Single(app.LogLines, l => l.Contains("moved to usage-ingest-poison after 5 tries", StringComparison.Ordinal));
    }

    private static async Task<JsonElement[]> WaitForAlertsAsync(TestApp app, string key, Func<JsonElement[], bool> done, int timeoutSeconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        JsonElement[] alerts;
        while (!done(alerts = await PoisonTesting.AlertsAsync(app, key, "ingest_poisoned")) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        return alerts;
    }
}
