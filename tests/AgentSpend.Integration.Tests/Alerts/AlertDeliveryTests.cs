using System.Text.Json;
using AgentSpend.Core.Storage;
using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Alerts;

/// <summary>
/// The DeliverAlerts queue function, run by the standalone trigger runner, posting raised alerts to a local receiver:
/// signatures, the json and slack bodies, retries with backoff to only the webhooks that failed, and the poison path.
/// </summary>
public sealed class AlertDeliveryTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private const int MaxAttempts = 3;

    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["AGENTSPEND_ALERT_RETRY_BASE_SECONDS"] = "1",
        ["AGENTSPEND_ALERT_MAX_ATTEMPTS"] = MaxAttempts.ToString(),
        ["AGENTSPEND_WEBHOOK_TIMEOUT_SECONDS"] = "5",
    };

    private static readonly DateTimeOffset RaisedAt = new(2026, 11, 22, 9, 30, 0, TimeSpan.Zero);

    [Fact]
    public async Task An_alert_is_posted_once_with_its_id_and_a_signature_over_the_timestamp_and_the_exact_body()
    {
        await using var receiver = await WebhookReceiver.StartAsync((_, _) => 200);
        await using var app = await TestApp.StartAsync(azurite, Settings);
        var (workspace, admin) = await app.CreateWorkspaceAsync(new { name = "alerts-signed" });
        var created = await app.SendAsync("POST", "/api/v1/alerts/webhooks", new { url = receiver.Url("/hook") }, admin);
        Assert.Equal(201, created.Status);
        var webhook = created.Body!.Value;
        var secret = webhook.Str("secret")!;
        Assert.Matches("^whsec_[A-Za-z0-9_-]{43}$", secret);
        Assert.Equal(("json", true, JsonValueKind.Null), (webhook.Str("format"), webhook.GetProperty("enabled").GetBoolean(), webhook.GetProperty("kinds").ValueKind));
        var alert = AlertTesting.BudgetAlert(workspace, RaisedAt);
        var sentAfter = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        await AlertTesting.RaiseAsync(app, alert);
        var settled = await AlertTesting.WaitUntilSettledAsync(app, admin, alert.Id);

        var post = Assert.Single(receiver.Posts);
        Assert.Equal(("/hook", "application/json; charset=utf-8", alert.Id), (post.Path, post.ContentType, post.Headers["X-AgentSpend-Alert-Id"]));
        Assert.InRange(long.Parse(post.Headers["X-AgentSpend-Timestamp"]), sentAfter, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        Assert.Equal(AlertTesting.ExpectedSignature(secret, post), post.Headers["X-AgentSpend-Signature"]);
        Assert.NotEqual(AlertTesting.ExpectedSignature("whsec_another_secret_entirely", post), post.Headers["X-AgentSpend-Signature"]);
        var body = JsonDocument.Parse(post.Body).RootElement;
        Assert.Equal(["id", "workspace_id", "kind", "message", "raised_at", "budget"], body.EnumerateObject().Select(p => p.Name));
        Assert.Equal((alert.Id, workspace, "budget_threshold", alert.Message, RaisedAt), (body.Str("id"), body.Str("workspace_id"), body.Str("kind"), body.Str("message"), body.GetProperty("raised_at").GetDateTimeOffset()));
        Assert.Equal(
            """{"id":"bud_00112233445566aa","name":"coder daily","scope":"agent","scope_value":"coder","metric":"cost_usd","period":"daily","action":"block","limit":10,"used":8.5,"used_pct":85,"threshold":80,"period_start":"2026-11-22T00:00:00\u002B00:00","period_end":"2026-11-23T00:00:00\u002B00:00"}""",
            body.GetProperty("budget").GetRawText());

        Assert.Equal(("delivered", 1L, JsonValueKind.Null), (settled.Str("status"), settled.Long("attempts"), settled.GetProperty("last_error").ValueKind));
        Assert.InRange(settled.GetProperty("delivered_at").GetDateTimeOffset(), DateTimeOffset.FromUnixTimeSeconds(sentAfter), DateTimeOffset.UtcNow);
        Assert.Equal([(webhook.Str("id"), "delivered", 1L, (int?)200, (string?)null)], AlertTesting.Deliveries(settled));

        // The secret is shown once: never again on a read, nor in the audit log.
        var read = await app.SendAsync("GET", $"/api/v1/alerts/webhooks/{webhook.Str("id")}", key: admin);
        var list = await app.SendAsync("GET", "/api/v1/alerts/webhooks", key: admin);
        var audit = await app.SendAsync("GET", "/api/v1/audit?action=alert.webhook.create", key: admin);
        Assert.Equal((200, 200, 200), (read.Status, list.Status, audit.Status));
        Assert.False(read.Body!.Value.TryGetProperty("secret", out _));
        Assert.Equal(receiver.Url("/hook"), Assert.Single(list.Body!.Value.GetProperty("items").EnumerateArray()).Str("url"));
        Assert.DoesNotContain(secret, read.Text + list.Text + audit.Text, StringComparison.Ordinal);
        Assert.Equal(webhook.Str("id"), Assert.Single(audit.Body!.Value.GetProperty("items").EnumerateArray()).Str("target"));
    }

    [Fact]
    public async Task A_failing_webhook_is_retried_with_backoff_until_it_answers_and_the_others_are_not_posted_again()
    {
        await using var receiver = await WebhookReceiver.StartAsync((path, n) => path == "/flaky" && n <= 2 ? 500 : 200);
        await using var app = await TestApp.StartAsync(azurite, Settings);
        var (workspace, admin) = await app.CreateWorkspaceAsync(new { name = "alerts-retried" });
        var flakyId = (await app.SendAsync("POST", "/api/v1/alerts/webhooks", new { url = receiver.Url("/flaky") }, admin)).Body!.Value.Str("id");
        var steadyId = (await app.SendAsync("POST", "/api/v1/alerts/webhooks", new { url = receiver.Url("/steady") }, admin)).Body!.Value.Str("id");
        var alert = AlertTesting.BudgetAlert(workspace, RaisedAt);

        await AlertTesting.RaiseAsync(app, alert);
        var settled = await AlertTesting.WaitUntilSettledAsync(app, admin, alert.Id);

        var flaky = receiver.PostsTo("/flaky");
        Assert.Equal([500, 500, 200], flaky.Select(p => p.AnsweredWith));
        Assert.Single(receiver.PostsTo("/steady"));
        Assert.All(flaky, p => Assert.Equal(flaky[0].Body, p.Body)); // the same body on every attempt, so receivers can compare
        Assert.Equal(flaky[0].Body, receiver.PostsTo("/steady")[0].Body);
        Assert.True(flaky[1].At - flaky[0].At >= TimeSpan.FromSeconds(0.9), $"first retry after {flaky[1].At - flaky[0].At}");
        Assert.True(flaky[2].At - flaky[1].At >= TimeSpan.FromSeconds(1.9), $"second retry after {flaky[2].At - flaky[1].At}");
        Assert.Equal(("delivered", 3L, $"{flakyId}: HTTP 500"), (settled.Str("status"), settled.Long("attempts"), settled.Str("last_error")));
        Assert.Equal(
            new (string?, string?, long, int?, string?)[] { (flakyId, "delivered", 3L, 200, null), (steadyId, "delivered", 1L, 200, null) }.OrderBy(d => d.Item1, StringComparer.Ordinal),
            AlertTesting.Deliveries(settled));

        await Task.Delay(TimeSpan.FromSeconds(3)); // time for any stray retry to arrive
        Assert.Equal(4, receiver.Posts.Count);
        Assert.Equal(0, await app.Storage.GetQueue(StorageNames.AlertsQueue).GetApproximateCountAsync());
    }

    [Fact]
    public async Task A_webhook_that_always_fails_ends_the_alert_failed_after_the_last_attempt_and_its_message_in_the_poison_queue()
    {
        await using var receiver = await WebhookReceiver.StartAsync((_, _) => 503);
        await using var app = await TestApp.StartAsync(azurite, Settings);
        var (workspace, admin) = await app.CreateWorkspaceAsync(new { name = "alerts-poisoned" });
        var webhookId = (await app.SendAsync("POST", "/api/v1/alerts/webhooks", new { url = receiver.Url("/down") }, admin)).Body!.Value.Str("id");
        var alert = AlertTesting.BudgetAlert(workspace, RaisedAt);

        await AlertTesting.RaiseAsync(app, alert);
        var settled = await AlertTesting.WaitUntilSettledAsync(app, admin, alert.Id);
        var poison = app.Storage.GetQueue(StorageNames.PoisonQueueOf(StorageNames.AlertsQueue));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        IReadOnlyList<PeekedMessage> poisoned;
        while ((poisoned = [.. (await poison.PeekAsync(32)).Where(m => m.Text.Contains(alert.Id, StringComparison.Ordinal))]).Count == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.Equal($$"""{"WorkspaceId":"{{workspace}}","AlertId":"{{alert.Id}}","Attempt":{{MaxAttempts}}}""", Assert.Single(poisoned).Text);
        Assert.Equal(MaxAttempts, receiver.Posts.Count);
        Assert.Equal(("failed", (long)MaxAttempts, $"{webhookId}: HTTP 503", JsonValueKind.Null),
            (settled.Str("status"), settled.Long("attempts"), settled.Str("last_error"), settled.GetProperty("delivered_at").ValueKind));
        Assert.Equal([(webhookId, "failed", (long)MaxAttempts, (int?)503, (string?)"HTTP 503")], AlertTesting.Deliveries(settled));
        Assert.Equal(0, await app.Storage.GetQueue(StorageNames.AlertsQueue).GetApproximateCountAsync());
    }

    [Fact]
    public async Task A_slack_webhook_gets_text_and_blocks_with_slack_control_characters_escaped()
    {
        await using var receiver = await WebhookReceiver.StartAsync((_, _) => 200);
        await using var app = await TestApp.StartAsync(azurite, Settings);
        var (workspace, admin) = await app.CreateWorkspaceAsync(new { name = "alerts-slack" });
        var created = await app.SendAsync("POST", "/api/v1/alerts/webhooks", new { url = receiver.Url("/slack"), format = "slack", kinds = new[] { "budget_threshold" } }, admin);
        Assert.Equal(201, created.Status);
        Assert.Equal(["budget_threshold"], created.Body!.Value.GetProperty("kinds").EnumerateArray().Select(k => k.GetString()));
        var alert = AlertTesting.BudgetAlert(workspace, RaisedAt, "Budget 'coder <daily>' & co reached 80% of $10.");

        await AlertTesting.RaiseAsync(app, alert);
        Assert.Equal("delivered", (await AlertTesting.WaitUntilSettledAsync(app, admin, alert.Id)).Str("status"));

        var post = Assert.Single(receiver.Posts);
        Assert.Equal(AlertTesting.ExpectedSignature(created.Body.Value.Str("secret")!, post), post.Headers["X-AgentSpend-Signature"]);
        var body = JsonDocument.Parse(post.Body).RootElement;
        Assert.Equal(["text", "blocks"], body.EnumerateObject().Select(p => p.Name));
        Assert.Equal("Budget threshold reached: Budget 'coder &lt;daily&gt;' &amp; co reached 80% of $10.", body.Str("text"));
        var blocks = body.GetProperty("blocks").EnumerateArray().ToArray();
        Assert.Equal(["section", "context"], blocks.Select(b => b.Str("type")));
        Assert.Equal(("mrkdwn", "*Budget threshold reached*\nBudget 'coder &lt;daily&gt;' &amp; co reached 80% of $10."),
            (blocks[0].GetProperty("text").Str("type"), blocks[0].GetProperty("text").Str("text")));
        var context = Assert.Single(blocks[1].GetProperty("elements").EnumerateArray());
        Assert.Equal(("mrkdwn", $"AgentSpend · workspace {workspace} · 2026-11-22 09:30 UTC · alert {alert.Id}"), (context.Str("type"), context.Str("text")));
    }

    [Fact]
    public async Task Without_a_webhook_that_wants_the_alert_nothing_is_posted_and_the_alert_says_no_webhooks()
    {
        await using var receiver = await WebhookReceiver.StartAsync((_, _) => 200);
        await using var app = await TestApp.StartAsync(azurite, Settings);
        var (workspace, admin) = await app.CreateWorkspaceAsync(new { name = "alerts-unheard" });
        var first = AlertTesting.BudgetAlert(workspace, RaisedAt);
        await AlertTesting.RaiseAsync(app, first);
        var settledFirst = await AlertTesting.WaitUntilSettledAsync(app, admin, first.Id);

        // A disabled webhook, and one for other kinds only, do not want a budget alert either.
        Assert.Equal(201, (await app.SendAsync("POST", "/api/v1/alerts/webhooks", new { url = receiver.Url("/disabled"), enabled = false }, admin)).Status);
        Assert.Equal(201, (await app.SendAsync("POST", "/api/v1/alerts/webhooks", new { url = receiver.Url("/spikes"), kinds = new[] { "spend_spike", "unpriced_model" } }, admin)).Status);
        var second = AlertTesting.BudgetAlert(workspace, RaisedAt.AddMinutes(1));
        await AlertTesting.RaiseAsync(app, second);
        var settledSecond = await AlertTesting.WaitUntilSettledAsync(app, admin, second.Id);

        foreach (var settled in new[] { settledFirst, settledSecond })
        {
            Assert.Equal(("no_webhooks", 1L, 0), (settled.Str("status"), settled.Long("attempts"), settled.GetProperty("webhooks").GetArrayLength()));
        }

        Assert.Empty(receiver.Posts);
    }
}
