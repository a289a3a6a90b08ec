using System.Text;
using System.Text.Json;
using AgentSpend.Core.Domain;
using Azure;
using Azure.Data.Tables;

namespace AgentSpend.Core.Aggregation;

/// <summary>
/// Everything counted for one workspace-day partition: the total, UTC hours, and each dimension's values.
/// Stored as one or more bucket rows. Row 0 holds the total and the hours and changes with every
/// event, so its ETag serialises all writers of the day. Dimension values fill rows in order of first
/// appearance and never move, so a write touches only the rows whose values changed.
/// </summary>
public sealed class DailyBucket
{
    /// <summary>Characters of dimension data one row holds before values spill into the next row.</summary>
    internal const int RowDataBudget = 240_000;

    private const int ChunkChars = 30_000; // Azure's string property limit is 32 K characters.

    // Worst case per entry: quotes, colon, brackets, commas, and 20 characters per counter. With the
    // key's escaped length this bounds a row at RowDataBudget characters, well under Azure's 1 MiB entity.
    private const int EntryOverhead = 8 + (UsageCounters.FieldCount * 21);

    internal static int EntrySize(string key) => JsonEncodedText.Encode(key).EncodedUtf8Bytes.Length + EntryOverhead;

    private readonly List<BucketRow> _rows;

    // Session ledgers of this day read so far; null marks one known not to exist yet.
    private readonly Dictionary<string, SessionLedger?> _ledgers = new(StringComparer.Ordinal);

    private DailyBucket(string partitionKey, List<BucketRow> rows)
    {
        PartitionKey = partitionKey;
        _rows = rows;
    }

    public string PartitionKey { get; }

    public UsageCounters Total => _rows[0].Total;

    public IReadOnlyDictionary<string, UsageCounters> Hours => _rows[0].Hours;

    public int RowCount => _rows.Count;

    public static DailyBucket Empty(string partitionKey) => new(partitionKey, [new BucketRow(0, null)]);

    /// <summary>Merged values of one dimension across all rows.</summary>
    public IEnumerable<KeyValuePair<string, UsageCounters>> Values(Dimension dimension) =>
        _rows.SelectMany(r => r.Dimensions.TryGetValue(dimension, out var map) ? map : []);

    /// <summary>Reads the session ledgers that <paramref name="events"/> take part in and this bucket does not hold yet.</summary>
    public async Task LoadLedgersAsync(Storage.ITableStore table, IEnumerable<UsageEvent> events, CancellationToken cancellationToken)
    {
        var missing = events
            .Where(e => e.Ledger is not null)
            .Select(e => SessionLedger.KeyOf(e))
            .Distinct()
            .Select(k => SessionLedger.RowKeyOf(PartitionKey, k.Session, k.Model))
            .Where(rowKey => !_ledgers.ContainsKey(rowKey))
            .ToArray();
        var rows = await Task.WhenAll(missing.Select(rowKey => table.GetIfExistsAsync(PartitionKey, rowKey, cancellationToken: cancellationToken))).ConfigureAwait(false);
        for (var i = 0; i < missing.Length; i++)
        {
            _ledgers[missing[i]] = rows[i] is { } row ? SessionLedger.FromEntity(row) : null;
        }
    }

    /// <summary>
    /// Applies events to a copy of the rows they touch and returns the changed rows, each with the ETag
    /// it must still have (null: the row is new). Leaves this bucket unchanged. The session ledgers of the
    /// events must have been loaded (<see cref="LoadLedgersAsync"/>).
    /// </summary>
    public BucketChanges Apply(IReadOnlyCollection<UsageEvent> events) =>
        Change(events, e => e, (e, ledgerOf) => e.Ledger is null ? UsageCounters.Of(e) : ledgerOf(e).Count(e));

    /// <summary>
    /// Changes what counted events contribute, from what their old prices gave to what their new ones give,
    /// on a copy of the rows (like <see cref="Apply"/>). Only cost fields and the priced/unpriced counts move.
    /// </summary>
    public BucketChanges Reprice(IReadOnlyCollection<(UsageEvent Old, UsageEvent New)> events) =>
        Change(events, pair => pair.New, (pair, ledgerOf) =>
        {
            var (old, @new) = pair;
            var delta = UsageCounters.Of(@new).Minus(UsageCounters.Of(old));
            if (@new.Ledger is not { } role)
            {
                return delta;
            }

            var reconciled = ledgerOf(@new).Adjust(role, delta.CostNanos, delta.EstimatedCostNanos);
            return role == LedgerRole.Metric
                ? reconciled
                : new UsageCounters
                {
                    CostNanos = reconciled.CostNanos,
                    EstimatedCostNanos = reconciled.EstimatedCostNanos,
                    UnpricedEvents = delta.UnpricedEvents,
                    ServerPricedEvents = delta.ServerPricedEvents,
                };
        });

