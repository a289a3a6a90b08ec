using System.Globalization;
using AgentSpend.Core.Aggregation;
using AgentSpend.Core.Configuration;
using AgentSpend.Core.Domain;
using AgentSpend.Core.Storage;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentSpend.Core.Runs;

/// <summary>One run or session as the index knows it: who, when, which days, and whether it is still going.</summary>
public sealed record RunEntry(
    string WorkspaceId, RunKind Kind, string Id, string Hash, string Agent, string? User, string? Team,
    long FirstAtMs, long LastAtMs, string FirstDay, string LastDay, string Status, long? CompletedAtMs, ETag ETag)
{
    public const string Active = "active";
    public const string Completed = "completed";

    public static RunEntry FromEntity(TableEntity e) => new(
        e.PartitionKey,
        e.GetString("Kind") == "session" ? RunKind.Session : RunKind.Run,
        e.GetString("Id") ?? "",
        e.RowKey[(e.RowKey.IndexOf('|') + 1)..],
        e.GetString("Agent") ?? "",
        e.GetString("User"),
        e.GetString("Team"),
        e.GetInt64("FirstAt") ?? 0,
        e.GetInt64("LastAt") ?? 0,
        e.GetString("FirstDay") ?? "",
        e.GetString("LastDay") ?? "",
        e.GetString("Status") ?? Active,
        e.GetInt64("CompletedAt"),
        e.ETag);
}

/// <summary>
/// The index of runs and sessions, in the <c>runs</c> table: per workspace one row per run (<c>{kind}|{hash}</c>)
/// with its first and last event, its first and last local day and its status. Counting stays with the run days
/// in the usage partitions (exact); this index only says where to find them and whether the run is active.
/// <para>
/// The aggregator records every event it handled, counted or duplicate, after its transaction: the index
/// only ever widens a run's span (minimum and maximum), so recording twice changes nothing. A run whose
/// last event is recent is <c>active</c> and has a marker under <c>~active</c>, which the
/// <c>RunCompletion</c> timer walks to mark runs <c>completed</c> once they are idle.
/// </para>
/// </summary>
public sealed partial class RunIndex(IStorageProvider storage, IOptions<AgentSpendOptions> options, TimeProvider clock, ILogger<RunIndex> logger)
{
    public const string ActivePartition = "~active";
    private const int MaxAttempts = 20;
    private const int MaxKnownRuns = 200_000;

    // Runs this instance wrote or read last, with their ETags; and when it last wrote each one's active marker.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string WorkspaceId, string RowKey), RunEntry> _known = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string WorkspaceId, string RowKey), long> _markedAt = new();

    private TimeSpan IdleAfter => TimeSpan.FromMinutes(options.Value.RunIdleMinutes);

    public static string RowKeyOf(RunKind kind, string hash) => kind.Name() + "|" + hash;

    public async Task<RunEntry?> FindAsync(string workspaceId, RunKind kind, string id, CancellationToken cancellationToken)
    {
        var row = await storage.GetTable(StorageNames.RunsTable)
            .GetIfExistsAsync(workspaceId, RowKeyOf(kind, RunKinds.Hash(workspaceId, kind, id)), cancellationToken: cancellationToken).ConfigureAwait(false);
        return row is null ? null : RunEntry.FromEntity(row);
    }

    /// <summary>
    /// Widens the spans of the runs and sessions these events belong to (idempotent). Runs this instance wrote or
    /// read last are kept with their ETags, so a run whose span already covers the events costs nothing; the rest
    /// are written per workspace in entity-group transactions of up to 100 (a new run is inserted without a read:
    /// if it exists after all, that one row is read and the transaction sent again).
    /// </summary>
    public async Task RecordAsync(IEnumerable<UsageEvent> events, CancellationToken cancellationToken)
    {
        var spans = events
            .SelectMany(e => RunKinds.Of(e).Select(r => (Event: e, r.Kind, r.Id)))
            .GroupBy(x => (x.Event.WorkspaceId, x.Kind, x.Id))
            .Select(g => Span.Of(g.Key.WorkspaceId, g.Key.Kind, g.Key.Id, g.Select(x => x.Event)))
            .Where(span => !(_known.TryGetValue(span.Key, out var known) && span.CoveredBy(known)))
            .ToArray();
        var table = storage.GetTable(StorageNames.RunsTable);
        var activated = new List<(RunEntry Entry, string WorkspaceId)>();
        foreach (var workspace in spans.GroupBy(s => s.WorkspaceId, StringComparer.Ordinal))
        {
            foreach (var chunk in workspace.Chunk(TransactionPacker.MaxOperations))
            {
                activated.AddRange(await WriteAsync(table, chunk, cancellationToken).ConfigureAwait(false));
            }
        }

        // A marker is written when a run becomes active, and again once its last event has moved on by half the idle
        // time, so that the RunCompletion timer finds idle runs without reading every active one on every tick.
        foreach (var chunk in activated.Chunk(TransactionPacker.MaxOperations))
        {
            await table.SubmitTransactionAsync(
                chunk.Select(a => new TableTransactionAction(TableTransactionActionType.UpsertReplace,
                    new TableEntity(ActivePartition, a.WorkspaceId + "|" + RowKeyOf(a.Entry.Kind, a.Entry.Hash)) { ["LastAt"] = a.Entry.LastAtMs })).ToArray(),
                cancellationToken).ConfigureAwait(false);
            foreach (var (entry, workspaceId) in chunk)
            {
                _markedAt[(workspaceId, RowKeyOf(entry.Kind, entry.Hash))] = entry.LastAtMs;
            }
        }
    }

