using AgentSpend.Core.Alerts;
using AgentSpend.Integration.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.Alerts;

/// <summary>Webhooks cannot reach into the host's own network, whether by the URL given or by what its name resolves to later.</summary>
public sealed class WebhookDestinationTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly Dictionary<string, string?> AsInAzure = new()
    {
        ["AGENTSPEND_WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = "false",
        ["AGENTSPEND_ALERT_MAX_ATTEMPTS"] = "1",
    };

    [Theory]
    [InlineData("http://hooks.example.com/alerts", "must be an https URL.")]
    [InlineData("https://169.254.169.254/metadata/identity/oauth2/token", "must not point at a cloud metadata address.")]
    [InlineData("https://168.63.129.16/machine", "must not point at a cloud metadata address.")]
    [InlineData("https://127.0.0.1:10002/devstoreaccount1", "must not point at a loopback, private, link-local or otherwise internal address.")]
    [InlineData("https://[::1]:8080/", "must not point at a loopback, private, link-local or otherwise internal address.")]
    [InlineData("https://10.0.0.4/", "must not point at a loopback, private, link-local or otherwise internal address.")]
    [InlineData("https://172.20.1.1/", "must not point at a loopback, private, link-local or otherwise internal address.")]
    [InlineData("https://192.168.0.10/", "must not point at a loopback, private, link-local or otherwise internal address.")]
    [InlineData("https://[fd12::1]/", "must not point at a loopback, private, link-local or otherwise internal address.")]
    [InlineData("https://[fe80::1]/", "must not point at a loopback, private, link-local or otherwise internal address.")]
    [InlineData("https://0.0.0.0/", "must not point at a loopback, private, link-local or otherwise internal address.")]
    [InlineData("https://localhost:7071/api/health", "must not point at this host (localhost).")]
    public async Task Registering_or_changing_a_webhook_to_an_internal_address_is_refused_and_nothing_is_stored(string url, string reason)
    {
        await using var app = await TestApp.StartAsync(azurite, AsInAzure);
        var (_, admin) = await app.CreateWorkspaceAsync(new { name = "ssrf-register" });
        var good = await app.SendAsync("POST", "/api/v1/alerts/webhooks", new { url = "https://hooks.example.com/agentspend" }, admin);
        Assert.Equal(201, good.Status);

        var created = await app.SendAsync("POST", "/api/v1/alerts/webhooks", new { url }, admin);
        var changed = await app.SendAsync("PUT", $"/api/v1/alerts/webhooks/{good.Body!.Value.Str("id")}", new { url }, admin);

        foreach (var reply in new[] { created, changed })
        {
            Assert.Equal((400, "application/problem+json"), (reply.Status, reply.MediaType));
            var error = reply.Body!.Value.GetProperty("errors")[0];
            Assert.Equal(("url", reason), (error.Str("field"), error.Str("reason")));
        }

        var listed = (await app.SendAsync("GET", "/api/v1/alerts/webhooks", key: admin)).Body!.Value.GetProperty("items").EnumerateArray().ToArray();
        Assert.Equal("https://hooks.example.com/agentspend", Assert.Single(listed).Str("url"));
    }

    [Fact]
    public async Task A_name_that_resolves_inside_the_network_at_post_time_is_not_posted_to_and_the_error_names_no_address()
    {
        await using var receiver = await WebhookReceiver.StartAsync((_, _) => 200);
        await using var app = await TestApp.StartAsync(azurite, AsInAzure);
        var (workspace, admin) = await app.CreateWorkspaceAsync(new { name = "ssrf-rebind" });
        // As after DNS rebinding: the name passed registration, and now resolves to this host (localhost stands in for it).
        var url = receiver.Url("/hook").Replace("127.0.0.1", "localhost", StringComparison.Ordinal);
        var webhook = await app.Services.GetRequiredService<WebhookStore>().CreateAsync(
            workspace, new Webhook { Id = "", Url = url, Format = WebhookFormats.Json, Secret = WebhookStore.NewSecret(), Enabled = true }, CancellationToken.None)
            ?? throw new InvalidOperationException("no room for the webhook");
        var alert = AlertTesting.UnpricedAlert(workspace, DateTimeOffset.UtcNow, "acme-internal");

        await AlertTesting.RaiseAsync(app, alert);
        var settled = await AlertTesting.WaitUntilSettledAsync(app, admin, alert.Id);
        var read = (await app.SendAsync("POST", "/api/v1/keys", new { name = "reader", scopes = new[] { "read" } }, admin)).Body!.Value.Str("key")!;
        var asRead = await app.SendAsync("GET", $"/api/v1/alerts/{alert.Id}", key: read);

        Assert.Empty(receiver.Posts);
        Assert.Equal("failed", settled.Str("status"));
        Assert.Equal([(webhook.Id, "failed", 1L, (int?)null, "refused: the host resolves only to internal addresses")], AlertTesting.Deliveries(settled));
        Assert.Equal(200, asRead.Status);
        Assert.DoesNotContain("127.0.0.1", asRead.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(new Uri(url).Port.ToString(System.Globalization.CultureInfo.InvariantCulture), asRead.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_delivery_error_names_the_kind_of_failure_not_the_address()
    {
        var closedPort = AzuriteFixture.FreePort();
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { ["AGENTSPEND_ALERT_MAX_ATTEMPTS"] = "1" });
        var (workspace, admin) = await app.CreateWorkspaceAsync(new { name = "ssrf-errors" });
        var created = await app.SendAsync("POST", "/api/v1/alerts/webhooks", new { url = $"http://127.0.0.1:{closedPort}/hook" }, admin);
        var alert = AlertTesting.UnpricedAlert(workspace, DateTimeOffset.UtcNow, "acme-closed");

        await AlertTesting.RaiseAsync(app, alert);
        var settled = await AlertTesting.WaitUntilSettledAsync(app, admin, alert.Id);

        Assert.Equal(201, created.Status);
        Assert.Equal([(created.Body!.Value.Str("id"), "failed", 1L, (int?)null, "connection refused or unreachable")], AlertTesting.Deliveries(settled));
        Assert.DoesNotContain(closedPort.ToString(System.Globalization.CultureInfo.InvariantCulture), settled.GetRawText(), StringComparison.Ordinal);
    }
}