    private BucketChanges Change<T>(IReadOnlyCollection<T> items, Func<T, UsageEvent> eventOf, Func<T, Func<UsageEvent, SessionLedger>, UsageCounters> count)
    {
        var changed = new Dictionary<int, BucketRow>();
        BucketRow Writable(int index)
        {
            if (!changed.TryGetValue(index, out var row))
            {
                row = index < _rows.Count ? _rows[index].Clone() : new BucketRow(index, null);
                changed[index] = row;
            }

            return row;
        }

        var ledgers = new Dictionary<string, SessionLedger>(StringComparer.Ordinal);
        SessionLedger WritableLedger(UsageEvent e)
        {
            var (session, model) = SessionLedger.KeyOf(e);
            var rowKey = SessionLedger.RowKeyOf(PartitionKey, session, model);
            if (!ledgers.TryGetValue(rowKey, out var ledger))
            {
                if (!_ledgers.TryGetValue(rowKey, out var stored))
                {
                    throw new InvalidOperationException($"The session ledger {rowKey} of partition '{PartitionKey}' was not loaded before Apply.");
                }

                ledgers[rowKey] = ledger = stored?.Clone() ?? SessionLedger.New(PartitionKey, session, model);
            }

            return ledger;
        }

        var homes = BuildHomeIndex();
        var lastIndex = _rows.Count - 1;
        var lastSize = _rows[lastIndex].DataSize;
        foreach (var item in items)
        {
            var e = eventOf(item);
            var counted = count(item, WritableLedger);
            var head = Writable(0);
            head.Total.Add(counted);
            head.HourCounters(HourKey(e.Timestamp)).Add(counted);

            foreach (var dimension in DimensionExtensions.All)
            {
                var value = dimension.ValueOf(e);
                if (!homes.TryGetValue((dimension, value), out var home))
                {
                    var size = EntrySize(value);
                    if (lastSize + size > RowDataBudget && lastSize > 0)
                    {
                        lastIndex++;
                        lastSize = 0;
                    }

                    home = lastIndex;
                    lastSize += size;
                    homes[(dimension, value)] = home;
                }

                Writable(home).Counters(dimension, value).Add(counted);
            }
        }

        if (lastIndex + 1 > _rows.Count)
        {
            Writable(0).RowCount = lastIndex + 1;
        }

        return new BucketChanges(changed.Values.OrderBy(r => r.Index).ToArray(), ledgers.Values.ToArray());
    }

    /// <summary>Adopts rows that were written, with the ETags the service gave them (bucket rows first, then ledgers).</summary>
    public void Commit(BucketChanges changes, IReadOnlyList<ETag> etags)
    {
        var written = changes.Rows;
        for (var i = 0; i < changes.Ledgers.Count; i++)
        {
            var ledger = changes.Ledgers[i];
            ledger.ETag = etags[written.Count + i];
            _ledgers[ledger.RowKey] = ledger;
        }

        for (var i = 0; i < written.Count; i++)
        {
            var row = written[i];
            row.ETag = etags[i];
            if (row.Index < _rows.Count)
            {
                _rows[row.Index] = row;
            }
            else
            {
                _rows.Add(row);
            }
        }
    }

    public static string HourKey(DateTimeOffset timestamp) =>
        timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH", System.Globalization.CultureInfo.InvariantCulture);

