using AgentSpend.Core.Serialization;
using System.Globalization;
using System.Text;
using System.Text.Json;
using AgentSpend.Core.Storage;
using Azure.Data.Tables;

namespace AgentSpend.Core.Audit;

/// <summary>One administrative action: who (key id), when, from where, what, and the values before and after.</summary>
public sealed record AuditEntry(
    string Id,
    string WorkspaceId,
    DateTimeOffset At,
    string Action,
    string Target,
    string? ActorKeyId,
    string? SourceIp,
    JsonElement? Before,
    JsonElement? After);

/// <summary>What a caller asks of the log: all optional.</summary>
public sealed record AuditQuery(string? Action = null, string? ActorKeyId = null, DateTimeOffset? From = null, DateTimeOffset? To = null, int Limit = 100, string? Cursor = null);

public sealed record AuditPage(IReadOnlyList<AuditEntry> Entries, string? NextCursor);

public static class AuditActions
{
    public const string KeyCreate = "key.create";
    public const string KeyRevoke = "key.revoke";
    public const string KeyRotate = "key.rotate";
    public const string WorkspaceCreate = "workspace.create";
    public const string WorkspaceUpdate = "workspace.update";
    public const string WorkspaceDelete = "workspace.delete";
    public const string PricingReprice = "pricing.reprice";
    public const string PricingOverrideSet = "pricing.override.set";
    public const string PricingOverrideDelete = "pricing.override.delete";
    public const string SettingsEfficiencySet = "settings.efficiency.set";
    public const string BudgetCreate = "budget.create";
    public const string BudgetUpdate = "budget.update";
    public const string BudgetDelete = "budget.delete";
    public const string BudgetReset = "budget.reset";
    public const string ToolSet = "tool.set";
    public const string ToolDelete = "tool.delete";
    public const string AgentKill = "agent.kill";
    public const string AgentKillAll = "agent.kill_all";
    public const string AgentResume = "agent.resume";
    public const string AgentResumeAll = "agent.resume_all";
    public const string WebhookCreate = "alert.webhook.create";
    public const string WebhookUpdate = "alert.webhook.update";
    public const string WebhookDelete = "alert.webhook.delete";
    public const string QueueReplay = "queue.replay";
}

/// <summary>
/// The append-only audit log: the <c>audit</c> table, a partition per workspace, newest first (row keys
/// count down). Entries are inserted, never upserted, and this type offers no way to change or remove
/// one; the only deletion is the purge of a deleted workspace.
/// </summary>
public sealed class AuditLog(IStorageProvider storage, TimeProvider clock)
{
    public const int MaxLimit = 1000;
    private const string CursorTag = "a1:";

    private ITableStore Table => storage.GetTable(StorageNames.AuditTable);

    /// <summary>
    /// Records an action that has happened. It takes no cancellation token on purpose: the action has committed, so
    /// its entry is written even when the caller hangs up meanwhile. A before or after value longer than a table
    /// property holds is cut and marked so, never dropped.
    /// </summary>
    public async Task<AuditEntry> AppendAsync(string workspaceId, string action, string target, string? actorKeyId, string? sourceIp, object? before, object? after)
    {
        var at = clock.GetUtcNow();
        var id = $"{DateTimeOffset.MaxValue.UtcTicks - at.UtcTicks:D19}-{Guid.NewGuid():N}";
        var entry = new AuditEntry(id, workspaceId, at, action, Cut(target, MaxTargetChars), actorKeyId, sourceIp, Bounded(ToJson(before)), Bounded(ToJson(after)));
        await Table.InsertAsync(new TableEntity(workspaceId, id)
        {
            ["At"] = at,
            ["Action"] = action,
            ["Target"] = entry.Target,
            ["ActorKeyId"] = actorKeyId,
            ["SourceIp"] = sourceIp,
            ["Before"] = entry.Before?.GetRawText(),
            ["After"] = entry.After?.GetRawText(),
        }, CancellationToken.None).ConfigureAwait(false);
        return entry;
    }

    /// <summary>The longest before or after value kept whole, in characters: a string property holds 32,768 UTF-16 characters.</summary>
    public const int MaxValueChars = 30_000;

    private const int MaxTargetChars = 1_000;

    /// <summary>A value too long to store becomes <c>{"truncated":true,"original_chars":N,"head":"…"}</c>: its start, as text.</summary>
    internal static JsonElement? Bounded(JsonElement? value)
    {
        if (value is not { } json || json.GetRawText() is not { Length: > MaxValueChars } text)
        {
            return value;
        }

        // Escaped as a string, the head grows (a quote can take six characters), so it shrinks until the whole fits.
        for (var length = MaxValueChars / 2; ; length /= 2)
        {
            var head = char.IsHighSurrogate(text[length - 1]) ? text[..(length - 1)] : text[..length];
            var cut = JsonSerializer.SerializeToElement(new Dictionary<string, object> { ["truncated"] = true, ["original_chars"] = text.Length, ["head"] = head }, AuditJson.Options);
            if (cut.GetRawText().Length <= MaxValueChars)
            {
                return cut;
            }
        }
    }

