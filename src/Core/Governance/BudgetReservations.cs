using System.Globalization;
using AgentSpend.Core.Domain;
using AgentSpend.Core.Storage;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;

namespace AgentSpend.Core.Governance;

/// <summary>An allowed check's estimate, held against its block budgets until its usage arrives or it expires.</summary>
public sealed record Reservation(string Id, IReadOnlyList<string> BudgetIds, DateTimeOffset ExpiresAt, string? RunId, string? IdempotencyKey);

/// <summary>A budget a reservation is to be held against: the estimate in the budget's metric, and the usage measured at <c>measuredAt</c>.</summary>
public sealed record HoldRequest(Budget Budget, string PeriodKey, decimal Used, decimal Amount);

/// <summary>
/// Reservations, in the <c>reservations</c> table. Each block budget has a partition (<c>{workspace}|{budget}</c>)
/// with one <i>ledger</i> row and a row per hold. Admission reads the partition, checks that usage plus every hold
/// plus the new estimate stays within the limit, and writes the hold together with a conditional update of the
/// ledger in one entity-group transaction. Two admissions that read the same ledger cannot both commit, on any
/// instance, so admitted estimates never take a budget past its limit: total admitted spend exceeds a limit by at
/// most what a single call spends beyond its own estimate.
/// <para>
/// A hold stops counting when it expires, or once the usage it was made for is certainly in the measured usage:
/// the aggregator marks it released after counting the matching event (same run id or idempotency key), and a
/// released hold keeps counting for checks whose usage was measured before the release, plus a margin for clocks.
/// </para>
/// <para>The open reservations of a workspace (partition <c>{workspace}|open</c>) are what the aggregator matches events against.</para>
/// </summary>
public sealed partial class BudgetReservations(IStorageProvider storage, TimeProvider clock, ILogger<BudgetReservations> logger)
{
    /// <summary>How much longer than strictly needed a released hold keeps counting, for clocks of different instances.</summary>
    public static readonly TimeSpan ClockMargin = TimeSpan.FromSeconds(2);

    public static readonly TimeSpan DefaultTtl = TimeSpan.FromMinutes(10);
    public static readonly TimeSpan MaxTtl = TimeSpan.FromHours(24);

    public const string IdPrefix = "res_";

    private const string LedgerRow = "ledger";
    private const string HoldPrefix = "h|";
    private const string OpenPartitionSuffix = "|open";
    private const int MaxAttempts = 200;

    public static string NewId() => IdPrefix + Guid.NewGuid().ToString("N");

    private ITableStore Table => storage.GetTable(StorageNames.ReservationsTable);