    public static async Task<DailyBucket> LoadAsync(Storage.ITableStore table, string partitionKey, CancellationToken cancellationToken)
    {
        var head = await table.GetIfExistsAsync(partitionKey, UsageTableKeys.BucketRow(partitionKey, 0), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (head is null)
        {
            return Empty(partitionKey);
        }

        var rows = new List<BucketRow> { BucketRow.FromEntity(head) };
        var rowCount = rows[0].RowCount;
        if (rowCount > 1)
        {
            var rest = await Task.WhenAll(Enumerable.Range(1, rowCount - 1).Select(i =>
                table.GetIfExistsAsync(partitionKey, UsageTableKeys.BucketRow(partitionKey, i), cancellationToken: cancellationToken))).ConfigureAwait(false);
            rows.AddRange(rest.Select((entity, i) => entity is null
                ? throw new InvalidDataException($"Bucket row {i + 1} of partition '{partitionKey}' is missing although row 0 counts {rowCount} rows.")
                : BucketRow.FromEntity(entity)));
        }

        return new DailyBucket(partitionKey, rows);
    }

    private Dictionary<(Dimension, string), int> BuildHomeIndex()
    {
        var homes = new Dictionary<(Dimension, string), int>();
        foreach (var row in _rows)
        {
            foreach (var (dimension, map) in row.Dimensions)
            {
                foreach (var key in map.Keys)
                {
                    homes[(dimension, key)] = row.Index;
                }
            }
        }

        return homes;
    }

    /// <summary>One stored row of a daily bucket.</summary>
    public sealed class BucketRow(int index, ETag? etag)
    {
        public int Index { get; } = index;

        public ETag? ETag { get; internal set; } = etag;

        /// <summary>Row 0 only: how many rows the bucket has.</summary>
        public int RowCount { get; internal set; } = 1;

        public UsageCounters Total { get; private init; } = new();

        public Dictionary<string, UsageCounters> Hours { get; private init; } = new(StringComparer.Ordinal);

        public Dictionary<Dimension, Dictionary<string, UsageCounters>> Dimensions { get; private init; } = [];

        internal int DataSize => Dimensions.Values.Sum(m => m.Sum(kv => EntrySize(kv.Key)));

        internal UsageCounters HourCounters(string hour) =>
            Hours.TryGetValue(hour, out var counters) ? counters : Hours[hour] = new UsageCounters();

        internal UsageCounters Counters(Dimension dimension, string value)
        {
            if (!Dimensions.TryGetValue(dimension, out var map))
            {
                Dimensions[dimension] = map = new Dictionary<string, UsageCounters>(StringComparer.Ordinal);
            }

            return map.TryGetValue(value, out var counters) ? counters : map[value] = new UsageCounters();
        }

        internal BucketRow Clone() => new(Index, ETag)
        {
            RowCount = RowCount,
            Total = Total.Clone(),
            Hours = Hours.ToDictionary(kv => kv.Key, kv => kv.Value.Clone(), StringComparer.Ordinal),
            Dimensions = Dimensions.ToDictionary(
                d => d.Key,
                d => d.Value.ToDictionary(kv => kv.Key, kv => kv.Value.Clone(), StringComparer.Ordinal)),
        };

        public TableEntity ToEntity(string partitionKey)
        {
            var entity = new TableEntity(partitionKey, UsageTableKeys.BucketRow(partitionKey, Index));
            if (Index == 0)
            {
                entity["Rows"] = RowCount;
                entity["Total"] = JsonSerializer.Serialize(Total.ToArray(), CoreJsonContext.Default.Int64Array);
                entity["Hours"] = JsonSerializer.Serialize(
                    Hours.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal),
                    CoreJsonContext.Default.DictionaryStringInt64Array);
            }

            var data = JsonSerializer.Serialize(
                Dimensions.ToDictionary(d => d.Key.Name(), d => d.Value.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal)),
                CoreJsonContext.Default.DictionaryStringDictionaryStringInt64Array);
            var chunk = 0;
            for (var start = 0; start < data.Length; start += ChunkChars, chunk++)
            {
                entity[$"D{chunk}"] = data.Substring(start, Math.Min(ChunkChars, data.Length - start));
            }

            entity["Chunks"] = chunk;
            return entity;
        }

        public static BucketRow FromEntity(TableEntity entity)
        {
            var rowKey = entity.RowKey;
            var index = int.Parse(rowKey.AsSpan(rowKey.LastIndexOf('|') + 1), System.Globalization.CultureInfo.InvariantCulture);
            var row = new BucketRow(index, entity.ETag) { RowCount = entity.GetInt32("Rows") ?? 1 };
            if (entity.GetString("Total") is { } total)
            {
                row.Total.Add(UsageCounters.FromArray(JsonSerializer.Deserialize(total, CoreJsonContext.Default.Int64Array)!));
            }

            if (entity.GetString("Hours") is { } hours)
            {
                foreach (var (hour, values) in JsonSerializer.Deserialize(hours, CoreJsonContext.Default.DictionaryStringInt64Array)!)
                {
                    row.Hours[hour] = UsageCounters.FromArray(values);
                }
            }

            var chunks = entity.GetInt32("Chunks") ?? 0;
            if (chunks > 0)
            {
                var data = new StringBuilder();
                for (var i = 0; i < chunks; i++)
                {
                    data.Append(entity.GetString($"D{i}"));
                }

                var dimensions = JsonSerializer.Deserialize(data.ToString(), CoreJsonContext.Default.DictionaryStringDictionaryStringInt64Array)!;
                foreach (var (name, values) in dimensions)
                {
                    if (!DimensionExtensions.TryParse(name, out var dimension))
                    {
                        continue; // written by a newer version; readers of this version do not know it
                    }

                    row.Dimensions[dimension] = values.ToDictionary(kv => kv.Key, kv => UsageCounters.FromArray(kv.Value), StringComparer.Ordinal);
                }
            }

            return row;
        }
    }
}

/// <summary>The rows one <see cref="DailyBucket.Apply"/> changed: bucket rows and session ledgers.</summary>
public sealed record BucketChanges(IReadOnlyList<DailyBucket.BucketRow> Rows, IReadOnlyList<SessionLedger> Ledgers)
{
    public int Count => Rows.Count + Ledgers.Count;

    /// <summary>The writes, in the order <see cref="DailyBucket.Commit"/> expects their ETags.</summary>
    public IEnumerable<TableTransactionAction> Actions(string partitionKey) =>
        Rows.Select(r => Write(r.ToEntity(partitionKey), r.ETag)).Concat(Ledgers.Select(l => Write(l.ToEntity(partitionKey), l.ETag)));

    private static TableTransactionAction Write(TableEntity entity, ETag? etag) => etag is { } match
        ? new TableTransactionAction(TableTransactionActionType.UpdateReplace, entity, match)
        : new TableTransactionAction(TableTransactionActionType.Add, entity);
}