    /// <summary>Writes one workspace's widened runs in one transaction; returns those that need their active marker written.</summary>
    private async Task<List<(RunEntry, string)>> WriteAsync(ITableStore table, Span[] spans, CancellationToken cancellationToken)
    {
        var stored = spans.Select(s => _known.GetValueOrDefault(s.Key)).ToArray();
        for (var attempt = 1; ; attempt++)
        {
            var now = clock.GetUtcNow();
            var rows = new List<(int Index, TableEntity Row, RunEntry? Before)>();
            for (var i = 0; i < spans.Length; i++)
            {
                if (stored[i] is { } entry && spans[i].CoveredBy(entry))
                {
                    continue; // another writer already widened it as far (found on a re-read)
                }

                rows.Add((i, spans[i].Widen(stored[i], now, IdleAfter), stored[i]));
            }

            if (rows.Count == 0)
            {
                return [];
            }

            try
            {
                var etags = await table.SubmitTransactionAsync(
                    rows.Select(r => r.Before is { } before
                        ? new TableTransactionAction(TableTransactionActionType.UpdateReplace, r.Row, before.ETag)
                        : new TableTransactionAction(TableTransactionActionType.Add, r.Row)).ToArray(),
                    cancellationToken).ConfigureAwait(false);
                var activated = new List<(RunEntry, string)>();
                for (var k = 0; k < rows.Count; k++)
                {
                    rows[k].Row.ETag = etags[k];
                    var written = RunEntry.FromEntity(rows[k].Row);
                    Remember(spans[rows[k].Index].Key, written);
                    var markedAt = _markedAt.TryGetValue(spans[rows[k].Index].Key, out var at) ? at : (long?)null;
                    if (written.Status == RunEntry.Active
                        && (rows[k].Before is not { Status: RunEntry.Active } || markedAt is null || written.LastAtMs - markedAt.Value > IdleAfter.TotalMilliseconds / 2))
                    {
                        activated.Add((written, written.WorkspaceId));
                    }
                }

                return activated;
            }
            catch (TableTransactionFailedException ex) when (ex.Status is 409 or 412 or 404 && ex.FailedTransactionActionIndex is { } failed && failed < rows.Count && attempt < MaxAttempts)
            {
                // Another aggregator recorded runs meanwhile, or this instance (just started, say) did not know them:
                // read every row of the transaction again, all at once (where one was changed under us, others of the
                // same runs likely were too), merge, send again.
                var unsure = rows.Select(r => r.Index).ToArray();
                var found = (await table.GetManyAsync(spans[0].WorkspaceId, unsure.Select(i => spans[i].RowKey), null, cancellationToken).ConfigureAwait(false))
                    .ToDictionary(row => row.RowKey, RunEntry.FromEntity, StringComparer.Ordinal);
                foreach (var i in unsure)
                {
                    stored[i] = found.GetValueOrDefault(spans[i].RowKey);
                    if (stored[i] is { } fresh)
                    {
                        Remember(spans[i].Key, fresh);
                    }
                    else
                    {
                        _known.TryRemove(spans[i].Key, out _);
                    }
                }
            }
        }
    }

    private void Remember((string WorkspaceId, string RowKey) key, RunEntry entry)
    {
        if (_known.Count >= MaxKnownRuns)
        {
            _known.Clear(); // rarely reached: each entry only saves a write of a run that gets no wider
            _markedAt.Clear();
        }

        _known[key] = entry;
    }

    /// <summary>What the events of one pass say of one run: its first and last event and local days.</summary>
    private sealed record Span(string WorkspaceId, RunKind Kind, string Id, string RowKey, UsageEvent First, UsageEvent Last, string FirstDay, string LastDay)
    {
        public (string WorkspaceId, string RowKey) Key => (WorkspaceId, RowKey);

        public static Span Of(string workspaceId, RunKind kind, string id, IEnumerable<UsageEvent> events)
        {
            var list = events as IReadOnlyCollection<UsageEvent> ?? events.ToArray();
            return new Span(workspaceId, kind, id, RowKeyOf(kind, RunKinds.Hash(workspaceId, kind, id)),
                list.MinBy(e => e.Timestamp)!, list.MaxBy(e => e.Timestamp)!,
                list.Select(e => e.Day).Min(StringComparer.Ordinal)!, list.Select(e => e.Day).Max(StringComparer.Ordinal)!);
        }

        public bool CoveredBy(RunEntry entry) =>
            entry.FirstAtMs <= First.Timestamp.ToUnixTimeMilliseconds() && entry.LastAtMs >= Last.Timestamp.ToUnixTimeMilliseconds()
            && string.CompareOrdinal(entry.FirstDay, FirstDay) <= 0 && string.CompareOrdinal(entry.LastDay, LastDay) >= 0;

