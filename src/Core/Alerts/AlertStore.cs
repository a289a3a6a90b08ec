using System.Globalization;
using System.Text.Json;
using AgentSpend.Core.Aggregation;
using AgentSpend.Core.Storage;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;

namespace AgentSpend.Core.Alerts;

/// <summary>
/// The alert history, in the <c>alerts</c> table (one partition per workspace), and the outbox towards delivery.
/// <para>
/// Raising writes two rows in one entity-group transaction: a marker named by the alert's key (<c>k|…</c>) and the
/// alert itself (<c>a|{newest first}|…</c>, delivery <c>pending</c>). A second raise of the same key fails on the
/// marker and writes nothing, so each key is raised once however many evaluators race. Then a message goes onto
/// the <c>alerts</c> queue; if that send fails, the alert stays pending and the BudgetPeriods timer sends it again.
/// </para>
/// </summary>
public sealed partial class AlertStore(IStorageProvider storage, TimeProvider clock, ILogger<AlertStore> logger)
{
    public const string AlertRowPrefix = "a|";
    public const string MarkerRowPrefix = "k|";

    public const string AlertProperty = "Alert";
    public const string KindProperty = "Kind";
    public const string DeliveryProperty = "Delivery";
    public const string AttemptsProperty = "Attempts";
    public const string LastErrorProperty = "LastError";
    public const string DeliveredAtProperty = "DeliveredAt";
    public const string QueuedAtProperty = "QueuedAt";

    /// <summary>Per webhook id, how posting the alert to it went (JSON).</summary>
    public const string WebhooksProperty = "Webhooks";

    private const string PartitionKeyProperty = "PartitionKey";
    private const string RowKeyProperty = "RowKey";

    /// <summary>Just past the last alert row key: '}' follows '|'.</summary>
    private const string AlertRowsEnd = "a}";

    private ITableStore Table => storage.GetTable(StorageNames.AlertsTable);

    private IQueueStore Queue => storage.GetQueue(StorageNames.AlertsQueue);

