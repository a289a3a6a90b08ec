using System.Globalization;
using AgentSpend.Core.Alerts;
using AgentSpend.Core.Ingest;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Workspaces;
using Microsoft.Extensions.Logging;

namespace AgentSpend.Core.Poison;

/// <summary>
/// Tells a workspace that a queue message of theirs was moved to a poison queue: an <see cref="Alert.IngestPoisoned"/>
/// alert, raised once per (workspace, queue, UTC hour) and delivered like every alert (AlertStore's outbox, webhooks).
/// A <c>usage-ingest</c> message alerts each workspace whose events it carries, with how many; an <c>alerts</c> message
/// alerts the workspace it names. A message that cannot be read names no workspace: it is logged, and health and
/// the admin API still count it.
/// </summary>
public sealed partial class PoisonedMessageAlerts(AlertStore alerts, IWorkspaceDirectory workspaces, TimeProvider clock, ILogger<PoisonedMessageAlerts> logger)
{
    /// <summary>
    /// Raises the alert for each workspace <paramref name="messageText"/>, just moved from <paramref name="queueName"/> to
    /// its poison queue, belongs to. Never throws: the message is poisoned whatever becomes of its alert, so a failure
    /// (storage, or a shutdown's cancellation) is logged and the caller goes on.
    /// </summary>
    public async Task RaiseForAsync(string queueName, string messageText, CancellationToken cancellationToken)
    {
        try
        {
            var owners = OwnersOf(queueName, messageText);
            if (owners.Count == 0)
            {
                LogNoWorkspace(logger, queueName, StorageNames.PoisonQueueOf(queueName));
                return;
            }

            var now = clock.GetUtcNow();
            var hourStart = new DateTimeOffset(now.UtcDateTime.Year, now.UtcDateTime.Month, now.UtcDateTime.Day, now.UtcDateTime.Hour, 0, 0, TimeSpan.Zero);
            foreach (var (workspaceId, events) in owners)
            {
                if (await workspaces.FindAsync(workspaceId, cancellationToken).ConfigureAwait(false) is not { IsActive: true })
                {
                    continue; // a deleted workspace has no one left to tell, and its purge must not find new rows
                }

                await alerts.RaiseAsync(AlertFor(workspaceId, queueName, events, hourStart, now), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            LogRaiseFailed(logger, ex, queueName);
        }
    }

    /// <summary>
    /// The workspaces a poisoned message belongs to, in the order they first appear, each with how many of its events
    /// the message carries (null for a message that carries no events); empty when the message cannot be read.
    /// </summary>
    public static IReadOnlyList<(string WorkspaceId, int? Events)> OwnersOf(string queueName, string messageText)
    {
        try
        {
            return queueName switch
            {
                StorageNames.IngestQueue => [.. IngestMessageCodec.Unpack(messageText).Events
                    .GroupBy(e => e.WorkspaceId, StringComparer.Ordinal)
                    .Select(g => (g.Key, (int?)g.Count()))],
                StorageNames.AlertsQueue => [(AlertMessage.Parse(messageText).WorkspaceId, null)],
                _ => [],
            };
        }
        catch (InvalidDataException)
        {
            return [];
        }
    }

    /// <summary>The alert of one workspace: its key makes it once per queue and UTC hour.</summary>
    public static Alert AlertFor(string workspaceId, string queueName, int? events, DateTimeOffset hourStart, DateTimeOffset now)
    {
        var poison = StorageNames.PoisonQueueOf(queueName);
        var hour = hourStart.ToString("yyyy-MM-dd'T'HH", CultureInfo.InvariantCulture);
        var what = events is { } count
            ? string.Create(CultureInfo.InvariantCulture, $"A {queueName} message carrying {count} of this workspace's event{(count == 1 ? "" : "s")} failed every try and was moved to {poison}: those events are not counted until an instance admin replays it (POST /api/v1/admin/queues/{queueName}/replay).")
            : $"A message of this workspace on the {queueName} queue failed every try and was moved to {poison}; an instance admin can replay it (POST /api/v1/admin/queues/{queueName}/replay).";
        var rest = string.Create(CultureInfo.InvariantCulture, $"Other messages poisoned in the hour from {hourStart:yyyy-MM-dd HH:mm} UTC raise no further alert; GET /api/v1/admin/queues counts them.");
        return new Alert
        {
            Id = AlertStore.NewId(now),
            WorkspaceId = workspaceId,
            Kind = Alert.IngestPoisoned,
            Key = $"poisoned|{queueName}|{hour}",
            Message = what + " " + rest,
            RaisedAt = now,
            Poisoned = new PoisonedAlertDetails(queueName, poison, events, hourStart.ToString("O", CultureInfo.InvariantCulture)),
        };
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A message moved from {Queue} to {PoisonQueue} cannot be read and names no workspace: no workspace is alerted")]
    private static partial void LogNoWorkspace(ILogger logger, string queue, string poisonQueue);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not raise the ingest_poisoned alert for a message moved from {Queue} to its poison queue; the message stays poisoned")]
    private static partial void LogRaiseFailed(ILogger logger, Exception exception, string queue);
}
