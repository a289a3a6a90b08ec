using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AgentSpend.Core.Alerts;
using AgentSpend.Integration.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.Alerts;

internal static class AlertTesting
{
    public const string BudgetId = "bud_00112233445566aa";

    /// <summary>A budget-threshold alert as the budget evaluator raises one; a fresh key each time, so each raise counts.</summary>
    public static Alert BudgetAlert(string workspaceId, DateTimeOffset raisedAt, string message = "Budget 'coder daily' reached 80% of $10 (used $8.50).") => new()
    {
        Id = AlertStore.NewId(raisedAt),
        WorkspaceId = workspaceId,
        Kind = Alert.BudgetThreshold,
        Key = $"{BudgetId}|2026-11-22|80|{Guid.NewGuid():N}",
        Message = message,
        RaisedAt = raisedAt,
        Budget = new BudgetAlertDetails(BudgetId, "coder daily", "agent", "coder", "cost_usd", "daily", "block", 10m, 8.5m, 85m, 80, "2026-11-22T00:00:00+00:00", "2026-11-23T00:00:00+00:00"),
    };

    public static Alert UnpricedAlert(string workspaceId, DateTimeOffset raisedAt, string model) => new()
    {
        Id = AlertStore.NewId(raisedAt),
        WorkspaceId = workspaceId,
        Kind = Alert.UnpricedModel,
        Key = $"unpriced|{model}",
        Message = $"Model '{model}' has no price.",
        RaisedAt = raisedAt,
        Model = model,
    };

    public static async Task RaiseAsync(TestApp app, Alert alert) =>
        Assert.True(await app.Services.GetRequiredService<AlertStore>().RaiseAsync(alert, CancellationToken.None));

    /// <summary>The alert as GET /api/v1/alerts/{id} shows it, once its delivery is no longer pending.</summary>
    public static async Task<JsonElement> WaitUntilSettledAsync(TestApp app, string key, string alertId, int timeoutSeconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (true)
        {
            var reply = await app.SendAsync("GET", $"/api/v1/alerts/{alertId}", key: key);
            Assert.True(reply.Status == 200, reply.Text);
            if (reply.Body!.Value.Str("status") != AlertDelivery.Pending.ToWire() || DateTime.UtcNow > deadline)
            {
                return reply.Body.Value;
            }

            await Task.Delay(100);
        }
    }

    /// <summary>What a receiver computes to check a post: HMAC-SHA256, keyed with the secret, over "{timestamp}." and the body bytes.</summary>
    public static string ExpectedSignature(string secret, ReceivedPost post) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(
            Encoding.UTF8.GetBytes(secret),
            (byte[])[.. Encoding.ASCII.GetBytes(post.Headers["X-AgentSpend-Timestamp"] + "."), .. post.Body]));

    /// <summary>Per webhook: (id, status, attempts, status_code, error) as the alert's history shows them.</summary>
    public static (string?, string?, long, int?, string?)[] Deliveries(JsonElement alert) =>
        [.. alert.GetProperty("webhooks").EnumerateArray().Select(w => (
            w.Str("webhook_id"), w.Str("status"), w.Long("attempts"),
            w.GetProperty("status_code").ValueKind == JsonValueKind.Null ? (int?)null : w.GetProperty("status_code").GetInt32(),
            w.Str("error")))];
}
