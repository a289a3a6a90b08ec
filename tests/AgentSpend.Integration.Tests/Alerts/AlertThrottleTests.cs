using AgentSpend.Core.Alerts;
using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Alerts;

/// <summary>A flood of one alert kind reaches the webhooks at most <see cref="AlertStore.MaxPostedPerKindHour"/> times an hour, and does not hold up the other kinds.</summary>
public sealed class AlertThrottleTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Sixty_new_model_names_post_twenty_alerts_keep_the_rest_as_throttled_and_a_budget_alert_still_goes_out()
    {
        await using var receiver = await WebhookReceiver.StartAsync((_, _) => 200);
        await using var app = await TestApp.StartAsync(azurite);
        var (workspace, admin) = await app.CreateWorkspaceAsync(new { name = "alert-flood" });
        Assert.Equal(201, (await app.SendAsync("POST", "/api/v1/alerts/webhooks", new { url = receiver.Url("/hook") }, admin)).Status);
        var now = DateTimeOffset.UtcNow;

        await Task.WhenAll(Enumerable.Range(0, 60).Select(i => AlertTesting.RaiseAsync(app, AlertTesting.UnpricedAlert(workspace, now, $"flood-model-{i}"))));
        var budget = AlertTesting.BudgetAlert(workspace, now);
        await AlertTesting.RaiseAsync(app, budget);
        Assert.Equal("delivered", (await AlertTesting.WaitUntilSettledAsync(app, admin, budget.Id)).Str("status"));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (receiver.Posts.Count < AlertStore.MaxPostedPerKindHour + 1 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        await Task.Delay(500); // nothing more may arrive
        var alerts = (await app.SendAsync("GET", "/api/v1/alerts?kind=unpriced_model&limit=500", key: admin)).Body!.Value.GetProperty("items").EnumerateArray().ToArray();
        var throttled = await app.SendAsync("GET", "/api/v1/alerts?status=throttled&limit=500", key: admin);

        Assert.Equal(AlertStore.MaxPostedPerKindHour + 1, receiver.Posts.Count);
        Assert.Equal(60, alerts.Length);
        Assert.Equal(60 - AlertStore.MaxPostedPerKindHour, alerts.Count(a => a.Str("status") == "throttled"));
        Assert.Equal(AlertStore.MaxPostedPerKindHour, alerts.Count(a => a.Str("status") == "delivered"));
        Assert.Equal(60 - AlertStore.MaxPostedPerKindHour, throttled.Body!.Value.GetProperty("items").GetArrayLength());
    }
}
