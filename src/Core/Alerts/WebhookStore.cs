using System.Buffers.Text;
using System.Security.Cryptography;
using AgentSpend.Core.Storage;
using Azure;
using Azure.Data.Tables;

namespace AgentSpend.Core.Alerts;

/// <summary>Where a workspace's alerts are posted, and how.</summary>
public sealed record Webhook
{
    public required string Id { get; init; }

    /// <summary>An absolute http or https URL.</summary>
    public required string Url { get; init; }

    /// <summary><see cref="WebhookFormats.Json"/> or <see cref="WebhookFormats.Slack"/>.</summary>
    public required string Format { get; init; }

    /// <summary>The alert kinds posted here; null: every kind.</summary>
    public IReadOnlyList<string>? Kinds { get; init; }

    /// <summary>The HMAC key of the signature header. Shown once, when the webhook is created.</summary>
    public required string Secret { get; init; }

    public required bool Enabled { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset UpdatedAt { get; init; }

    public bool Wants(string kind) => Enabled && (Kinds is null || Kinds.Contains(kind, StringComparer.Ordinal));
}

public static class WebhookFormats
{
    public const string Json = "json";

    /// <summary>A Slack incoming-webhook body: <c>{"text", "blocks"}</c>.</summary>
    public const string Slack = "slack";

    public static IReadOnlyList<string> All { get; } = [Json, Slack];
}

/// <summary>The webhooks of each workspace, in the <c>webhooks</c> table (one partition per workspace, one row per webhook).</summary>
public sealed class WebhookStore(IStorageProvider storage, TimeProvider clock)
{
    public const int MaxWebhooksPerWorkspace = 20;
    private const string IdPrefix = "wh_";

    private ITableStore Table => storage.GetTable(StorageNames.WebhooksTable);

    /// <summary>A secret for a webhook created without one: 32 random bytes, base64url, behind a prefix that secret scanners can spot.</summary>
    public static string NewSecret() => "whsec_" + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    public async Task<IReadOnlyList<Webhook>> ListAsync(string workspaceId, CancellationToken cancellationToken)
    {
        var webhooks = new List<Webhook>();
        await foreach (var row in CappedPartition.ListAsync(Table, workspaceId, cancellationToken).ConfigureAwait(false))
        {
            webhooks.Add(FromEntity(row));
        }

        return [.. webhooks.OrderBy(w => w.CreatedAt).ThenBy(w => w.Id, StringComparer.Ordinal)];
    }

    public async Task<Webhook?> GetAsync(string workspaceId, string id, CancellationToken cancellationToken) =>
        IsWellFormedId(id) && await Table.GetIfExistsAsync(workspaceId, id, cancellationToken: cancellationToken).ConfigureAwait(false) is { } row ? FromEntity(row) : null;

    /// <summary>
    /// Stores a new webhook under a new id (the given id and times are ignored); null when the workspace already
    /// holds <see cref="MaxWebhooksPerWorkspace"/>, however many are created at once.
    /// </summary>
    public async Task<Webhook?> CreateAsync(string workspaceId, Webhook webhook, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var stored = webhook with { Id = IdPrefix + Guid.NewGuid().ToString("N")[..16], CreatedAt = now, UpdatedAt = now };
        return await CappedPartition.TryAddAsync(Table, ToEntity(workspaceId, stored), MaxWebhooksPerWorkspace, cancellationToken).ConfigureAwait(false) ? stored : null;
    }

    /// <summary>Replaces a webhook (keeping its id and creation time) unless it changed meanwhile; null when there is none.</summary>
    public async Task<(Webhook Before, Webhook After)?> ReplaceAsync(string workspaceId, string id, Func<Webhook, Webhook> change, CancellationToken cancellationToken)
    {
        if (!IsWellFormedId(id) || await Table.GetIfExistsAsync(workspaceId, id, cancellationToken: cancellationToken).ConfigureAwait(false) is not { } row)
        {
            return null;
        }

        var before = FromEntity(row);
        var after = change(before) with { Id = id, CreatedAt = before.CreatedAt, UpdatedAt = clock.GetUtcNow() };
        await Table.UpdateAsync(ToEntity(workspaceId, after), row.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        return (before, after);
    }

    /// <summary>Deletes a webhook; returns it, or null when there was none.</summary>
    public async Task<Webhook?> DeleteAsync(string workspaceId, string id, CancellationToken cancellationToken)
    {
        if (await GetAsync(workspaceId, id, cancellationToken).ConfigureAwait(false) is not { } webhook)
        {
            return null;
        }

        return await CappedPartition.TryDeleteAsync(Table, workspaceId, id, cancellationToken).ConfigureAwait(false) ? webhook : null;
    }

    // Checked before any storage call, so that text which is not one of our ids never reaches a table key.
    private static bool IsWellFormedId(string id) => id is { Length: 19 } && id.StartsWith(IdPrefix, StringComparison.Ordinal) && id[3..].All(char.IsAsciiHexDigitLower);

    private static TableEntity ToEntity(string workspaceId, Webhook w) => new(workspaceId, w.Id)
    {
        ["Url"] = w.Url,
        ["Format"] = w.Format,
        ["Kinds"] = w.Kinds is null ? null : string.Join(',', w.Kinds),
        ["Secret"] = w.Secret,
        ["Enabled"] = w.Enabled,
        ["CreatedAt"] = w.CreatedAt,
        ["UpdatedAt"] = w.UpdatedAt,
    };

    private static Webhook FromEntity(TableEntity e) => new()
    {
        Id = e.RowKey,
        Url = e.GetString("Url") ?? "",
        Format = e.GetString("Format") ?? WebhookFormats.Json,
        Kinds = e.GetString("Kinds") is { Length: > 0 } kinds ? kinds.Split(',') : null,
        Secret = e.GetString("Secret") ?? "",
        Enabled = e.GetBoolean("Enabled") ?? true,
        CreatedAt = e.GetDateTimeOffset("CreatedAt") ?? default,
        UpdatedAt = e.GetDateTimeOffset("UpdatedAt") ?? default,
    };
}
