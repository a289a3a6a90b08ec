using System.Globalization;
using System.Text.Json;
using AgentSpend.Core.Aggregation;
using AgentSpend.Core.Storage;
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
    public const string DeliveryProperty = "Delivery";
    public const string AttemptsProperty = "Attempts";
    public const string LastErrorProperty = "LastError";
    public const string DeliveredAtProperty = "DeliveredAt";
    public const string QueuedAtProperty = "QueuedAt";

    private ITableStore Table => storage.GetTable(StorageNames.AlertsTable);

    private IQueueStore Queue => storage.GetQueue(StorageNames.AlertsQueue);

    /// <summary>A new alert's id: its time, newest first, then a random tail.</summary>
    public static string NewId(DateTimeOffset at) =>
        (DateTimeOffset.MaxValue.UtcTicks - at.UtcTicks).ToString("D19", CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>Raises the alert unless its key was raised before; true when this call raised it.</summary>
    public async Task<bool> RaiseAsync(Alert alert, CancellationToken cancellationToken)
    {
        var marker = new TableEntity(alert.WorkspaceId, MarkerRowPrefix + UsageTableKeys.Hash(alert.Key))
        {
            ["Key"] = alert.Key, ["AlertId"] = alert.Id,
        };
        var row = new TableEntity(alert.WorkspaceId, AlertRowPrefix + alert.Id)
        {
            [AlertProperty] = JsonSerializer.Serialize(alert, CoreJsonContext.Default.Alert),
            ["Kind"] = alert.Kind,
            [DeliveryProperty] = AlertDelivery.Pending,
            [AttemptsProperty] = 0,
            [QueuedAtProperty] = clock.GetUtcNow(),
        };
        try
        {
            await Table.SubmitTransactionAsync(
                [new TableTransactionAction(TableTransactionActionType.Add, marker), new TableTransactionAction(TableTransactionActionType.Add, row)],
                cancellationToken).ConfigureAwait(false);
        }
        catch (TableTransactionFailedException ex) when (ex.Status == 409 && ex.FailedTransactionActionIndex == 0)
        {
            return false;
        }

        LogRaised(logger, alert.Kind, alert.Key, alert.WorkspaceId);
        await EnqueueAsync(alert.WorkspaceId, alert.Id, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Whether an alert of this key was raised in the workspace.</summary>
    public async Task<bool> IsRaisedAsync(string workspaceId, string key, CancellationToken cancellationToken) =>
        await Table.GetIfExistsAsync(workspaceId, MarkerRowPrefix + UsageTableKeys.Hash(key), ["RowKey"], cancellationToken).ConfigureAwait(false) is not null;

    /// <summary>Puts an alert's delivery onto the alerts queue; a failed send is logged and left to the timer's sweep.</summary>
    public async Task EnqueueAsync(string workspaceId, string alertId, CancellationToken cancellationToken, TimeSpan? delay = null)
    {
        try
        {
            await Queue.SendAsync(JsonSerializer.Serialize(new AlertMessage(workspaceId, alertId), CoreJsonContext.Default.AlertMessage), delay, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogEnqueueFailed(logger, ex, alertId, workspaceId);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Alert {Kind} raised for {Key} in workspace {WorkspaceId}")]
    private static partial void LogRaised(ILogger logger, string kind, string key, string workspaceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert {AlertId} of workspace {WorkspaceId} could not be queued; the BudgetPeriods sweep will queue it")]
    private static partial void LogEnqueueFailed(ILogger logger, Exception exception, string alertId, string workspaceId);
}

/// <summary>What the alerts queue carries: which alert to deliver; the alert itself stays in the table.</summary>
public sealed record AlertMessage(string WorkspaceId, string AlertId, int Attempt = 0);