    private static string Cut(string text, int max) => text.Length <= max ? text : text[..max];

    public async Task<AuditPage> QueryAsync(string workspaceId, AuditQuery query, CancellationToken cancellationToken)
    {
        var filter = new StringBuilder(TableClient.CreateQueryFilter($"PartitionKey eq {workspaceId}"));
        if (query.Cursor is not null)
        {
            filter.Append(TableClient.CreateQueryFilter($" and RowKey gt {DecodeCursor(query.Cursor)}"));
        }

        // Row keys count down with time: later instants have smaller keys.
        if (query.To is { } to)
        {
            filter.Append(TableClient.CreateQueryFilter($" and RowKey ge {$"{DateTimeOffset.MaxValue.UtcTicks - to.UtcTicks:D19}"}"));
        }

        if (query.From is { } from)
        {
            filter.Append(TableClient.CreateQueryFilter($" and RowKey lt {$"{DateTimeOffset.MaxValue.UtcTicks - from.UtcTicks + 1:D19}"}"));
        }

        if (query.Action is not null)
        {
            filter.Append(TableClient.CreateQueryFilter($" and Action eq {query.Action}"));
        }

        if (query.ActorKeyId is not null)
        {
            filter.Append(TableClient.CreateQueryFilter($" and ActorKeyId eq {query.ActorKeyId}"));
        }

        var entries = new List<AuditEntry>(Math.Min(query.Limit, MaxLimit));
        string? next = null;
        await foreach (var row in Table.QueryAsync(filter.ToString(), pageSize: Math.Min(query.Limit + 1, MaxLimit), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (entries.Count == query.Limit)
            {
                next = EncodeCursor(entries[^1].Id);
                break;
            }

            entries.Add(FromEntity(row));
        }

        return new AuditPage(entries, next);
    }

    /// <summary>Deletes a purged workspace's entries. Returns how many.</summary>
    public async Task<int> DeleteWorkspaceAsync(string workspaceId, CancellationToken cancellationToken) =>
        await Table.DeletePartitionRowsAsync(TableClient.CreateQueryFilter($"PartitionKey eq {workspaceId}"), cancellationToken).ConfigureAwait(false);

    /// <summary>True when <paramref name="cursor"/> is one this log handed out.</summary>
    public static bool IsValidCursor(string cursor)
    {
        try
        {
            DecodeCursor(cursor);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static string EncodeCursor(string rowKey) =>
        CursorTag + Convert.ToBase64String(Encoding.ASCII.GetBytes(rowKey)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string DecodeCursor(string cursor)
    {
        if (!cursor.StartsWith(CursorTag, StringComparison.Ordinal) || cursor.Length > 100)
        {
            throw new FormatException("not an audit cursor");
        }

        var body = cursor[CursorTag.Length..].Replace('-', '+').Replace('_', '/');
        body = body.PadRight(body.Length + (4 - body.Length % 4) % 4, '=');
        var rowKey = Encoding.ASCII.GetString(Convert.FromBase64String(body));
        return rowKey.Length == 52 && rowKey[19] == '-' && rowKey[..19].All(char.IsAsciiDigit) && rowKey[20..].All(char.IsAsciiHexDigitLower)
            ? rowKey
            : throw new FormatException("not an audit cursor");
    }

    private static JsonElement? ToJson(object? value) =>
        value is null ? null : JsonSerializer.SerializeToElement(value, AuditJson.Options);

    private static AuditEntry FromEntity(TableEntity e) => new(
        e.RowKey,
        e.PartitionKey,
        e.GetDateTimeOffset("At") ?? default,
        e.GetString("Action") ?? "",
        e.GetString("Target") ?? "",
        e.GetString("ActorKeyId"),
        e.GetString("SourceIp"),
        Parse(e.GetString("Before")),
        Parse(e.GetString("After")));

    private static JsonElement? Parse(string? json) => json is null ? null : JsonDocument.Parse(json).RootElement.Clone();
}

/// <summary>Audit values are written as the API shows them: snake_case.</summary>
public static class AuditJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    /// <summary>One CSV line per entry (RFC 4180 quoting); before/after as JSON text.</summary>
    public static string ToCsv(IEnumerable<AuditEntry> entries)
    {
        var csv = new StringBuilder("id,at,action,target,actor_key_id,source_ip,before,after\r\n");
        foreach (var e in entries)
        {
            Csv.AppendLine(csv,
            [
                e.Id, e.At.ToString("O", CultureInfo.InvariantCulture), e.Action, e.Target, e.ActorKeyId ?? "", e.SourceIp ?? "",
                e.Before?.GetRawText() ?? "", e.After?.GetRawText() ?? "",
            ]);
        }

        return csv.ToString();
    }
}
