using System.Text.Json;
using AgentSpend.Core.Alerts;
using AgentSpend.Integration.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.Alerts;

/// <summary>/api/v1/alerts: webhook CRUD with clear errors, and the alert history newest first, paged and filtered.</summary>
public sealed class AlertApiTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private const string UrlReason = "must be an absolute http or https URL of at most 2048 characters.";

    [Theory]
    [InlineData("""{"format":"json"}""", "url", UrlReason)]
    [InlineData("""{"url":"ftp://example.com/hook"}""", "url", UrlReason)]
    [InlineData("""{"url":"/hooks/alerts"}""", "url", UrlReason)]
    [InlineData("""{"url":"not a url"}""", "url", UrlReason)]
    [InlineData("""{"url":"https://ops:hunter2@example.com/hook"}""", "url", "must not carry a user name or password; authenticate the posts with the signature instead.")]
    [InlineData("""{"url":5}""", "url", "has the wrong type or is out of range.")]
    [InlineData("""{"url":"https://example.com/hook","format":"xml"}""", "format", "'xml' is not a format; use json or slack.")]
    [InlineData("""{"url":"https://example.com/hook","kinds":["budget_threshold","outage"]}""", "kinds", "'outage' is not an alert kind; use budget_threshold, unpriced_model, spend_spike or ingest_poisoned.")]
    [InlineData("""{"url":"https://example.com/hook","kinds":[]}""", "kinds", "must name each alert kind at most once, and at least one; leave it out for every kind.")]
    [InlineData("""{"url":"https://example.com/hook","secret":"too short"}""", "secret", "must be 16 to 256 characters, without spaces or control characters; leave it out to have one generated.")]
    [InlineData("""{"url":"https://example.com/hook","colour":"red"}""", "colour", "is not a known field.")]
    public async Task Bad_webhooks_are_refused_naming_the_field(string body, string field, string reason)
    {
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" });

        var reply = await app.SendAsync("POST", "/api/v1/alerts/webhooks", body);

        Assert.Equal((400, "application/problem+json"), (reply.Status, reply.MediaType));
        var error = Assert.Single(reply.Body!.Value.GetProperty("errors").EnumerateArray());
        Assert.Equal((field, reason), (error.Str("field"), error.Str("reason")));
        Assert.Empty((await app.SendAsync("GET", "/api/v1/alerts/webhooks")).Body!.Value.GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task A_webhook_is_created_read_replaced_keeping_its_secret_and_deleted_each_step_audited()
    {
        await using var receiver = await WebhookReceiver.StartAsync((_, _) => 200);
        await using var app = await TestApp.StartAsync(azurite);
        var (workspace, admin) = await app.CreateWorkspaceAsync(new { name = "alerts-crud" });
        const string Secret = "my-own-secret-of-some-length";
        var created = await app.SendAsync("POST", "/api/v1/alerts/webhooks", new { url = "https://hooks.example.com/a", kinds = new[] { "spend_spike" }, secret = Secret, enabled = false }, admin);
        Assert.Equal(201, created.Status);
        var id = created.Body!.Value.Str("id")!;
        Assert.Matches("^wh_[0-9a-f]{16}$", id);
        Assert.Equal(Secret, created.Body.Value.Str("secret"));

        var replaced = await app.SendAsync("PUT", $"/api/v1/alerts/webhooks/{id}", new { url = receiver.Url("/moved"), format = "json" }, admin);
        Assert.Equal(200, replaced.Status);
        var read = (await app.SendAsync("GET", $"/api/v1/alerts/webhooks/{id}", key: admin)).Body!.Value;
        Assert.Equal((id, receiver.Url("/moved"), "json", JsonValueKind.Null, true), (read.Str("id"), read.Str("url"), read.Str("format"), read.GetProperty("kinds").ValueKind, read.GetProperty("enabled").GetBoolean()));
        Assert.Equal(created.Body.Value.GetProperty("created_at").GetDateTimeOffset(), read.GetProperty("created_at").GetDateTimeOffset());
        Assert.False(replaced.Body!.Value.TryGetProperty("secret", out _));

        // The secret given at creation still signs after the replace, which named none.
        var alert = AlertTesting.BudgetAlert(workspace, DateTimeOffset.UtcNow);
        await AlertTesting.RaiseAsync(app, alert);
        Assert.Equal("delivered", (await AlertTesting.WaitUntilSettledAsync(app, admin, alert.Id)).Str("status"));
        var post = Assert.Single(receiver.Posts);
        Assert.Equal(AlertTesting.ExpectedSignature(Secret, post), post.Headers["X-AgentSpend-Signature"]);

        Assert.Equal(204, (await app.SendAsync("DELETE", $"/api/v1/alerts/webhooks/{id}", key: admin)).Status);
        var gone = await app.SendAsync("GET", $"/api/v1/alerts/webhooks/{id}", key: admin);
        Assert.Equal((404, "id"), (gone.Status, gone.Body!.Value.GetProperty("errors")[0].Str("field")));
        Assert.Equal(404, (await app.SendAsync("DELETE", $"/api/v1/alerts/webhooks/{id}", key: admin)).Status);
        Assert.Equal(404, (await app.SendAsync("PUT", "/api/v1/alerts/webhooks/wh_0000000000000000", new { url = "https://example.com/x" }, admin)).Status);

        var audit = await app.SendAsync("GET", "/api/v1/audit", key: admin);
        var entries = audit.Body!.Value.GetProperty("items").EnumerateArray().Where(e => e.Str("target") == id).ToArray();
        Assert.Equal(["alert.webhook.delete", "alert.webhook.update", "alert.webhook.create"], entries.Select(e => e.Str("action")));
        // The audit log, kept in clear, holds a URL's origin and a fingerprint of the whole: a Slack URL's path is its credential.
        static string Redacted(string url) => new Uri(url).GetLeftPart(UriPartial.Authority) + "/… (sha256 "
            + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(url)))[..12] + ")";
        Assert.Equal((Redacted("https://hooks.example.com/a"), Redacted(receiver.Url("/moved"))),
            (entries[1].GetProperty("before").Str("url"), entries[1].GetProperty("after").Str("url")));
        Assert.DoesNotContain(Secret, audit.Text, StringComparison.Ordinal);

        var readKey = (await app.SendAsync("POST", "/api/v1/keys", new { name = "reader", scopes = new[] { "read" } }, admin)).Body!.Value.Str("key");
        Assert.Equal(403, (await app.SendAsync("GET", "/api/v1/alerts/webhooks", key: readKey)).Status); // URLs can be secrets: admins only
        Assert.Equal(200, (await app.SendAsync("GET", "/api/v1/alerts", key: readKey)).Status);
    }

    [Fact]
    public async Task The_history_lists_alerts_newest_first_page_by_page_filtered_by_kind_and_status()
    {
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" });
        var (workspace, admin) = await app.CreateWorkspaceAsync(new { name = "alerts-history" });
        var (_, otherAdmin) = await app.CreateWorkspaceAsync(new { name = "alerts-elsewhere" });
        var start = new DateTimeOffset(2026, 11, 20, 8, 0, 0, TimeSpan.Zero);
        Alert[] raised =
        [
            AlertTesting.BudgetAlert(workspace, start),
            AlertTesting.UnpricedAlert(workspace, start.AddMinutes(1), "mystery-1"),
            AlertTesting.BudgetAlert(workspace, start.AddMinutes(2)),
            AlertTesting.UnpricedAlert(workspace, start.AddMinutes(3), "mystery-2"),
            AlertTesting.BudgetAlert(workspace, start.AddMinutes(4)),
        ];
        foreach (var alert in raised)
        {
            await AlertTesting.RaiseAsync(app, alert);
        }

        // Delivering two of them (the workspace has no webhook) settles them as no_webhooks; the rest stay pending.
        var deliverer = app.Services.GetRequiredService<AlertDeliverer>();
        await deliverer.DeliverAsync(new AlertMessage(workspace, raised[1].Id), CancellationToken.None);
        await deliverer.DeliverAsync(new AlertMessage(workspace, raised[4].Id), CancellationToken.None);

        async Task<(string[] Ids, string? Next)> PageAsync(string query)
        {
            var reply = await app.SendAsync("GET", "/api/v1/alerts" + query, key: admin);
            Assert.True(reply.Status == 200, reply.Text);
            var next = reply.Body!.Value.GetProperty("next_cursor");
            return ([.. reply.Body.Value.GetProperty("items").EnumerateArray().Select(i => i.Str("id")!)], next.ValueKind == JsonValueKind.Null ? null : next.GetString());
        }

        var newestFirst = raised.Reverse().Select(a => a.Id).ToArray();
        var page1 = await PageAsync("?limit=2");
        var page2 = await PageAsync($"?limit=2&cursor={page1.Next}");
        var page3 = await PageAsync($"?limit=2&cursor={page2.Next}");
        Assert.Equal([.. newestFirst[..2], "|", .. newestFirst[2..4], "|", .. newestFirst[4..]], [.. page1.Ids, "|", .. page2.Ids, "|", .. page3.Ids]);
        Assert.Null(page3.Next);
        var whole = await PageAsync("");
        Assert.Equal(newestFirst, whole.Ids);
        Assert.Null(whole.Next);
        Assert.Equal([raised[3].Id, raised[1].Id], (await PageAsync("?kind=unpriced_model")).Ids);
        Assert.Equal([raised[4].Id, raised[1].Id], (await PageAsync("?status=no_webhooks")).Ids);
        Assert.Equal([raised[3].Id, raised[2].Id, raised[0].Id], (await PageAsync("?status=pending")).Ids);
        Assert.Equal([raised[4].Id], (await PageAsync("?kind=budget_threshold&status=no_webhooks")).Ids);
        var filteredPage = await PageAsync("?kind=budget_threshold&limit=1");
        Assert.Equal([raised[2].Id], (await PageAsync($"?kind=budget_threshold&limit=1&cursor={filteredPage.Next}")).Ids);
        Assert.Empty((await app.SendAsync("GET", "/api/v1/alerts", key: otherAdmin)).Body!.Value.GetProperty("items").EnumerateArray());

        var unpriced = (await app.SendAsync("GET", $"/api/v1/alerts/{raised[1].Id}", key: admin)).Body!.Value;
        Assert.Equal(("unpriced_model", "Model 'mystery-1' has no price.", "mystery-1", start.AddMinutes(1), "no_webhooks", 1L),
            (unpriced.Str("kind"), unpriced.Str("message"), unpriced.Str("model"), unpriced.GetProperty("raised_at").GetDateTimeOffset(), unpriced.Str("status"), unpriced.Long("attempts")));
        Assert.Equal((JsonValueKind.Null, JsonValueKind.Null, JsonValueKind.Null, JsonValueKind.Null),
            (unpriced.GetProperty("budget").ValueKind, unpriced.GetProperty("spike").ValueKind, unpriced.GetProperty("last_error").ValueKind, unpriced.GetProperty("delivered_at").ValueKind));
        var budget = (await app.SendAsync("GET", $"/api/v1/alerts/{raised[0].Id}", key: admin)).Body!.Value;
        Assert.Equal(("pending", 0L, AlertTesting.BudgetId, 80L, 8.5m), (budget.Str("status"), budget.Long("attempts"), budget.GetProperty("budget").Str("id"), budget.GetProperty("budget").Long("threshold"), budget.GetProperty("budget").Dec("used")));
        Assert.Equal(404, (await app.SendAsync("GET", $"/api/v1/alerts/{raised[0].Id}", key: otherAdmin)).Status);
        Assert.Equal(404, (await app.SendAsync("GET", "/api/v1/alerts/not-an-alert-id", key: admin)).Status);

        foreach (var (query, field, reason) in new[]
                 {
                     ("?kind=outage", "kind", "'outage' is not an alert kind; use budget_threshold, unpriced_model, spend_spike or ingest_poisoned."),
                     ("?status=lost", "status", "'lost' is not a delivery status; use pending, delivered, failed, no_webhooks or throttled."),
                     ("?limit=0", "limit", "must be a whole number from 1 to 500."),
                     ("?cursor=bm90LW91cnM", "cursor", "is not a cursor this API gave out."),
                     ("?sort=oldest", "sort", "'sort' is not a parameter here; use cursor, kind, limit, status."),
                 })
        {
            var reply = await app.SendAsync("GET", "/api/v1/alerts" + query, key: admin);
            Assert.Equal((400, field, reason), (reply.Status, reply.Body!.Value.GetProperty("errors")[0].Str("field"), reply.Body.Value.GetProperty("errors")[0].Str("reason")));
        }
    }
}