    /// <summary>A new alert's id: its time, newest first, then a random tail.</summary>
    public static string NewId(DateTimeOffset at) =>
        (DateTimeOffset.MaxValue.UtcTicks - at.UtcTicks).ToString("D19", CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>
    /// How many alerts of one kind a workspace sends to its webhooks in an hour (UTC). Past it an alert is still raised
    /// and kept in the history, as <c>throttled</c>, but not posted: a stream of new model names, say, cannot flood
    /// the webhooks, and one kind's flood leaves the others' room alone.
    /// </summary>
    public const int MaxPostedPerKindHour = 20;

    /// <summary>Per workspace, kind and hour: how many alerts were let through to the webhooks.</summary>
    private const string ThrottleRowPrefix = "t|";

    /// <summary>Raises the alert unless its key was raised before; true when this call raised it.</summary>
    public async Task<bool> RaiseAsync(Alert alert, CancellationToken cancellationToken)
    {
        var marker = new TableEntity(alert.WorkspaceId, MarkerRowPrefix + UsageTableKeys.Hash(alert.Key))
        {
            ["Key"] = alert.Key, ["AlertId"] = alert.Id,
        };
        var throttleKey = $"{ThrottleRowPrefix}{alert.Kind}|{clock.GetUtcNow():yyyyMMddHH}";
        bool throttled;
        while (true)
        {
            var counter = await Table.GetIfExistsAsync(alert.WorkspaceId, throttleKey, cancellationToken: cancellationToken).ConfigureAwait(false);
            var posted = counter?.GetInt32("Count") ?? 0;
            throttled = posted >= MaxPostedPerKindHour;
            var row = new TableEntity(alert.WorkspaceId, AlertRowPrefix + alert.Id)
            {
                [AlertProperty] = JsonSerializer.Serialize(alert, CoreJsonContext.Default.Alert),
                [KindProperty] = alert.Kind,
                [DeliveryProperty] = (throttled ? AlertDelivery.Throttled : AlertDelivery.Pending).ToWire(),
                [AttemptsProperty] = 0,
                [QueuedAtProperty] = clock.GetUtcNow(),
            };
            List<TableTransactionAction> actions = [new(TableTransactionActionType.Add, marker), new(TableTransactionActionType.Add, row)];
            if (!throttled)
            {
                var next = new TableEntity(alert.WorkspaceId, throttleKey) { ["Count"] = posted + 1 };
                actions.Add(counter is null ? new(TableTransactionActionType.Add, next) : new(TableTransactionActionType.UpdateReplace, next, counter.ETag));
            }

            try
            {
                await Table.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
                break;
            }
            catch (TableTransactionFailedException ex) when (ex.Status == 409 && ex.FailedTransactionActionIndex == 0)
            {
                return false;
            }
            catch (TableTransactionFailedException ex) when (ex.Status is 409 or 412 && ex.FailedTransactionActionIndex == 2)
            {
                // Another alert of this kind took a place meanwhile: count again.
            }
        }

        if (throttled)
        {
            LogThrottled(logger, alert.Kind, alert.Key, alert.WorkspaceId, MaxPostedPerKindHour);
            return true;
        }

        LogRaised(logger, alert.Kind, alert.Key, alert.WorkspaceId);
        await EnqueueAsync(alert.WorkspaceId, alert.Id, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Whether an alert of this key was raised in the workspace.</summary>
    public async Task<bool> IsRaisedAsync(string workspaceId, string key, CancellationToken cancellationToken) =>
        await Table.GetIfExistsAsync(workspaceId, MarkerRowPrefix + UsageTableKeys.Hash(key), ["RowKey"], cancellationToken).ConfigureAwait(false) is not null;

    /// <summary>Puts an alert's delivery onto the alerts queue; a failed send is logged and left to the timer's sweep.</summary>
    public Task EnqueueAsync(string workspaceId, string alertId, CancellationToken cancellationToken, TimeSpan? delay = null) =>
        EnqueueAsync(new AlertMessage(workspaceId, alertId), delay, cancellationToken);

    /// <summary>Puts a delivery attempt onto the alerts queue, visible after <paramref name="delay"/>; a failed send is logged and left to the sweep.</summary>
    public async Task EnqueueAsync(AlertMessage message, TimeSpan? delay, CancellationToken cancellationToken)
    {
        try
        {
            await Queue.SendAsync(message.ToJson(), delay, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogEnqueueFailed(logger, ex, message.AlertId, message.WorkspaceId);
        }
    }

    public async Task<StoredAlert?> GetAsync(string workspaceId, string alertId, CancellationToken cancellationToken) =>
        IsWellFormedId(alertId) && await Table.GetIfExistsAsync(workspaceId, AlertRowPrefix + alertId, cancellationToken: cancellationToken).ConfigureAwait(false) is { } row
            ? FromEntity(row)
            : null;

    /// <summary>
    /// The workspace's alerts, newest first (ids count down with time), optionally of one kind and one delivery status;
    /// <see cref="BadCursorException"/> for a cursor this store did not give out.
    /// </summary>
    public async Task<AlertPage> ListAsync(string workspaceId, string? kind, AlertDelivery? delivery, int limit, string? cursor, CancellationToken cancellationToken)
    {
        var after = cursor is null ? null : PageCursor.Decode(cursor, 1)[0];
        if (after is not null && !IsWellFormedId(after))
        {
            throw PageCursor.Bad();
        }

        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {workspaceId} and RowKey gt {AlertRowPrefix + after} and RowKey lt {AlertRowsEnd}");
        if (kind is not null)
        {
            filter += $" and {KindProperty} eq " + TableClient.CreateQueryFilter($"{kind}");
        }

        if (delivery is { } status)
        {
            filter += $" and {DeliveryProperty} eq " + TableClient.CreateQueryFilter($"{status.ToWire()}");
        }

        var items = new List<StoredAlert>(limit);
        await foreach (var row in Table.QueryAsync(filter, pageSize: Math.Min(limit + 1, 1000), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (items.Count == limit)
            {
                return new AlertPage(items, PageCursor.Encode(items[^1].Alert.Id));
            }

            items.Add(FromEntity(row));
        }

        return new AlertPage(items, null);
    }

    /// <summary>
    /// Writes where a delivery stands, unless the row changed since <paramref name="alert"/> was read; false then
    /// (another deliverer got there first, and its record stands).
    /// </summary>
    public async Task<bool> SaveDeliveryAsync(string workspaceId, StoredAlert alert, CancellationToken cancellationToken)
    {
        var row = new TableEntity(workspaceId, AlertRowPrefix + alert.Alert.Id)
        {
            [DeliveryProperty] = alert.Delivery.ToWire(),
            [AttemptsProperty] = alert.Attempts,
            [LastErrorProperty] = alert.LastError,
            [DeliveredAtProperty] = alert.DeliveredAt,
            [QueuedAtProperty] = alert.QueuedAt,
            [WebhooksProperty] = JsonSerializer.Serialize(alert.Webhooks, CoreJsonContext.Default.DictionaryStringWebhookDeliveryResult),
        };
        try
        {
            await Table.UpdateAsync(row, alert.ETag, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status == 412)
        {
            return false;
        }
    }

    /// <summary>
    /// The outbox sweep: queues again, in every workspace, the alerts still pending whose message was due more than
    /// <paramref name="olderThan"/> ago (a send that failed after the raise, a message lost with its worker). Each is
    /// claimed by moving its QueuedAt on with its ETag, so of two sweepers running at once only one sends it.
    /// Returns how many it queued.
    /// </summary>
    public async Task<int> RequeueStuckAsync(TimeSpan olderThan, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var filter = TableClient.CreateQueryFilter($"RowKey gt {AlertRowPrefix} and RowKey lt {AlertRowsEnd}")
            + $" and {DeliveryProperty} eq " + TableClient.CreateQueryFilter($"{AlertDelivery.Pending.ToWire()}")
            + $" and {QueuedAtProperty} lt " + TableClient.CreateQueryFilter($"{(now - olderThan).UtcDateTime}");
        var requeued = 0;
        await foreach (var row in Table.QueryAsync(filter, [RowKeyProperty, PartitionKeyProperty, AttemptsProperty], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            try
            {
                await Table.UpdateAsync(new TableEntity(row.PartitionKey, row.RowKey) { [QueuedAtProperty] = now }, row.ETag, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException ex) when (ex.Status is 412 or 404)
            {
                continue; // another sweeper or a deliverer moved it on
            }

            var alertId = row.RowKey[AlertRowPrefix.Length..];
            LogRequeued(logger, alertId, row.PartitionKey);
            await EnqueueAsync(new AlertMessage(row.PartitionKey, alertId, row.GetInt32(AttemptsProperty) ?? 0), null, cancellationToken).ConfigureAwait(false);
            requeued++;
        }

        return requeued;
    }

    /// <summary>An id made by <see cref="NewId"/>: 19 digits, a dash, 8 lower-case hex digits.</summary>
    public static bool IsWellFormedId(string id) =>
        id is { Length: 28 } && id[19] == '-' && !id.AsSpan(0, 19).ContainsAnyExceptInRange('0', '9') && id[20..].All(char.IsAsciiHexDigitLower);

    private static StoredAlert FromEntity(TableEntity e) => new(
        JsonSerializer.Deserialize(e.GetString(AlertProperty) ?? "null", CoreJsonContext.Default.Alert) ?? throw new InvalidDataException($"Alert row {e.RowKey} holds no alert."),
        AlertDeliveryNames.TryParse(e.GetString(DeliveryProperty), out var delivery) ? delivery : AlertDelivery.Pending,
        e.GetInt32(AttemptsProperty) ?? 0,
        e.GetString(LastErrorProperty),
        e.GetDateTimeOffset(DeliveredAtProperty),
        e.GetDateTimeOffset(QueuedAtProperty),
        e.GetString(WebhooksProperty) is { } webhooks
            ? JsonSerializer.Deserialize(webhooks, CoreJsonContext.Default.DictionaryStringWebhookDeliveryResult) ?? []
            : [],
        e.ETag);

    [LoggerMessage(Level = LogLevel.Information, Message = "Alert {Kind} raised for {Key} in workspace {WorkspaceId}")]
    private static partial void LogRaised(ILogger logger, string kind, string key, string workspaceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert {Kind} raised for {Key} in workspace {WorkspaceId} is kept but not posted: {Max} of its kind were posted this hour")]
    private static partial void LogThrottled(ILogger logger, string kind, string key, string workspaceId, int max);

    [LoggerMessage(Level = LogLevel.Information, Message = "Alert {AlertId} of workspace {WorkspaceId} was still pending past its due time; queued again")]
    private static partial void LogRequeued(ILogger logger, string alertId, string workspaceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert {AlertId} of workspace {WorkspaceId} could not be queued; the BudgetPeriods sweep will queue it")]
    private static partial void LogEnqueueFailed(ILogger logger, Exception exception, string alertId, string workspaceId);
}

/// <summary>
/// What the alerts queue carries: which alert to deliver, and how many delivery attempts came before this one;
/// the alert itself stays in the table.
/// </summary>
public sealed record AlertMessage(string WorkspaceId, string AlertId, int Attempt = 0)
{
    public string ToJson() => JsonSerializer.Serialize(this, CoreJsonContext.Default.AlertMessage);

    /// <summary>Reads a message; <see cref="InvalidDataException"/> when the text is not one.</summary>
    public static AlertMessage Parse(string text)
    {
        try
        {
            return JsonSerializer.Deserialize(text, CoreJsonContext.Default.AlertMessage) is { WorkspaceId.Length: > 0, AlertId.Length: > 0, Attempt: >= 0 } message
                ? message
                : throw new InvalidDataException("The message names no alert.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException("The message is not an alert message.", ex);
        }
    }
}

/// <summary>An alert with where its delivery stands, as stored; <see cref="ETag"/> guards the next write.</summary>
public sealed record StoredAlert(
    Alert Alert, AlertDelivery Delivery, int Attempts, string? LastError, DateTimeOffset? DeliveredAt, DateTimeOffset? QueuedAt,
    IReadOnlyDictionary<string, WebhookDeliveryResult> Webhooks, ETag ETag);

/// <summary>How posting one alert to one webhook went: <see cref="AlertDelivery.Delivered"/> or <see cref="AlertDelivery.Failed"/>, over how many posts.</summary>
public sealed record WebhookDeliveryResult(AlertDelivery Status, int Attempts, int? StatusCode, string? Error, DateTimeOffset At);

public sealed record AlertPage(IReadOnlyList<StoredAlert> Items, string? NextCursor);
