using System.Globalization;
using System.Text.Json;
using AgentSpend.Core.Aggregation;
using AgentSpend.Core.Domain;
using AgentSpend.Core.Metrics;
using AgentSpend.Core.Runs;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Workspaces;
using Azure.Data.Tables;

namespace AgentSpend.Core.Events;

/// <summary>
/// The stored events of a range, newest first, filtered, page by page. The day buckets (or slices, filtered) say
/// which UTC hours hold matching events, so a page reads only the event rows that span those hours (by their <c>At</c>
/// and <c>Last</c> properties) and skips the empty ones unread. Within an hour, events are ordered by time, then by
/// their identity hash (<see cref="EventPages.OrderKey"/>).
/// </summary>
public sealed class RecentEvents(IStorageProvider storage, MetricsService metrics)
{
    public async Task<EventPage> PageAsync(Workspace workspace, MetricsRange range, MetricsFilter filter, int limit, string? cursor, CancellationToken cancellationToken)
    {
        (long HourMs, long Ticks, string RowKey)? after = cursor is null ? null : Decode(cursor);
        var days = await metrics.LoadAsync(workspace, range, filter, cancellationToken).ConfigureAwait(false);
        var hours = DayUsage.SumHours(days)
            .Where(h => h.Value.Events > 0)
            .Select(h => DateTimeOffset.ParseExact(h.Key, "yyyy-MM-dd'T'HH", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal))
            .Where(h => after is null || h.ToUnixTimeMilliseconds() <= after.Value.HourMs)
            .OrderByDescending(h => h)
            .ToArray();
        var (first, last) = (workspace.StartOfDayUtc(range.From), workspace.StartOfDayUtc(range.To.AddDays(1)));
        var table = storage.GetTable(StorageNames.UsageTable);

        // One more than the page, so that a next page is offered only when there is one.
        var items = new List<(UsageEvent Event, string RowKey, long HourMs)>(limit + 1);
        foreach (var hour in hours)
        {
            var (from, to) = (Max(hour, first), Min(hour.AddHours(1), last));
            var rows = new List<(UsageEvent Event, string RowKey, long HourMs)>();
            foreach (var day in new[] { workspace.LocalDayOf(from), workspace.LocalDayOf(to.AddTicks(-1)) }.Distinct())
            {
                var partition = UsageTableKeys.Partition(workspace.Id, Workspace.FormatDay(day));
                await foreach (var row in table.QueryAsync(EventPages.OverlappingFilter(partition, from, to), cancellationToken: cancellationToken).ConfigureAwait(false))
                {
                    foreach (var e in EventPages.Read(row))
                    {
                        if (e.Timestamp >= from && e.Timestamp < to && filter.Matches(UsageSlice.Of(e)))
                        {
                            rows.Add((e, EventPages.OrderKey(e), hour.ToUnixTimeMilliseconds()));
                        }
                    }
                }
            }

            items.AddRange(rows
                .Where(r => after is null || r.HourMs < after.Value.HourMs || IsAfter(r.Event, r.RowKey, after.Value))
                .OrderByDescending(r => r.Event.Timestamp).ThenBy(r => r.RowKey, StringComparer.Ordinal)
                .Take(limit + 1 - items.Count));
            if (items.Count > limit)
            {
                break;
            }
        }

        var page = items.Take(limit).ToArray();
        var next = items.Count > limit ? Encode(page[^1].HourMs, page[^1].Event.Timestamp.UtcTicks, page[^1].RowKey) : null;
        return new EventPage([.. page.Select(i => EventView.Of(i.Event))], next);
    }

    /// <summary>Newest first, then by row key: whether an event of the cursor's hour comes after the cursor.</summary>
    private static bool IsAfter(UsageEvent e, string rowKey, (long HourMs, long Ticks, string RowKey) cursor) =>
        e.Timestamp.UtcTicks < cursor.Ticks || (e.Timestamp.UtcTicks == cursor.Ticks && string.CompareOrdinal(rowKey, cursor.RowKey) > 0);

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private static string Encode(long hourMs, long ticks, string rowKey) =>
        PageCursor.Encode(hourMs.ToString(CultureInfo.InvariantCulture), ticks.ToString(CultureInfo.InvariantCulture), rowKey);

    private static (long HourMs, long Ticks, string RowKey) Decode(string cursor)
    {
        var parts = PageCursor.Decode(cursor, 3);
        return long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var hour)
            && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
            ? (hour, ticks, parts[2])
            : throw PageCursor.Bad();
    }
}
