using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace AgentSpend.Core.Alerts;

/// <summary>
/// The bodies posted to webhooks, and their signature. The body of an alert is the same on every attempt, so a
/// receiver can compare retries byte for byte; the timestamp, which changes, travels in a header and is signed with it.
/// </summary>
public static class WebhookPayload
{
    public const string SignatureHeader = "X-AgentSpend-Signature";
    public const string TimestampHeader = "X-AgentSpend-Timestamp";
    public const string AlertIdHeader = "X-AgentSpend-Alert-Id";

    /// <summary>Names as the API writes them (snake_case), nulls left out.</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>What a <c>json</c> webhook receives.</summary>
    public sealed record AlertBody(
        string Id, string WorkspaceId, string Kind, string Message, DateTimeOffset RaisedAt,
        BudgetAlertDetails? Budget, string? Model, SpikeAlertDetails? Spike, PoisonedAlertDetails? Poisoned);

    public static byte[] Body(Alert alert, string format) => format == WebhookFormats.Slack
        ? JsonSerializer.SerializeToUtf8Bytes(SlackBody(alert), JsonOptions)
        : JsonSerializer.SerializeToUtf8Bytes(new AlertBody(alert.Id, alert.WorkspaceId, alert.Kind, alert.Message, alert.RaisedAt, alert.Budget, alert.Model, alert.Spike, alert.Poisoned), JsonOptions);

    /// <summary>
    /// <c>sha256=</c> and the lower-case hex HMAC-SHA256, keyed with the secret's UTF-8 bytes, of the timestamp's
    /// decimal digits, a dot, and the exact body bytes. Signing the timestamp lets a receiver refuse replays.
    /// </summary>
    public static string Sign(string secret, long unixSeconds, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.ASCII.GetBytes(unixSeconds.ToString(CultureInfo.InvariantCulture) + ".");
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(prefix.Length));
        return "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed));
    }

    /// <summary>Slack's incoming-webhook shape: <c>text</c> for notifications, <c>blocks</c> for the message itself.</summary>
    private static Dictionary<string, object> SlackBody(Alert alert)
    {
        var title = alert.Kind switch
        {
            Alert.BudgetThreshold => "Budget threshold reached",
            Alert.UnpricedModel => "Model without a price",
            Alert.SpendSpike => "Spend spike",
            Alert.IngestPoisoned => "Message moved to a poison queue",
            _ => alert.Kind,
        };
        var context = $"AgentSpend · workspace {alert.WorkspaceId} · {alert.RaisedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC · alert {alert.Id}";
        return new Dictionary<string, object>
        {
            ["text"] = Escape($"{title}: {alert.Message}"),
            ["blocks"] = new object[]
            {
                new Dictionary<string, object> { ["type"] = "section", ["text"] = new Dictionary<string, string> { ["type"] = "mrkdwn", ["text"] = $"*{Escape(title)}*\n{Escape(alert.Message)}" } },
                new Dictionary<string, object> { ["type"] = "context", ["elements"] = new object[] { new Dictionary<string, string> { ["type"] = "mrkdwn", ["text"] = Escape(context) } } },
            },
        };
    }

    /// <summary>The three characters Slack's mrkdwn reads as control characters.</summary>
    private static string Escape(string text) => text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);
}