    /// <summary>
    /// Holds <paramref name="requests"/> for one reservation, budget by budget in a fixed order. Returns null when
    /// all are held, else the budget that had no room and what it had used and held (earlier holds are undone).
    /// </summary>
    public async Task<(Budget Budget, decimal UsedAndHeld)?> HoldAsync(
        string workspaceId, Reservation reservation, IReadOnlyList<HoldRequest> requests, DateTimeOffset measuredAt, CancellationToken cancellationToken)
    {
        var held = new List<string>();
        foreach (var request in requests.OrderBy(r => r.Budget.Id, StringComparer.Ordinal))
        {
            var partition = PartitionOf(workspaceId, request.Budget.Id);
            for (var attempt = 1; ; attempt++)
            {
                var (ledger, holds) = await ReadPartitionAsync(partition, cancellationToken).ConfigureAwait(false);
                var usedAndHeld = request.Used + Counting(holds, request.PeriodKey, measuredAt);
                if (usedAndHeld + request.Amount > request.Budget.Limit)
                {
                    await UndoAsync(workspaceId, reservation.Id, held, cancellationToken).ConfigureAwait(false);
                    return (request.Budget, usedAndHeld);
                }

                var version = ledger?.GetInt64("Version") ?? 0;
                var ledgerRow = new TableEntity(partition, LedgerRow) { ["Version"] = version + 1 };
                var hold = new TableEntity(partition, HoldPrefix + reservation.Id)
                {
                    ["Amount"] = request.Amount.ToString(CultureInfo.InvariantCulture),
                    ["Period"] = request.PeriodKey,
                    ["ExpiresAt"] = reservation.ExpiresAt,
                };
                TableTransactionAction[] actions =
                [
                    ledger is null
                        ? new TableTransactionAction(TableTransactionActionType.Add, ledgerRow)
                        : new TableTransactionAction(TableTransactionActionType.UpdateReplace, ledgerRow, ledger.ETag),
                    new TableTransactionAction(TableTransactionActionType.Add, hold),
                ];
                try
                {
                    await Table.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
                    held.Add(request.Budget.Id);
                    break;
                }
                catch (TableTransactionFailedException ex) when (ex.Status is 409 or 412 && ex.FailedTransactionActionIndex == 0 && attempt < MaxAttempts)
                {
                    // Another admission changed this budget's ledger since we read it: read again and decide again.
                    await Task.Delay(Random.Shared.Next(1, 4 + Math.Min(attempt, 20)), cancellationToken).ConfigureAwait(false);
                }
            }
        }

        await Table.UpsertAsync(new TableEntity(workspaceId + OpenPartitionSuffix, reservation.Id)
        {
            ["Budgets"] = string.Join(',', reservation.BudgetIds),
            ["ExpiresAt"] = reservation.ExpiresAt,
            ["Run"] = reservation.RunId,
            ["Key"] = reservation.IdempotencyKey,
        }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        LogHeld(logger, reservation.Id, held.Count, workspaceId);
        return null;
    }

    /// <summary>What every block budget of the workspace has held now, by budget id, as checks measured at <paramref name="measuredAt"/> must count it.</summary>
    public async Task<Dictionary<string, decimal>> HeldAsync(string workspaceId, IReadOnlyList<(Budget Budget, string PeriodKey)> budgets, DateTimeOffset measuredAt, CancellationToken cancellationToken)
    {
        var rows = new Dictionary<string, List<TableEntity>>(StringComparer.Ordinal);
        // Every budget partition of the workspace in one range read: "{workspace}|" up to "{workspace}}" ('}' follows '|').
        var from = workspaceId + "|";
        var filter = TableClient.CreateQueryFilter($"PartitionKey ge {from} and PartitionKey lt {workspaceId + "}"} and RowKey ge {HoldPrefix} and RowKey lt {"h}"}");
        await foreach (var row in Table.QueryAsync(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var budgetId = row.PartitionKey[from.Length..];
            if (!rows.TryGetValue(budgetId, out var list))
            {
                rows[budgetId] = list = [];
            }

            list.Add(row);
        }

        return budgets.ToDictionary(b => b.Budget.Id, b => rows.TryGetValue(b.Budget.Id, out var holds) ? Counting(holds, b.PeriodKey, measuredAt) : 0m, StringComparer.Ordinal);
    }

