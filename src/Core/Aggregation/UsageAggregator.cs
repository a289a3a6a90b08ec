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
public sealed record AggregationOutcome(int Counted, int Duplicates, int Transactions, IReadOnlyList<Exception?> Failed, int Discarded = 0);

/// <summary>
/// Counts queued events into daily buckets exactly once.
/// <para>
/// Events of all given messages are grouped by partition (workspace-day). Within a partition, each
/// entity-group transaction inserts up to ~99 raw event rows together with the bucket rows they change,
/// the bucket rows guarded by their ETags. So an event is counted if and only if its raw row exists:
/// a redelivered or re-sent event fails on its insert (409) and is dropped before the retry, and a
/// concurrent writer of the same day fails the ETag check (412) and re-reads.
/// </para>
/// </summary>
public sealed partial class UsageAggregator(
    IStorageProvider storage, IWorkspaceDirectory workspaces, DayVersions versions, Runs.RunIndex runs,
    Governance.BudgetEnforcer enforcer, Governance.BudgetReservations reservations, IOptions<AgentSpendOptions> options, ILogger<UsageAggregator> logger)
{
    private const int MaxOperationsPerTransaction = 100;
    private const int MaxAttemptsPerChunk = 50;

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
        using var gate = new SemaphoreSlim(options.Value.AggregationConcurrency);
        await Task.WhenAll(partitions.Select(async p =>
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var result = await AggregatePartitionAsync(table, p.Key, p.Value.Events, cancellationToken).ConfigureAwait(false);

                // Counted or found already counted, every event widens its run's span; doing so twice is harmless.
                await runs.RecordAsync(p.Value.Events, cancellationToken).ConfigureAwait(false);
                Interlocked.Add(ref counted, result.Counted);
                Interlocked.Add(ref duplicates, result.Duplicates);
                Interlocked.Add(ref transactions, result.Transactions);
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
            var countedHere = partitions.Values.Where(p => p.Events[0].WorkspaceId == workspaceId && !p.Messages.Any(m => failed[m] is not null)).SelectMany(p => p.Events).ToArray();
            try
            {
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

        return new AggregationOutcome(counted, duplicates, transactions, failed, discarded);
    }

    private async Task<(int Counted, int Duplicates, int Transactions)> AggregatePartitionAsync(
        ITableStore table, string partitionKey, List<UsageEvent> events, CancellationToken cancellationToken)
    {
        // The same event can arrive twice in one pass (a client resend queued next to the original).
        var pending = new Queue<(string RowKey, UsageEvent Event)>(events
            .Select(e => (RowKey: UsageTableKeys.EventRow(e), Event: e))
            .DistinctBy(x => x.RowKey, StringComparer.Ordinal)
            .OrderBy(x => x.RowKey, StringComparer.Ordinal));
        var duplicates = events.Count - pending.Count;
        var counted = 0;
        var transactions = 0;

        var bucket = _buckets.Take(partitionKey) ?? await DailyBucket.LoadAsync(table, partitionKey, cancellationToken).ConfigureAwait(false);
        var chunkSize = MaxOperationsPerTransaction - 1;
        var attempts = 0;
        while (pending.Count > 0)
        {
            var chunk = pending.Take(chunkSize).ToList();
            await bucket.LoadLedgersAsync(table, chunk.Select(c => c.Event), cancellationToken).ConfigureAwait(false);
            var changes = bucket.Apply(chunk.Select(c => c.Event).ToArray());
            if (chunk.Count + changes.Count > MaxOperationsPerTransaction)
            {
                chunkSize = Math.Max(1, Math.Min(chunk.Count - 1, MaxOperationsPerTransaction - changes.Count));
                continue;
            }

            var actions = new List<TableTransactionAction>(chunk.Count + changes.Count);
            actions.AddRange(chunk.Select(c => new TableTransactionAction(TableTransactionActionType.Add, ToEventEntity(partitionKey, c.RowKey, c.Event))));
            actions.AddRange(changes.Actions(partitionKey));

            try
            {
                var etags = await table.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
                bucket.Commit(changes, etags.Skip(chunk.Count).ToArray());
                for (var i = 0; i < chunk.Count; i++)
                {
                    pending.Dequeue();
                }

                counted += chunk.Count;
                transactions++;
                attempts = 0;
                chunkSize = MaxOperationsPerTransaction - 1;
            }
            catch (TableTransactionFailedException ex) when (++attempts < MaxAttemptsPerChunk && IsRetryable(ex, chunk.Count))
            {
                if (ex.FailedTransactionActionIndex is { } index && index < chunk.Count)
                {
                    // An event of this chunk is already counted: find every such event, drop them, retry the rest.
                    var existing = await FindExistingAsync(table, partitionKey, chunk, cancellationToken).ConfigureAwait(false);
                    var kept = pending.Where(p => !existing.Contains(p.RowKey)).ToList();
                    duplicates += pending.Count - kept.Count;
                    pending = new Queue<(string, UsageEvent)>(kept);
                    LogDuplicatesDropped(logger, existing.Count, partitionKey);
                }
                else
                {
                    // Another aggregator wrote this day's bucket since we read it.
                    LogBucketConflict(logger, partitionKey, attempts);
                    await Task.Delay(Random.Shared.Next(5, 20 * Math.Min(attempts, 10)), cancellationToken).ConfigureAwait(false);
                    bucket = await DailyBucket.LoadAsync(table, partitionKey, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        _buckets.Return(bucket);
        return (counted, duplicates, transactions);
    }

    private static bool IsRetryable(TableTransactionFailedException ex, int eventCount) =>
        ex.FailedTransactionActionIndex is { } index && (index < eventCount
            ? ex.Status == 409
            : ex.Status is 409 or 412 or 404);

    private static async Task<HashSet<string>> FindExistingAsync(ITableStore table, string partitionKey, List<(string RowKey, UsageEvent Event)> chunk, CancellationToken cancellationToken)
    {
        var existing = new HashSet<string>(StringComparer.Ordinal);
        using var gate = new SemaphoreSlim(16);
        await Task.WhenAll(chunk.Select(async c =>
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var row = await table.GetIfExistsAsync(partitionKey, c.RowKey, ["RowKey"], cancellationToken).ConfigureAwait(false);
                if (row is not null)
                {
                    lock (existing)
                    {
                        existing.Add(c.RowKey);
                    }
                }
            }
            finally
            {
                gate.Release();
            }
        })).ConfigureAwait(false);

        Debug.Assert(existing.Count > 0, "A 409 on an event insert means at least one event row exists.");
        return existing;
    }

    /// <summary>
    /// The raw event row: the event as one compact JSON document. One property instead of twenty keeps
    /// rows small, which is what Table Storage bills and what Azurite's single data file grows by.
    /// </summary>
    internal static TableEntity ToEventEntity(string partitionKey, string rowKey, UsageEvent e)
    {
        var entity = new TableEntity(partitionKey, rowKey)
        {
            [EventProperty] = System.Text.Json.JsonSerializer.Serialize(e, CoreJsonContext.Default.UsageEvent),
            [TimestampProperty] = e.Timestamp.UtcDateTime,
        };

        // Also as properties of their own, so that a run's (or an hour's) events can be found by a filter the service evaluates.
        if (e.RunId is { Length: > 0 } run)
        {
            entity[RunProperty] = run;
        }

        if (e.SessionId is { Length: > 0 } session)
        {
            entity[SessionProperty] = session;
        }

        return entity;
    }

    public const string RunProperty = "Run";
    public const string TimestampProperty = "At";
    public const string SessionProperty = "Ses";

    public const string EventProperty = "Event";

    [LoggerMessage(Level = LogLevel.Error, Message = "Aggregation of partition {PartitionKey} ({Events} events) failed; its messages will be retried")]
    private static partial void LogPartitionFailed(ILogger logger, Exception exception, string partitionKey, int events);

    [LoggerMessage(Level = LogLevel.Information, Message = "Dropped {Duplicates} already-counted events in partition {PartitionKey}")]
    private static partial void LogDuplicatesDropped(ILogger logger, int duplicates, string partitionKey);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Bucket of partition {PartitionKey} changed under us (attempt {Attempt}); re-reading")]
    private static partial void LogBucketConflict(ILogger logger, string partitionKey, int attempt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Releasing reservations or evaluating budgets of workspace {WorkspaceId} failed; its messages will be retried")]
    private static partial void LogEvaluationFailed(ILogger logger, Exception exception, string workspaceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Discarded {Events} queued events of deleted workspaces")]
    private static partial void LogDiscarded(ILogger logger, int events);
}
