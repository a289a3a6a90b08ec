using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using AgentSpend.Core.Domain;
using Azure.Data.Tables;

namespace AgentSpend.Core.Aggregation;

/// <summary>An event on its way into a page: its identity hash and its stored JSON, made once.</summary>
public sealed record PageEntry(UInt128 Hash, UsageEvent Event, string Json)
{
    public static PageEntry Of(UsageEvent e) =>
        new(EventPages.HashOf(e), e, JsonSerializer.Serialize(e, CoreJsonContext.Default.UsageEvent));
}

/// <summary>
/// How a day's counted events are stored: many to a row. A page row <c>e|p|{partition}|{number}</c> holds the events one
/// transaction counted (up to <see cref="PageChars"/> of JSON each), their identity hashes (<c>H</c>, 16 bytes
/// each, what de-duplication reads), and the first and last event time (<c>At</c>, <c>Last</c>, what time-range
/// readers filter by). Page numbers only grow, and row 0 of the day's bucket names the last one written in the
/// same transaction, so a writer catches up on what others counted by reading the pages after the last it knows.
/// <para>
/// Versions before pages stored each event in a row of its own, keyed by its hash (<c>e|{32 hex}</c>), with the
/// event in <c>Event</c>, its time in <c>At</c> and its run and session in <c>Run</c> and <c>Ses</c>. Those rows
/// are still read (they sort before every page) and re-priced in place; none is written any more.
/// </para>
/// </summary>
public static class EventPages
{
    /// <summary>Characters of event JSON a page holds before the next page starts; an event larger than that has a page to itself.</summary>
    public const int PageChars = 60_000;

    /// <summary>The identity hashes of one page fill at most one 64 KiB binary property.</summary>
    public const int MaxEventsPerPage = 4_096;

    public const string PagePrefix = UsageTableKeys.EventRowPrefix + "p";

    public const string HashesProperty = "H";
    public const string FirstAtProperty = "At";
    public const string LastAtProperty = "Last";
    public const string CountProperty = "N";

    /// <summary>Legacy one-event rows: the event's JSON, and its run and session for filters.</summary>
    public const string LegacyEventProperty = "Event";
    public const string LegacyRunProperty = "Run";
    public const string LegacySessionProperty = "Ses";

    /// <summary>Every event row of a partition, pages and legacy rows alike.</summary>
    public const string RangeEnd = "e}";

    /// <summary>
    /// A page's key: unique across the table (Azurite finds rows by RowKey alone), and in page order within its partition.
    /// </summary>
    public static string RowKey(string partitionKey, long page) => $"{PagePrefix}|{partitionKey}|{page.ToString("D10", CultureInfo.InvariantCulture)}";

    public static bool IsPage(string rowKey) => rowKey.StartsWith(PagePrefix, StringComparison.Ordinal);

    public static long PageOf(string rowKey) => long.Parse(rowKey.AsSpan(rowKey.LastIndexOf('|') + 1), NumberStyles.None, CultureInfo.InvariantCulture);

    /// <summary>The event's identity hash: the same 128 bits its legacy row was keyed by.</summary>
    public static UInt128 HashOf(UsageEvent e) => ParseHash(UsageTableKeys.EventRow(e).AsSpan(UsageTableKeys.EventRowPrefix.Length));

    /// <summary>The key that orders events of equal time (the legacy row key): stable across layouts.</summary>
    public static string OrderKey(UsageEvent e) => UsageTableKeys.EventRow(e);

    /// <summary>Splits entries, in order, into pages: by characters of JSON and by count.</summary>
    public static IEnumerable<ArraySegment<PageEntry>> Paginate(IReadOnlyList<PageEntry> entries)
    {
        var all = entries as PageEntry[] ?? [.. entries];
        var start = 0;
        var chars = 0;
        for (var i = 0; i < all.Length; i++)
        {
            var size = all[i].Json.Length + 1;
            if (i > start && (chars + size > PageChars || i - start == MaxEventsPerPage))
            {
                yield return new ArraySegment<PageEntry>(all, start, i - start);
                start = i;
                chars = 0;
            }

            chars += size;
        }

        if (start < all.Length)
        {
            yield return new ArraySegment<PageEntry>(all, start, all.Length - start);
        }
    }