    /// <summary>The open reservations of a workspace: those whose usage has not arrived and that have not expired.</summary>
    public async Task<IReadOnlyList<Reservation>> OpenAsync(string workspaceId, CancellationToken cancellationToken)
    {
        var open = new List<Reservation>();
        var now = clock.GetUtcNow();
        await foreach (var row in Table.QueryAsync(TableClient.CreateQueryFilter($"PartitionKey eq {workspaceId + OpenPartitionSuffix}"), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var expires = row.GetDateTimeOffset("ExpiresAt") ?? now;
            if (expires > now)
            {
                open.Add(ToReservation(row));
            }
        }

        return open;
    }

    public async Task<Reservation?> FindAsync(string workspaceId, string reservationId, CancellationToken cancellationToken) =>
        reservationId.StartsWith(IdPrefix, StringComparison.Ordinal) && TableKey.Encode(reservationId) == reservationId && await Table.GetIfExistsAsync(workspaceId + OpenPartitionSuffix, reservationId, cancellationToken: cancellationToken).ConfigureAwait(false) is { } row
            ? ToReservation(row)
            : null;

    /// <summary>Releases a reservation: its holds stop counting once the usage that released it is measured. Releasing twice is harmless.</summary>
    public async Task ReleaseAsync(string workspaceId, Reservation reservation, CancellationToken cancellationToken)
    {
        var at = clock.GetUtcNow();
        foreach (var budgetId in reservation.BudgetIds)
        {
            try
            {
                await Table.UpdateAsync(new TableEntity(PartitionOf(workspaceId, budgetId), HoldPrefix + reservation.Id) { ["ReleasedAt"] = at }, ETag.All, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                // Already swept away: nothing of it counts any more.
            }
        }

        await Table.DeleteAsync(workspaceId + OpenPartitionSuffix, reservation.Id, ETag.All, cancellationToken).ConfigureAwait(false);
        LogReleased(logger, reservation.Id, workspaceId);
    }

    /// <summary>
    /// Releases the open reservations that these counted events were made for (same run id or idempotency key).
    /// Returns how many were released.
    /// </summary>
    public async Task<int> ReleaseMatchingAsync(string workspaceId, IEnumerable<UsageEvent> counted, CancellationToken cancellationToken)
    {
        var runs = new HashSet<string>(StringComparer.Ordinal);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in counted)
        {
            if (e.RunId is { } run)
            {
                runs.Add(run);
            }

            if (e.IdempotencyKey is { } key)
            {
                keys.Add(key);
            }
        }

        // Events that name neither a run nor an idempotency key cannot match a reservation: no read for them.
        if (runs.Count == 0 && keys.Count == 0)
        {
            return 0;
        }

        var open = await OpenAsync(workspaceId, cancellationToken).ConfigureAwait(false);
        var matched = open.Where(r => (r.RunId is { } run && runs.Contains(run)) || (r.IdempotencyKey is { } key && keys.Contains(key))).ToArray();
        foreach (var reservation in matched)
        {
            await ReleaseAsync(workspaceId, reservation, cancellationToken).ConfigureAwait(false);
        }

        return matched.Length;
    }

    /// <summary>
    /// Deletes holds and open reservations that no longer count: expired ones, and released ones older than any check
    /// can still be measuring. Conditional deletes: safe to run on two instances at once.
    /// </summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var releasedBefore = now - PreflightCheck.MaxStaleness - ClockMargin - TimeSpan.FromMinutes(1);
        var filter = TableClient.CreateQueryFilter($"ExpiresAt lt {now} or ReleasedAt lt {releasedBefore}");
        var swept = 0;
        await foreach (var row in Table.QueryAsync(filter, ["PartitionKey", "RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (await Table.TryDeleteAsync(row.PartitionKey, row.RowKey, row.ETag, cancellationToken).ConfigureAwait(false))
            {
                swept++;
            }
        }

        return swept;
    }

    private async Task UndoAsync(string workspaceId, string reservationId, List<string> heldBudgets, CancellationToken cancellationToken)
    {
        foreach (var budgetId in heldBudgets)
        {
            await Table.DeleteAsync(PartitionOf(workspaceId, budgetId), HoldPrefix + reservationId, ETag.All, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<(TableEntity? Ledger, List<TableEntity> Holds)> ReadPartitionAsync(string partition, CancellationToken cancellationToken)
    {
        TableEntity? ledger = null;
        var holds = new List<TableEntity>();
        await foreach (var row in Table.QueryAsync(TableClient.CreateQueryFilter($"PartitionKey eq {partition}"), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (row.RowKey == LedgerRow)
            {
                ledger = row;
            }
            else
            {
                holds.Add(row);
            }
        }

        return (ledger, holds);
    }

    /// <summary>The holds of the current period that count for a check measured at <paramref name="measuredAt"/>.</summary>
    private decimal Counting(IEnumerable<TableEntity> holds, string periodKey, DateTimeOffset measuredAt)
    {
        var now = clock.GetUtcNow();
        var sum = 0m;
        foreach (var hold in holds)
        {
            if (hold.GetString("Period") != periodKey || hold.GetDateTimeOffset("ExpiresAt") <= now)
            {
                continue;
            }

            // Released after the usage was measured (give or take clocks): the usage that released it may not be in that measure.
            if (hold.GetDateTimeOffset("ReleasedAt") is { } released && released < measuredAt - ClockMargin)
            {
                continue;
            }

            sum += decimal.Parse(hold.GetString("Amount") ?? "0", CultureInfo.InvariantCulture);
        }

        return sum;
    }

    private static Reservation ToReservation(TableEntity row) => new(
        row.RowKey,
        (row.GetString("Budgets") ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries),
        row.GetDateTimeOffset("ExpiresAt") ?? DateTimeOffset.MinValue,
        row.GetString("Run"),
        row.GetString("Key"));

    // Workspace and budget ids are generated and key-safe.
    private static string PartitionOf(string workspaceId, string budgetId) => workspaceId + "|" + budgetId;

    [LoggerMessage(Level = LogLevel.Debug, Message = "Reservation {ReservationId} held against {Budgets} budgets in workspace {WorkspaceId}")]
    private static partial void LogHeld(ILogger logger, string reservationId, int budgets, string workspaceId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Reservation {ReservationId} of workspace {WorkspaceId} released")]
    private static partial void LogReleased(ILogger logger, string reservationId, string workspaceId);
}
