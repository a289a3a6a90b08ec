using System.Buffers.Text;
using System.Security.Cryptography;
using AgentSpend.Core.Secrets;
using AgentSpend.Core.Storage;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;

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

    /// <summary>True when the stored URL or secret could not be decrypted (its key is gone): nothing is posted, and both read empty.</summary>
    public bool Unreadable { get; init; }

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

/// <summary>
/// The webhooks of each workspace, in the <c>webhooks</c> table (one partition per workspace, one row per webhook).
/// A webhook's URL (Slack's carry their credential) and signing secret are stored encrypted by <see cref="SecretProtector"/>,
/// with a key kept outside the storage account.
/// </summary>
public sealed partial class WebhookStore(IStorageProvider storage, SecretProtector protector, TimeProvider clock, ILogger<WebhookStore> logger)
{
    public const int MaxWebhooksPerWorkspace = 20;
    private const string IdPrefix = "wh_";

    // Outside every workspace's partition: workspace ids never start with '~'.
    private const string SweepPartition = "~secrets";
    private const string SweepRow = "encrypted-under";

    private ITableStore Table => storage.GetTable(StorageNames.WebhooksTable);

    /// <summary>A secret for a webhook created without one: 32 random bytes, base64url, behind a prefix that secret scanners can spot.</summary>
    public static string NewSecret() => "whsec_" + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    public async Task<IReadOnlyList<Webhook>> ListAsync(string workspaceId, CancellationToken cancellationToken)
    {
        var webhooks = new List<Webhook>();
        await foreach (var row in CappedPartition.ListAsync(Table, workspaceId, cancellationToken).ConfigureAwait(false))
        {
            webhooks.Add(await FromEntityAsync(row, cancellationToken).ConfigureAwait(false));
        }

        return [.. webhooks.OrderBy(w => w.CreatedAt).ThenBy(w => w.Id, StringComparer.Ordinal)];
    }

    public async Task<Webhook?> GetAsync(string workspaceId, string id, CancellationToken cancellationToken) =>
        IsWellFormedId(id) && await Table.GetIfExistsAsync(workspaceId, id, cancellationToken: cancellationToken).ConfigureAwait(false) is { } row
            ? await FromEntityAsync(row, cancellationToken).ConfigureAwait(false)
            : null;

    /// <summary>
    /// Stores a new webhook under a new id (the given id and times are ignored); null when the workspace already
    /// holds <see cref="MaxWebhooksPerWorkspace"/>, however many are created at once.
    /// </summary>
    public async Task<Webhook?> CreateAsync(string workspaceId, Webhook webhook, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var stored = webhook with { Id = IdPrefix + Guid.NewGuid().ToString("N")[..16], CreatedAt = now, UpdatedAt = now };
        var entity = await ToEntityAsync(workspaceId, stored, cancellationToken).ConfigureAwait(false);
        return await CappedPartition.TryAddAsync(Table, entity, MaxWebhooksPerWorkspace, cancellationToken).ConfigureAwait(false) ? stored : null;
    }

