using System.Globalization;
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

    private TimeSpan IdleAfter => TimeSpan.FromMinutes(options.Value.RunIdleMinutes);

    public static string RowKeyOf(RunKind kind, string hash) => kind.Name() + "|" + hash;

    public async Task<RunEntry?> FindAsync(string workspaceId, RunKind kind, string id, CancellationToken cancellationToken)
    {
        var row = await storage.GetTable(StorageNames.RunsTable)
            .GetIfExistsAsync(workspaceId, RowKeyOf(kind, RunKinds.Hash(workspaceId, kind, id)), cancellationToken: cancellationToken).ConfigureAwait(false);
        return row is null ? null : RunEntry.FromEntity(row);
    }

    /// <summary>Widens the spans of the runs and sessions these events belong to (idempotent).</summary>
    public async Task RecordAsync(IEnumerable<UsageEvent> events, CancellationToken cancellationToken)
    {
        var groups = events
            .SelectMany(e => RunKinds.Of(e).Select(r => (Event: e, r.Kind, r.Id)))
            .GroupBy(x => (x.Event.WorkspaceId, x.Kind, x.Id))
            .ToArray();
        using var gate = new SemaphoreSlim(8);
        await Task.WhenAll(groups.Select(async group =>
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var list = group.Select(x => x.Event).ToArray();
                await RecordRunAsync(group.Key.WorkspaceId, group.Key.Kind, group.Key.Id, list, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
            }
        })).ConfigureAwait(false);
    }

    private async Task RecordRunAsync(string workspaceId, RunKind kind, string id, UsageEvent[] events, CancellationToken cancellationToken)
    {
        var table = storage.GetTable(StorageNames.RunsTable);
        var hash = RunKinds.Hash(workspaceId, kind, id);
        var first = events.MinBy(e => e.Timestamp)!;
        var last = events.MaxBy(e => e.Timestamp)!;
        var firstDay = events.Select(e => e.Day).Min(StringComparer.Ordinal)!;
        var lastDay = events.Select(e => e.Day).Max(StringComparer.Ordinal)!;
        for (var attempt = 1; ; attempt++)
        {
            var stored = await table.GetIfExistsAsync(workspaceId, RowKeyOf(kind, hash), cancellationToken: cancellationToken).ConfigureAwait(false);
            var entry = stored is null ? null : RunEntry.FromEntity(stored);
            var firstAt = Math.Min(entry?.FirstAtMs ?? long.MaxValue, first.Timestamp.ToUnixTimeMilliseconds());
            var lastAt = Math.Max(entry?.LastAtMs ?? 0, last.Timestamp.ToUnixTimeMilliseconds());
            var spanFirstDay = entry is null || string.CompareOrdinal(firstDay, entry.FirstDay) < 0 ? firstDay : entry.FirstDay;
            var spanLastDay = entry is null || string.CompareOrdinal(lastDay, entry.LastDay) > 0 ? lastDay : entry.LastDay;
            if (entry is not null && entry.FirstAtMs == firstAt && entry.LastAtMs == lastAt && entry.FirstDay == spanFirstDay && entry.LastDay == spanLastDay)
            {
                return; // already recorded (a redelivery)
            }

            var now = clock.GetUtcNow();
            var active = now - DateTimeOffset.FromUnixTimeMilliseconds(lastAt) < IdleAfter;
            var status = entry is null || lastAt > entry.LastAtMs
                ? (active ? RunEntry.Active : RunEntry.Completed)
                : entry.Status;
            var row = new TableEntity(workspaceId, RowKeyOf(kind, hash))
            {
                ["Kind"] = kind.Name(),
                ["Id"] = id,
                ["Agent"] = entry?.Agent ?? first.Agent,
                ["User"] = entry is null ? first.UserId : entry.User,
                ["Team"] = entry is null ? first.Team : entry.Team,
                ["FirstAt"] = firstAt,
                ["LastAt"] = lastAt,
                ["FirstDay"] = spanFirstDay,
                ["LastDay"] = spanLastDay,
                ["Status"] = status,
                ["CompletedAt"] = status == RunEntry.Completed ? entry?.CompletedAtMs ?? now.ToUnixTimeMilliseconds() : null,
            };
            try
            {
                if (stored is null)
                {
                    await table.InsertAsync(row, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await table.UpdateAsync(row, stored.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412 && attempt < MaxAttempts)
            {
                continue; // another aggregator recorded the run meanwhile: merge with what it wrote
            }

            if (status == RunEntry.Active)
            {
                // Replaced on every activation, so the timer's conditional delete of an older marker fails.
                await table.UpsertAsync(new TableEntity(ActivePartition, workspaceId + "|" + RowKeyOf(kind, hash)) { ["LastAt"] = lastAt }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            }

            return;
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
