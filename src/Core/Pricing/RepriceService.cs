using System.Text.Json;
using System.Text.Json.Serialization;
using AgentSpend.Core.Aggregation;
using AgentSpend.Core.Domain;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Workspaces;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;

namespace AgentSpend.Core.Pricing;

/// <summary>How the cost of one model's events changed in a re-pricing run.</summary>
public sealed record RepricedModel(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("events")] long Events,
    [property: JsonPropertyName("cost_delta_usd")] decimal CostDeltaUsd,
    [property: JsonPropertyName("estimate_delta_usd")] decimal EstimateDeltaUsd);

/// <summary>What a re-pricing run did; also what the audit log records of it.</summary>
public sealed record RepriceOutcome(
    [property: JsonPropertyName("from")] string From,
    [property: JsonPropertyName("to")] string To,
    [property: JsonPropertyName("catalog_version")] string CatalogVersion,
    [property: JsonPropertyName("days")] int Days,
    [property: JsonPropertyName("events_examined")] long EventsExamined,
    [property: JsonPropertyName("events_changed")] long EventsChanged,
    [property: JsonPropertyName("newly_priced")] long NewlyPriced,
    [property: JsonPropertyName("newly_unpriced")] long NewlyUnpriced,
    [property: JsonPropertyName("cost_delta_usd")] decimal CostDeltaUsd,
    [property: JsonPropertyName("estimate_delta_usd")] decimal EstimateDeltaUsd,
    [property: JsonPropertyName("models")] IReadOnlyList<RepricedModel> Models);

/// <summary>
/// Recomputes the server's prices of stored events after a catalog or override change, and moves the daily
/// buckets by exactly the difference. Per day, each raw event row (a page) holding a changed event is rewritten in the same
/// entity-group transaction as the bucket rows (and session ledgers) it feeds, guarded by their ETags, so an
/// event's new price is counted if and only if its row holds it: a run that stops half-way, or runs twice,
/// or runs while the aggregator counts new events of the same day, leaves every total exact.
/// <para>
/// A client's own cost is never changed: only its estimate beside it. Events priced by the server take the
/// new estimate as their cost; events of a model that now has a price become priced, and events whose model
/// lost its price become unpriced. Only days whose raw events are still kept (the workspace's retention)
/// can be re-priced.
/// </para>
/// </summary>
public sealed partial class RepriceService(IStorageProvider storage, WorkspacePricing pricing, DayVersions versions, ILogger<RepriceService> logger)
{
    public const int MaxDays = 400;

    private const int MaxAttemptsPerChunk = 30;