        /// <summary>The run's row widened by this span: earliest and latest event, first and last day, and its status.</summary>
        public TableEntity Widen(RunEntry? entry, DateTimeOffset now, TimeSpan idleAfter)
        {
            var firstAt = Math.Min(entry?.FirstAtMs ?? long.MaxValue, First.Timestamp.ToUnixTimeMilliseconds());
            var lastAt = Math.Max(entry?.LastAtMs ?? 0, Last.Timestamp.ToUnixTimeMilliseconds());
            var active = now - DateTimeOffset.FromUnixTimeMilliseconds(lastAt) < idleAfter;
            var status = entry is null || lastAt > entry.LastAtMs
                ? (active ? RunEntry.Active : RunEntry.Completed)
                : entry.Status;
            return new TableEntity(WorkspaceId, RowKey)
            {
                ["Kind"] = Kind.Name(),
                ["Id"] = Id,
                ["Agent"] = entry?.Agent ?? First.Agent,
                ["User"] = entry is null ? First.UserId : entry.User,
                ["Team"] = entry is null ? First.Team : entry.Team,
                ["FirstAt"] = firstAt,
                ["LastAt"] = lastAt,
                ["FirstDay"] = entry is null || string.CompareOrdinal(FirstDay, entry.FirstDay) < 0 ? FirstDay : entry.FirstDay,
                ["LastDay"] = entry is null || string.CompareOrdinal(LastDay, entry.LastDay) > 0 ? LastDay : entry.LastDay,
                ["Status"] = status,
                ["CompletedAt"] = status == RunEntry.Completed ? entry?.CompletedAtMs ?? now.ToUnixTimeMilliseconds() : null,
            };
        }
    }

    /// <summary>
    /// Marks completed every active run whose last event is older than <c>AGENTSPEND_RUN_IDLE_MINUTES</c>.
    /// Safe to run twice at once: each change is conditional on the row being as it was read.
    /// </summary>
    public async Task<int> CompleteIdleAsync(CancellationToken cancellationToken)
    {
        var table = storage.GetTable(StorageNames.RunsTable);
        var now = clock.GetUtcNow();
        var cutoff = (now - IdleAfter).ToUnixTimeMilliseconds();
        var completed = 0;
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {ActivePartition} and LastAt lt {cutoff}");
        await foreach (var marker in table.QueryAsync(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var cut = marker.RowKey.IndexOf('|');
            var (workspaceId, rowKey) = (marker.RowKey[..cut], marker.RowKey[(cut + 1)..]);
            var stored = await table.GetIfExistsAsync(workspaceId, rowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
            try
            {
                if (stored is not null && RunEntry.FromEntity(stored) is { Status: RunEntry.Active } entry)
                {
                    if (entry.LastAtMs >= cutoff)
                    {
                        continue; // a newer event than the marker knew of: its own marker write will follow
                    }

                    var done = new TableEntity(workspaceId, rowKey) { ["Status"] = RunEntry.Completed, ["CompletedAt"] = now.ToUnixTimeMilliseconds() };
                    await table.UpdateAsync(done, stored.ETag, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
                    completed++;
                    LogCompleted(logger, workspaceId, entry.Kind, entry.Id, entry.LastAtMs);
                }

                await table.DeleteAsync(ActivePartition, marker.RowKey, marker.ETag, cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException ex) when (ex.Status == 412)
            {
                // The run (or its marker) changed since it was read: a new event arrived; the next tick decides.
            }
        }

        return completed;
    }

    /// <summary>The workspace's runs and sessions that are active now (for the long-running-session detector).</summary>
    public async Task<IReadOnlyList<RunEntry>> ActiveAsync(string workspaceId, CancellationToken cancellationToken)
    {
        var table = storage.GetTable(StorageNames.RunsTable);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {workspaceId} and Status eq {RunEntry.Active}");
        var entries = new List<RunEntry>();
        await foreach (var row in table.QueryAsync(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            entries.Add(RunEntry.FromEntity(row));
        }

        return entries;
    }

    /// <summary>The workspace's runs (or sessions) that had events between the two instants.</summary>
    public async Task<IReadOnlyList<RunEntry>> ListAsync(string workspaceId, RunKind kind, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        var table = storage.GetTable(StorageNames.RunsTable);
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {workspaceId} and RowKey ge {kind.Name() + "|"} and RowKey lt {kind.Name() + "}"} and LastAt ge {from.ToUnixTimeMilliseconds()} and FirstAt lt {to.ToUnixTimeMilliseconds()}");
        var entries = new List<RunEntry>();
        await foreach (var row in table.QueryAsync(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            entries.Add(RunEntry.FromEntity(row));
        }

        return entries;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Workspace {WorkspaceId}: {Kind} {RunId} completed (last event at {LastEventAtUnixMs} Unix ms)")]
    private static partial void LogCompleted(ILogger logger, string workspaceId, RunKind kind, string runId, long lastEventAtUnixMs);
}