    /// <summary>Replaces a webhook (keeping its id and creation time) unless it changed meanwhile; null when there is none.</summary>
    public async Task<(Webhook Before, Webhook After)?> ReplaceAsync(string workspaceId, string id, Func<Webhook, Webhook> change, CancellationToken cancellationToken)
    {
        if (!IsWellFormedId(id) || await Table.GetIfExistsAsync(workspaceId, id, cancellationToken: cancellationToken).ConfigureAwait(false) is not { } row)
        {
            return null;
        }

        var before = await FromEntityAsync(row, cancellationToken).ConfigureAwait(false);
        var after = change(before) with { Id = id, CreatedAt = before.CreatedAt, UpdatedAt = clock.GetUtcNow(), Unreadable = false };
        await Table.UpdateAsync(await ToEntityAsync(workspaceId, after, cancellationToken).ConfigureAwait(false), row.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
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

    /// <summary>
    /// Encrypts, under the current key, every stored URL and secret that is in clear (stored before encryption) or under
    /// an older key; runs at start and does nothing when the last sweep ran under the current key. After one start with a
    /// new key, the keys before it may be dropped. Safe on several instances at once: each row is rewritten only if
    /// unchanged since read, and a row changed meanwhile was written under the current key anyway.
    /// </summary>
    public async Task<int> EncryptStoredAsync(CancellationToken cancellationToken)
    {
        var currentKeyId = await protector.CurrentKeyIdAsync(cancellationToken).ConfigureAwait(false);
        if (await Table.GetIfExistsAsync(SweepPartition, SweepRow, cancellationToken: cancellationToken).ConfigureAwait(false) is { } marker
            && string.Equals(marker.GetString("KeyId"), currentKeyId, StringComparison.Ordinal))
        {
            return 0;
        }

        var rewritten = 0;
        await foreach (var row in Table.QueryAsync(TableClient.CreateQueryFilter($"PartitionKey ne {SweepPartition}"), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (row.GetString("Url") is not { } url || row.GetString("Secret") is not { } secret
                || (await protector.IsUnderCurrentKeyAsync(url, cancellationToken).ConfigureAwait(false) && await protector.IsUnderCurrentKeyAsync(secret, cancellationToken).ConfigureAwait(false)))
            {
                continue;
            }

            var webhook = await FromEntityAsync(row, cancellationToken).ConfigureAwait(false);
            if (webhook.Unreadable)
            {
                continue; // logged by the read; rewriting would destroy what a restored key could still read
            }

            try
            {
                await Table.UpdateAsync(await ToEntityAsync(row.PartitionKey, webhook, cancellationToken).ConfigureAwait(false), row.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                rewritten++;
            }
            catch (RequestFailedException ex) when (ex.Status is 404 or 412)
            {
                // Deleted or changed since read: nothing left in clear or under an old key in this row.
            }
        }

        await Table.UpsertAsync(new TableEntity(SweepPartition, SweepRow) { ["KeyId"] = currentKeyId, ["At"] = clock.GetUtcNow(), ["Rewritten"] = rewritten }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        LogSwept(logger, rewritten, currentKeyId);
        return rewritten;
    }

    private static string UrlContext(string workspaceId, string id) => $"webhooks/{workspaceId}/{id}/url";

    private static string SecretContext(string workspaceId, string id) => $"webhooks/{workspaceId}/{id}/secret";

    private async Task<TableEntity> ToEntityAsync(string workspaceId, Webhook w, CancellationToken cancellationToken) => new(workspaceId, w.Id)
    {
        ["Url"] = await protector.ProtectAsync(w.Url, UrlContext(workspaceId, w.Id), cancellationToken).ConfigureAwait(false),
        ["Format"] = w.Format,
        ["Kinds"] = w.Kinds is null ? null : string.Join(',', w.Kinds),
        ["Secret"] = await protector.ProtectAsync(w.Secret, SecretContext(workspaceId, w.Id), cancellationToken).ConfigureAwait(false),
        ["Enabled"] = w.Enabled,
        ["CreatedAt"] = w.CreatedAt,
        ["UpdatedAt"] = w.UpdatedAt,
    };

    private async Task<Webhook> FromEntityAsync(TableEntity e, CancellationToken cancellationToken)
    {
        var webhook = new Webhook
        {
            Id = e.RowKey,
            Url = "",
            Format = e.GetString("Format") ?? WebhookFormats.Json,
            Kinds = e.GetString("Kinds") is { Length: > 0 } kinds ? kinds.Split(',') : null,
            Secret = "",
            Enabled = e.GetBoolean("Enabled") ?? true,
            CreatedAt = e.GetDateTimeOffset("CreatedAt") ?? default,
            UpdatedAt = e.GetDateTimeOffset("UpdatedAt") ?? default,
        };

        try
        {
            return webhook with
            {
                Url = await protector.UnprotectAsync(e.GetString("Url") ?? "", UrlContext(e.PartitionKey, e.RowKey), cancellationToken).ConfigureAwait(false),
                Secret = await protector.UnprotectAsync(e.GetString("Secret") ?? "", SecretContext(e.PartitionKey, e.RowKey), cancellationToken).ConfigureAwait(false),
            };
        }
        catch (SecretUnreadableException ex)
        {
            LogUnreadable(logger, e.RowKey, e.PartitionKey, ex.Message);
            return webhook with { Unreadable = true };
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Webhook {WebhookId} of workspace {WorkspaceId} cannot be used: {Reason} Nothing is posted to it until its key is restored or it is replaced.")]
    private static partial void LogUnreadable(ILogger logger, string webhookId, string workspaceId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stored webhook URLs and secrets: {Rewritten} rewritten under key {KeyId}")]
    private static partial void LogSwept(ILogger logger, int rewritten, string keyId);
}
