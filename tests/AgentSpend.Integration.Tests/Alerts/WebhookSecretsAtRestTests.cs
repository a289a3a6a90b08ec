using System.Security.Cryptography;
using AgentSpend.Core.Secrets;
using AgentSpend.Core.Storage;
using AgentSpend.Integration.Tests.Infrastructure;
using Azure.Data.Tables;

namespace AgentSpend.Integration.Tests.Alerts;

/// <summary>
/// Webhook URLs and signing secrets at rest: encrypted in the webhooks table with a key from outside the storage
/// account, rows stored in clear before encryption existed encrypted at start, and a key rotation that keeps old
/// secrets readable and re-encrypts them at the next start.
/// </summary>
public sealed class WebhookSecretsAtRestTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly string KeyB = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private static readonly string KeyC = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private static readonly DateTimeOffset RaisedAt = new(2026, 11, 22, 9, 30, 0, TimeSpan.Zero);

    private static Dictionary<string, string?> Settings(string? current = null, string? previous = null) => new()
    {
        ["AGENTSPEND_ALERT_MAX_ATTEMPTS"] = "1",
        ["AGENTSPEND_WEBHOOK_TIMEOUT_SECONDS"] = "5",
        ["AGENTSPEND_SECRET_KEY"] = current ?? TestApp.SecretKey,
        ["AGENTSPEND_SECRET_KEY_PREVIOUS"] = previous,
    };

    private static string KeyIdOf(string key) => SettingsSecretKeyRing.Parse("k", key).Id;

    [Fact]
    public async Task A_webhooks_url_and_secret_are_stored_encrypted_and_the_audit_log_keeps_only_the_urls_origin()
    {
        await using var receiver = await WebhookReceiver.StartAsync((_, _) => 200);
        await using var app = await TestApp.StartAsync(azurite, Settings());
        var (workspace, admin) = await app.CreateWorkspaceAsync(new { name = "secrets-at-rest" });
        var url = receiver.Url("/services/T0123/B0456/slack-token-in-the-path");
        const string secret = "whsec_given_by_the_owner_0123456789";

        var created = await app.SendAsync("POST", "/api/v1/alerts/webhooks", new { url, secret }, admin);

        Assert.Equal(201, created.Status);
        var id = created.Body!.Value.Str("id")!;
        var row = await RowAsync(app, workspace, id);
        var storedUrl = row.GetString("Url");
        var storedSecret = row.GetString("Secret");
        Assert.StartsWith($"enc1.{KeyIdOf(TestApp.SecretKey)}.", storedUrl, StringComparison.Ordinal);
        Assert.StartsWith($"enc1.{KeyIdOf(TestApp.SecretKey)}.", storedSecret, StringComparison.Ordinal);
        Assert.DoesNotContain("slack-token", storedUrl, StringComparison.Ordinal);
        Assert.DoesNotContain("owner", storedSecret, StringComparison.Ordinal);

        // Read back in clear by the API (admin only), and posted with the right signature.
        Assert.Equal(url, (await app.SendAsync("GET", $"/api/v1/alerts/webhooks/{id}", key: admin)).Body!.Value.Str("url"));
        var alert = AlertTesting.BudgetAlert(workspace, RaisedAt);
        await AlertTesting.RaiseAsync(app, alert);
        Assert.Equal("delivered", (await AlertTesting.WaitUntilSettledAsync(app, admin, alert.Id)).Str("status"));
        var post = Assert.Single(receiver.Posts);
        Assert.Equal(("/services/T0123/B0456/slack-token-in-the-path", AlertTesting.ExpectedSignature(secret, post)), (post.Path, post.Headers["X-AgentSpend-Signature"]));

        // The audit log, kept in clear, holds the URL's origin and a fingerprint that changes with it.
        var changed = await app.SendAsync("PUT", $"/api/v1/alerts/webhooks/{id}", new { url = receiver.Url("/services/T0123/B0456/another-token") }, admin);
        Assert.Equal(200, changed.Status);
        var audit = await app.SendAsync("GET", "/api/v1/audit", key: admin);
        Assert.DoesNotContain("token", audit.Text, StringComparison.Ordinal);
        var origin = new Uri(url).GetLeftPart(UriPartial.Authority);
        var fingerprints = System.Text.RegularExpressions.Regex.Matches(audit.Text, System.Text.RegularExpressions.Regex.Escape(origin) + @"/… \(sha256 ([0-9a-f]{12})\)").Select(m => m.Groups[1].Value).Distinct().ToList();
        Assert.Equal(2, fingerprints.Count);
    }

    [Fact]
    public async Task Webhooks_stored_in_clear_before_encryption_are_encrypted_at_the_next_start_and_still_post_signed()
    {
        await using var receiver = await WebhookReceiver.StartAsync((_, _) => 200);
        string workspace, admin;
        const string id = "wh_00aa11bb22cc33dd";
        const string legacySecret = "whsec_stored_in_clear_long_ago_42";
        await using (var before = await TestApp.StartAsync(azurite, Settings()))
        {
            (workspace, admin) = await before.CreateWorkspaceAsync(new { name = "legacy-webhooks" });
            // As the code before encryption wrote it, and no sweep has run since.
            var table = before.Storage.GetTable(StorageNames.WebhooksTable);
            await table.InsertAsync(new TableEntity(workspace, id)
            {
                ["Url"] = receiver.Url("/legacy"), ["Format"] = "json", ["Secret"] = legacySecret, ["Enabled"] = true,
                ["CreatedAt"] = RaisedAt, ["UpdatedAt"] = RaisedAt,
            });
            await table.DeleteAsync("~secrets", "encrypted-under", Azure.ETag.All);
        }

        await using var app = await TestApp.StartAsync(azurite, Settings());

        var row = await RowAsync(app, workspace, id);
        Assert.StartsWith($"enc1.{KeyIdOf(TestApp.SecretKey)}.", row.GetString("Url"), StringComparison.Ordinal);
        Assert.StartsWith($"enc1.{KeyIdOf(TestApp.SecretKey)}.", row.GetString("Secret"), StringComparison.Ordinal);
        var marker = await app.Storage.GetTable(StorageNames.WebhooksTable).GetIfExistsAsync("~secrets", "encrypted-under");
        Assert.Equal(KeyIdOf(TestApp.SecretKey), marker!.GetString("KeyId"));
        Assert.Contains(app.LogLines, l => l.Contains("Stored webhook URLs and secrets: 1 rewritten under key " + KeyIdOf(TestApp.SecretKey), StringComparison.Ordinal));

        var alert = AlertTesting.BudgetAlert(workspace, RaisedAt);
        await AlertTesting.RaiseAsync(app, alert);
        Assert.Equal("delivered", (await AlertTesting.WaitUntilSettledAsync(app, admin, alert.Id)).Str("status"));
        var post = Assert.Single(receiver.PostsTo("/legacy"));
        Assert.Equal(AlertTesting.ExpectedSignature(legacySecret, post), post.Headers["X-AgentSpend-Signature"]);
    }

    [Fact]
    public async Task A_rotated_key_keeps_old_secrets_readable_the_next_start_moves_them_to_the_new_key_and_a_lost_key_stops_only_its_webhooks()
    {
        await using var receiver = await WebhookReceiver.StartAsync((_, _) => 200);
        string workspace, admin, id, secret;
        await using (var first = await TestApp.StartAsync(azurite, Settings()))
        {
            (workspace, admin) = await first.CreateWorkspaceAsync(new { name = "rotation" });
            var created = await first.SendAsync("POST", "/api/v1/alerts/webhooks", new { url = receiver.Url("/rotated") }, admin);
            (id, secret) = (created.Body!.Value.Str("id")!, created.Body.Value.Str("secret")!);
        }

        // Rotation: B encrypts, A still decrypts. The start moves every row to B.
        await using (var rotated = await TestApp.StartAsync(azurite, Settings(KeyB, TestApp.SecretKey)))
        {
            Assert.StartsWith($"enc1.{KeyIdOf(KeyB)}.", (await RowAsync(rotated, workspace, id)).GetString("Secret"), StringComparison.Ordinal);
            await DeliveredSignedAsync(rotated, workspace, admin, receiver, secret);
        }

        // A dropped: nothing was left under it.
        await using (var afterRotation = await TestApp.StartAsync(azurite, Settings(KeyB)))
        {
            await DeliveredSignedAsync(afterRotation, workspace, admin, receiver, secret);
        }

        // B lost: the webhook cannot post, says why, and its row is left for B to read should it be found again.
        await using var lost = await TestApp.StartAsync(azurite, Settings(KeyC));
        Assert.StartsWith($"enc1.{KeyIdOf(KeyB)}.", (await RowAsync(lost, workspace, id)).GetString("Secret"), StringComparison.Ordinal);
        var posts = receiver.Posts.Count;
        var alert = AlertTesting.BudgetAlert(workspace, RaisedAt);
        await AlertTesting.RaiseAsync(lost, alert);
        var failed = await AlertTesting.WaitUntilSettledAsync(lost, admin, alert.Id);
        Assert.Equal([(id, "failed", 1L, (int?)null, "its stored URL or signing secret cannot be decrypted: replace the webhook")], AlertTesting.Deliveries(failed));
        Assert.Equal(posts, receiver.Posts.Count);
        Assert.Contains(lost.LogLines, l => l.Contains($"Webhook {id} of workspace {workspace} cannot be used: A stored secret cannot be decrypted: its encryption key is no longer held (key id '{KeyIdOf(KeyB)}').", StringComparison.Ordinal));

        // Replacing it needs a new secret, and then it posts again.
        var withoutSecret = await lost.SendAsync("PUT", $"/api/v1/alerts/webhooks/{id}", new { url = receiver.Url("/rotated") }, admin);
        Assert.Equal((400, "secret"), (withoutSecret.Status, withoutSecret.Body!.Value.GetProperty("errors")[0].Str("field")));
        const string renewed = "whsec_renewed_after_the_key_was_lost";
        Assert.Equal(200, (await lost.SendAsync("PUT", $"/api/v1/alerts/webhooks/{id}", new { url = receiver.Url("/rotated"), secret = renewed }, admin)).Status);
        await DeliveredSignedAsync(lost, workspace, admin, receiver, renewed);
    }

    private static async Task DeliveredSignedAsync(TestApp app, string workspace, string admin, WebhookReceiver receiver, string secret)
    {
        var posts = receiver.Posts.Count;
        var alert = AlertTesting.BudgetAlert(workspace, RaisedAt);
        await AlertTesting.RaiseAsync(app, alert);
        Assert.Equal("delivered", (await AlertTesting.WaitUntilSettledAsync(app, admin, alert.Id)).Str("status"));
        var post = receiver.Posts[posts];
        Assert.Equal(AlertTesting.ExpectedSignature(secret, post), post.Headers["X-AgentSpend-Signature"]);
    }

    private static async Task<TableEntity> RowAsync(TestApp app, string workspace, string id) =>
        await app.Storage.GetTable(StorageNames.WebhooksTable).GetIfExistsAsync(workspace, id) ?? throw new InvalidOperationException($"no row {workspace}/{id}");
}