    public async Task<RepriceOutcome> RunAsync(Workspace workspace, DateOnly from, DateOnly to, CancellationToken cancellationToken)
    {
        var table = storage.GetTable(StorageNames.UsageTable);
        var totals = new Tally();
        var days = 0;
        var price = await pricing.ForWorkspaceAsync(workspace, cancellationToken).ConfigureAwait(false);
        LogStarted(logger, workspace.Id, from, to);
        for (var day = from; day <= to; day = day.AddDays(1))
        {
            cancellationToken.ThrowIfCancellationRequested();
            days++;
            var partition = UsageTableKeys.Partition(workspace.Id, Workspace.FormatDay(day));
            var before = totals.Changed;
            var lease = await versions.BeginAsync(workspace.Id, [Workspace.FormatDay(day)], cancellationToken).ConfigureAwait(false);
            try
            {
                await RepriceDayAsync(table, price, partition, totals, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                await versions.EndAsync(lease, CancellationToken.None).ConfigureAwait(false);
            }

            LogDay(logger, workspace.Id, day, totals.Changed - before);
        }

        var outcome = new RepriceOutcome(
            Workspace.FormatDay(from), Workspace.FormatDay(to), pricing.CatalogVersion, days, totals.Examined, totals.Changed, totals.NewlyPriced, totals.NewlyUnpriced,
            Money.ToUsd(totals.CostDelta), Money.ToUsd(totals.EstimateDelta),
            totals.Models.OrderBy(m => m.Key, StringComparer.Ordinal)
                .Select(m => new RepricedModel(m.Key, m.Value.Events, Money.ToUsd(m.Value.Cost), Money.ToUsd(m.Value.Estimate))).ToArray());
        LogFinished(logger, workspace.Id, totals.Examined, totals.Changed, outcome.CostDeltaUsd);
        return outcome;
    }

    private async Task RepriceDayAsync(ITableStore table, Func<UsageEvent, UsageEvent> price, string partition, Tally totals, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey ge {UsageTableKeys.EventRowPrefix} and RowKey lt {EventPages.RangeEnd}");
        var pending = new List<RepricedRow>();
        await foreach (var row in table.QueryAsync(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var stored = EventPages.Read(row);
            totals.Examined += stored.Count;
            if (Repriced(price, row, stored) is { } change)
            {
                pending.Add(change);
            }
        }

        if (pending.Count == 0)
        {
            return;
        }

        var bucket = await DailyBucket.LoadForWritingAsync(table, partition, cancellationToken, readCounted: false).ConfigureAwait(false);
        var guess = TransactionPacker.MaxOperations - 1;
        var attempts = 0;
        while (pending.Count > 0)
        {
            var plan = TransactionPacker.Next(
                pending, TransactionPacker.MaxOperations - 1, guess,
                items => bucket.Reprice(items.SelectMany(r => r.Changed).ToArray()),
                items => [.. items.Select(r => new TableTransactionAction(TableTransactionActionType.UpdateReplace, r.Rewritten(partition), r.Row.ETag))],
                partition)
                ?? throw new InvalidOperationException($"Partition {partition}: a re-priced event row and the rows it changes do not fit one transaction.");
            var chunk = plan.Items;
            try
            {
                var etags = await table.SubmitTransactionAsync(plan.Actions, cancellationToken).ConfigureAwait(false);
                bucket.Commit(plan.Changes, etags.Skip(plan.ItemActions).ToArray());
                foreach (var (old, @new) in chunk.SelectMany(r => r.Changed))
                {
                    totals.Count(old, @new);
                }

                pending.RemoveRange(0, chunk.Count);
                guess = chunk.Count;
                attempts = 0;
            }
            catch (TableTransactionFailedException ex) when (ex.Status is 409 or 412 or 404 && ++attempts < MaxAttemptsPerChunk)
            {
                // The aggregator counted new events of this day, or another run re-priced some of these: read both again.
                LogConflict(logger, partition, attempts);
                bucket = await DailyBucket.LoadForWritingAsync(table, partition, cancellationToken, readCounted: false).ConfigureAwait(false);
                var fresh = new List<RepricedRow>();
                foreach (var c in chunk)
                {
                    // A row gone meanwhile was deleted by retention: nothing left to re-price.
                    if (await table.GetIfExistsAsync(partition, c.Row.RowKey, cancellationToken: cancellationToken).ConfigureAwait(false) is { } row
                        && Repriced(price, row, EventPages.Read(row)) is { } change)
                    {
                        fresh.Add(change);
                    }
                }

                pending.RemoveRange(0, chunk.Count);
                pending.InsertRange(0, fresh);
            }
        }
    }

    /// <summary>The stored row with its events priced now; null when no event's price changed.</summary>
    private static RepricedRow? Repriced(Func<UsageEvent, UsageEvent> price, TableEntity row, IReadOnlyList<UsageEvent> stored)
    {
        var now = new UsageEvent[stored.Count];
        var changed = new List<(UsageEvent Old, UsageEvent New)>();
        for (var i = 0; i < stored.Count; i++)
        {
            var old = stored[i];
            var @new = price(Unpriced(old));
            if (old.CostNanos != @new.CostNanos || old.EstimatedCostNanos != @new.EstimatedCostNanos || old.ServerPriced != @new.ServerPriced)
            {
                changed.Add((old, @new));
                now[i] = @new;
            }
            else
            {
                now[i] = old;
            }
        }

        return changed.Count == 0 ? null : new RepricedRow(row, now, changed);
    }

    /// <summary>An event row (a page, or a legacy one-event row) whose events' prices changed: rewritten in its own layout.</summary>
    private sealed record RepricedRow(TableEntity Row, IReadOnlyList<UsageEvent> Events, IReadOnlyList<(UsageEvent Old, UsageEvent New)> Changed)
    {
        public TableEntity Rewritten(string partition) => EventPages.IsPage(Row.RowKey)
            ? EventPages.ToEntity(partition, EventPages.PageOf(Row.RowKey), [.. Events.Select(PageEntry.Of)])
            : EventPages.ToLegacyEntity(partition, Events[0]);
    }

    /// <summary>The event as the client sent it: its own cost if it sent one, no server figures.</summary>
    private static UsageEvent Unpriced(UsageEvent e) =>
        e with { CostNanos = e.ServerPriced ? null : e.CostNanos, EstimatedCostNanos = null, ServerPriced = false };

    private sealed class Tally
    {
        public long Examined;
        public long Changed;
        public long NewlyPriced;
        public long NewlyUnpriced;
        public long CostDelta;
        public long EstimateDelta;
        public readonly Dictionary<string, (long Events, long Cost, long Estimate)> Models = new(StringComparer.Ordinal);

        public void Count(UsageEvent old, UsageEvent @new)
        {
            Changed++;
            NewlyPriced += old.CostNanos is null && @new.CostNanos is not null ? 1 : 0;
            NewlyUnpriced += old.CostNanos is not null && @new.CostNanos is null ? 1 : 0;
            var cost = (@new.CostNanos ?? 0) - (old.CostNanos ?? 0);
            var estimate = (@new.EstimatedCostNanos ?? 0) - (old.EstimatedCostNanos ?? 0);
            CostDelta += cost;
            EstimateDelta += estimate;
            var model = ModelNames.Normalize(@new.Model);
            var (events, c, e) = Models.GetValueOrDefault(model);
            Models[model] = (events + 1, c + cost, e + estimate);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Re-pricing workspace {WorkspaceId} from {From} to {To}")]
    private static partial void LogStarted(ILogger logger, string workspaceId, DateOnly from, DateOnly to);

    [LoggerMessage(Level = LogLevel.Information, Message = "Re-pricing workspace {WorkspaceId}: day {Day} done, {Changed} events changed")]
    private static partial void LogDay(ILogger logger, string workspaceId, DateOnly day, long changed);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Re-pricing partition {PartitionKey}: rows changed under us (attempt {Attempt}); re-reading")]
    private static partial void LogConflict(ILogger logger, string partitionKey, int attempt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Re-pricing workspace {WorkspaceId} finished: {Examined} events examined, {Changed} changed, cost moved by {CostDeltaUsd} USD")]
    private static partial void LogFinished(ILogger logger, string workspaceId, long examined, long changed, decimal costDeltaUsd);
}
