using System.Diagnostics;
using AgentSpend.Core.Configuration;
using AgentSpend.Core.Domain;
using AgentSpend.Core.Ingest;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Workspaces;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentSpend.Core.Aggregation;

/// <summary>What one aggregation pass did.</summary>
/// <param name="Failed">Per input message: the error that stopped part of it, or null when all of it is counted.</param>
/// <param name="Discarded">Events of workspaces that are deleted or being deleted: dropped, never written.</param>
/// <param name="Refused">Events whose rows the service would not store: counted nowhere, so the caller keeps them where an operator sees them.</param>
public sealed record AggregationOutcome(int Counted, int Duplicates, int Transactions, IReadOnlyList<Exception?> Failed, int Discarded = 0)
{
    public IReadOnlyList<UsageEvent> Refused { get; init; } = [];
}

/// <summary>
/// Counts queued events into daily buckets exactly once.
/// <para>
/// Events of all given messages are grouped by partition (workspace-day). Within a partition, each
/// entity-group transaction inserts new event pages (<see cref="EventPages"/>, hundreds of events each) together
/// with the bucket rows they change, the bucket rows guarded by their ETags and row 0 naming the last page. So an
/// event is counted if and only if a stored page holds it. The writer knows the day's counted events
/// (<see cref="CountedEventSet"/>) as of row 0's ETag and drops resends before writing; a concurrent writer of
/// the same day makes the transaction fail (412 on a row, 409 on a page number) and this one catches up and retries.
/// </para>
/// </summary>
public sealed partial class UsageAggregator(
    IStorageProvider storage, IWorkspaceDirectory workspaces, DayVersions versions, Runs.RunIndex runs,
    Governance.BudgetEnforcer enforcer, Governance.BudgetReservations reservations, IOptions<AgentSpendOptions> options, Observability.AgentSpendMetrics metrics, ILogger<UsageAggregator> logger)
{
    private const int MaxStalledAttempts = 100;

    /// <summary>
    /// Events one transaction may carry. Operations (100) and bytes (4 MiB) are what limit it in practice; this only
    /// bounds the work of packing one and of redoing it after a conflict.
    /// </summary>
    private const int MaxEventsPerTransaction = 4_000;

    private readonly BucketCache _buckets = new(capacity: 1024);

    public async Task<AggregationOutcome> AggregateAsync(IReadOnlyList<IngestMessage> messages, CancellationToken cancellationToken)
    {
        var table = storage.GetTable(StorageNames.UsageTable);
        var partitions = new Dictionary<string, (List<UsageEvent> Events, HashSet<int> Messages)>(StringComparer.Ordinal);
        var active = new Dictionary<string, Workspace?>(StringComparer.Ordinal);
        foreach (var id in messages.SelectMany(m => m.Events).Select(e => e.WorkspaceId).Distinct(StringComparer.Ordinal))
        {
            // Events queued before their workspace was deleted must not re-create rows its purge removed.
            active[id] = await workspaces.FindAsync(id, cancellationToken).ConfigureAwait(false) is { IsActive: true } workspace ? workspace : null;
        }

        var discarded = 0;
        var byWorkspace = new Dictionary<string, (List<UsageEvent> Events, List<int> Messages)>(StringComparer.Ordinal);
        for (var m = 0; m < messages.Count; m++)
        {
            foreach (var e in messages[m].Events)
            {
                if (active[e.WorkspaceId] is null)
                {
                    discarded++;
                    continue;
                }

                if (!byWorkspace.TryGetValue(e.WorkspaceId, out var events))
                {
                    byWorkspace[e.WorkspaceId] = events = ([], []);
                }

                events.Events.Add(e);
                events.Messages.Add(m);
            }
        }

        var failed = new Exception?[messages.Count];
        foreach (var (workspaceId, group) in byWorkspace)
        {
            // Usage that arrives while a stop is in force is counted like any other, and flagged.
            var flagged = await enforcer.FlagHeldAsync(workspaceId, group.Events, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < flagged.Count; i++)
            {
                var e = flagged[i];
                var key = UsageTableKeys.PartitionOf(e);
                if (!partitions.TryGetValue(key, out var partition))
                {
                    partitions[key] = partition = ([], []);
                }

                partition.Events.Add(e);
                partition.Messages.Add(group.Messages[i]);
            }
        }

        // Readers that keep days they have read must not keep these while they change (see DayVersions).
        var leases = await Task.WhenAll(partitions.Values.Select(p => p.Events[0]).Select(e => (e.WorkspaceId, e.Day)).Distinct()
            .GroupBy(d => d.WorkspaceId, StringComparer.Ordinal)
            .Select(w => versions.BeginAsync(w.Key, w.Select(d => d.Day), cancellationToken))).ConfigureAwait(false);

        int counted = 0, duplicates = 0, transactions = 0;
        var refused = new List<UsageEvent>();
        using var gate = new SemaphoreSlim(options.Value.AggregationConcurrency);
        await Task.WhenAll(partitions.Select(async p =>
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var result = await AggregatePartitionAsync(table, p.Key, p.Value.Events, cancellationToken).ConfigureAwait(false);

                Interlocked.Add(ref counted, result.Counted);
                Interlocked.Add(ref duplicates, result.Duplicates);
                Interlocked.Add(ref transactions, result.Transactions);
                lock (refused)
                {
                    refused.AddRange(result.Refused);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogPartitionFailed(logger, ex, p.Key, p.Value.Events.Count);
                foreach (var m in p.Value.Messages)
                {
                    failed[m] = ex;
                }
            }
            finally
            {
                gate.Release();
            }
        })).ConfigureAwait(false);

        await Task.WhenAll(leases.Select(lease => versions.EndAsync(lease, CancellationToken.None))).ConfigureAwait(false);

        // Counted (now or before): reservations made for these events are released, and budgets and alerts evaluated.
        // A failure here fails the workspace's messages, so their retry, finding the events counted, does this again.
        foreach (var (workspaceId, group) in byWorkspace)
        {
            var countedHere = partitions.Values.Where(p => p.Events[0].WorkspaceId == workspaceId && !p.Messages.Any(m => failed[m] is not null)).SelectMany(p => p.Events)
                .Except(refused).ToArray();
            try
            {
                // Counted now or before, every event widens its run's span; doing so twice is harmless.
                await runs.RecordAsync(countedHere, cancellationToken).ConfigureAwait(false);
                await reservations.ReleaseMatchingAsync(workspaceId, countedHere, cancellationToken).ConfigureAwait(false);
                await enforcer.EvaluateAsync(active[workspaceId]!, countedHere, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogEvaluationFailed(logger, ex, workspaceId);
                foreach (var m in group.Messages)
                {
                    failed[m] ??= ex;
                }
            }
        }
        if (discarded > 0)
        {
            LogDiscarded(logger, discarded);
        }

        return new AggregationOutcome(counted, duplicates, transactions, failed, discarded) { Refused = refused };
    }

    private async Task<PartitionOutcome> AggregatePartitionAsync(
        ITableStore table, string partitionKey, List<UsageEvent> events, CancellationToken cancellationToken)
    {
        // The same event can arrive twice in one pass (a client resend queued next to the original). Events of one
        // session, and within it of one run, go together: they change the same run-day rows, so a transaction holds
        // more events, and a run's events share pages.
        var pending = events
            .Select(PageEntry.Of)
            .DistinctBy(x => x.Hash)
            .OrderBy(x => x.Event.SessionId, StringComparer.Ordinal)
            .ThenBy(x => x.Event.RunId, StringComparer.Ordinal)
            .ThenBy(x => x.Hash)
            .ToList();
        var outcome = new PartitionOutcome { Duplicates = events.Count - pending.Count };
        metrics.DuplicatesDropped(outcome.Duplicates);

        var bucket = _buckets.Take(partitionKey) ?? await DailyBucket.LoadForWritingAsync(table, partitionKey, cancellationToken).ConfigureAwait(false);
        DropCounted();
        var limit = MaxEventsPerTransaction; // halved while isolating an event whose rows cannot be written
        var guess = TransactionPacker.MaxOperations - 1;
        var stalled = 0; // failures in a row that made no progress; dropping counted events and refusing one are progress
        while (pending.Count > 0)
        {
            var firstPage = bucket.NextPage;
            var plan = TransactionPacker.Next(
                pending, limit, guess,
                items =>
                {
                    var changes = bucket.Apply(items.Select(i => i.Event).ToArray());
                    changes.Rows[0].LastPage = firstPage + EventPages.Paginate(items).Count() - 1;
                    return changes;
                },
                items => [.. EventPages.Paginate(items).Select((page, i) =>
                    new TableTransactionAction(TableTransactionActionType.Add, EventPages.ToEntity(partitionKey, firstPage + i, page)))],
                partitionKey);
            if (plan is null)
            {
                Refuse(pending[0], "its page and the bucket rows it changes do not fit one transaction");
                continue;
            }

            try
            {
                var etags = await table.SubmitTransactionAsync(plan.Actions, cancellationToken).ConfigureAwait(false);
                bucket.Commit(plan.Changes, etags.Skip(plan.ItemActions).ToArray());
                bucket.Counted!.Add(plan.Items.Select(i => i.Hash), firstPage + plan.ItemActions - 1);
                pending.RemoveRange(0, plan.Items.Count);
                outcome.Counted += plan.Items.Count;
                metrics.Counted(plan.Items.Count);
                outcome.Transactions++;
                guess = plan.Items.Count;
                limit = MaxEventsPerTransaction;
                stalled = 0;
            }
            catch (TableTransactionFailedException ex) when (ex.FailedTransactionActionIndex is { } index && !StorageFaults.IsUnavailable(ex))
            {
                if (ex.Status is 409 or 412 or 404 && (index >= plan.ItemActions || ex.Status == 409))
                {
                    // Another writer counted events of this day since we read it (a page number taken, a row's ETag moved):
                    // read what changed, drop the events it counted, and carry on with the rest. A bucket, slice or
                    // page conflict re-reads the bucket rows; a run day or ledger means the whole day is.
                    LogBucketConflict(logger, partitionKey, stalled + 1);
                    bucket = index - plan.ItemActions < plan.Changes.Rows.Count + plan.Changes.SliceRows.Count
                        ? await bucket.RereadBucketRowsAsync(table, cancellationToken).ConfigureAwait(false)
                        : await DailyBucket.LoadForWritingAsync(table, partitionKey, cancellationToken, bucket.Counted).ConfigureAwait(false);
                    if (DropCounted() == 0)
                    {
                        await StallAsync(ex, partitionKey, ++stalled, cancellationToken).ConfigureAwait(false);
                    }
                }
                else if (plan.Items.Count > 1)
                {
                    // The service refused a page or a row these events change: halve the transaction until the event that does it stands alone.
                    limit = Math.Max(1, plan.Items.Count / 2);
                    guess = limit;
                }
                else
                {
                    Refuse(plan.Items[0], $"{ex.Status} {ex.ErrorCode}");
                }
            }
        }

        _buckets.Return(bucket);
        return outcome;

        // Events counted already (a resend, a redelivery, a crash after the commit, another writer): dropped, as progress.
        int DropCounted()
        {
            var dropped = pending.RemoveAll(p => bucket.Counted!.Contains(p.Hash));
            if (dropped > 0)
            {
                outcome.Duplicates += dropped;
                metrics.DuplicatesDropped(dropped);
                stalled = 0;
                LogDuplicatesDropped(logger, dropped, partitionKey, pending.Count);
            }

            return dropped;
        }

        void Refuse(PageEntry refused, string reason)
        {
            pending.Remove(refused);
            outcome.Refused.Add(refused.Event);
            limit = MaxEventsPerTransaction;
            stalled = 0;
            LogEventRefused(logger, refused.Event.Id, partitionKey, reason);
        }
    }

    /// <summary>Waits a little longer each time; past <see cref="MaxStalledAttempts"/> failures without progress, gives up (the messages are retried later).</summary>
    private static async Task StallAsync(Exception ex, string partitionKey, int stalled, CancellationToken cancellationToken)
    {
        if (stalled >= MaxStalledAttempts)
        {
            throw new InvalidOperationException($"Partition {partitionKey}: {stalled} attempts in a row made no progress.", ex);
        }

        await Task.Delay(Random.Shared.Next(5, 20 * Math.Min(stalled, 50)), cancellationToken).ConfigureAwait(false);
    }

    private sealed class PartitionOutcome
    {
        public int Counted;
        public int Duplicates;
        public int Transactions;
        public readonly List<UsageEvent> Refused = [];
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Aggregation of partition {PartitionKey} ({Events} events) failed; its messages will be retried")]
    private static partial void LogPartitionFailed(ILogger logger, Exception exception, string partitionKey, int events);

    [LoggerMessage(Level = LogLevel.Information, Message = "Dropped {Duplicates} already-counted events in partition {PartitionKey}; {Pending} left to count")]
    private static partial void LogDuplicatesDropped(ILogger logger, int duplicates, string partitionKey, int pending);

    [LoggerMessage(Level = LogLevel.Error, Message = "Event {EventId} of partition {PartitionKey} cannot be stored ({Reason}); it goes to the poison queue, the rest are counted")]
    private static partial void LogEventRefused(ILogger logger, string eventId, string partitionKey, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Bucket of partition {PartitionKey} changed under us (attempt {Attempt}); re-reading")]
    private static partial void LogBucketConflict(ILogger logger, string partitionKey, int attempt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Recording runs, releasing reservations or evaluating budgets of workspace {WorkspaceId} failed; its messages will be retried")]
    private static partial void LogEvaluationFailed(ILogger logger, Exception exception, string workspaceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Discarded {Events} queued events of deleted workspaces")]
    private static partial void LogDiscarded(ILogger logger, int events);
}