    public static TableEntity ToEntity(string partitionKey, long page, IReadOnlyList<PageEntry> entries)
    {
        var hashes = new byte[entries.Count * 16];
        var json = new StringBuilder(entries.Sum(e => e.Json.Length + 1) + 1).Append('[');
        var (first, last) = (DateTimeOffset.MaxValue, DateTimeOffset.MinValue);
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            BinaryPrimitives.WriteUInt128BigEndian(hashes.AsSpan(i * 16, 16), entry.Hash);
            json.Append(i == 0 ? "" : ",").Append(entry.Json);
            first = entry.Event.Timestamp < first ? entry.Event.Timestamp : first;
            last = entry.Event.Timestamp > last ? entry.Event.Timestamp : last;
        }

        var entity = new TableEntity(partitionKey, RowKey(partitionKey, page))
        {
            [HashesProperty] = hashes,
            [CountProperty] = entries.Count,
            [FirstAtProperty] = first.UtcDateTime,
            [LastAtProperty] = last.UtcDateTime,
        };
        Storage.ChunkedText.Write(entity, json.Append(']').ToString());
        return entity;
    }

    /// <summary>The row of a versions-before-pages event (for tests of the upgrade, and re-pricing such a row in place).</summary>
    public static TableEntity ToLegacyEntity(string partitionKey, UsageEvent e)
    {
        var entity = new TableEntity(partitionKey, UsageTableKeys.EventRow(e))
        {
            [LegacyEventProperty] = JsonSerializer.Serialize(e, CoreJsonContext.Default.UsageEvent),
            [FirstAtProperty] = e.Timestamp.UtcDateTime,
        };
        if (e.RunId is { Length: > 0 } run)
        {
            entity[LegacyRunProperty] = run;
        }

        if (e.SessionId is { Length: > 0 } session)
        {
            entity[LegacySessionProperty] = session;
        }

        return entity;
    }

    /// <summary>The events of a page, or the one event of a legacy row, in stored order.</summary>
    public static IReadOnlyList<UsageEvent> Read(TableEntity row)
    {
        if (!IsPage(row.RowKey))
        {
            return [JsonSerializer.Deserialize(row.GetString(LegacyEventProperty)!, CoreJsonContext.Default.UsageEvent)!];
        }

        return JsonSerializer.Deserialize(Storage.ChunkedText.Read(row), CoreJsonContext.Default.UsageEventArray)!;
    }

    /// <summary>The identity hashes a row holds: a page's <c>H</c>, or a legacy row's key.</summary>
    public static IEnumerable<UInt128> Hashes(TableEntity row)
    {
        if (!IsPage(row.RowKey))
        {
            return [ParseHash(row.RowKey.AsSpan(UsageTableKeys.EventRowPrefix.Length))];
        }

        var bytes = row.GetBinary(HashesProperty) ?? [];
        var hashes = new UInt128[bytes.Length / 16];
        for (var i = 0; i < hashes.Length; i++)
        {
            hashes[i] = BinaryPrimitives.ReadUInt128BigEndian(bytes.AsSpan(i * 16, 16));
        }

        return hashes;
    }

    /// <summary>A filter for the event rows of a partition that may hold events from <paramref name="from"/> (inclusive) to <paramref name="to"/> (exclusive).</summary>
    public static string OverlappingFilter(string partitionKey, DateTimeOffset from, DateTimeOffset to) =>
        TableClient.CreateQueryFilter($"PartitionKey eq {partitionKey} and RowKey ge {UsageTableKeys.EventRowPrefix} and RowKey lt {RangeEnd}")
        + " and " + SpanFilter(from, to);

    /// <summary>The rows' own condition of <see cref="OverlappingFilter"/>: a page spans <c>At</c>..<c>Last</c>; a legacy row has no <c>Last</c>, and a comparison with a missing property is false.</summary>
    public static string SpanFilter(DateTimeOffset from, DateTimeOffset to)
    {
        var (f, t) = (TableClient.CreateQueryFilter($"{from.UtcDateTime}"), TableClient.CreateQueryFilter($"{to.UtcDateTime}"));
        return $"{FirstAtProperty} lt {t} and ({FirstAtProperty} ge {f} or {LastAtProperty} ge {f})";
    }

    private static UInt128 ParseHash(ReadOnlySpan<char> hex) => UInt128.Parse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
}
