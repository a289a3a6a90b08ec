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

    // Worst case per entry: quotes, colon, brackets, commas, and 20 characters per counter. With the
    // key's escaped length this bounds a row at RowDataBudget characters, well under Azure's 1 MiB entity.
    private const int EntryOverhead = 8 + (UsageCounters.FieldCount * 21);

    internal static int EntrySize(string key) => JsonEncodedText.Encode(key).EncodedUtf8Bytes.Length + EntryOverhead;

    /// <summary>Characters of slice data one slice row holds: small, because a write replaces whole rows.</summary>
    internal const int SliceRowDataBudget = 2 * Storage.ChunkedText.ChunkChars;

    private readonly List<BucketRow> _rows;

    // Null when the bucket was read without its slices (enough for unfiltered metrics, not for writing).
    private readonly List<SliceRow>? _sliceRows;

    // Every session ledger and run day of the day, once loaded for writing (LoadForWritingAsync).
    private readonly Dictionary<string, SessionLedger> _ledgers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Runs.RunDay> _runs = new(StringComparer.Ordinal);
    private bool _ledgersComplete;
    private Dictionary<(Dimension, string), int>? _homeIndex;
    private Dictionary<UsageSlice, int>? _sliceHomeIndex;

    private DailyBucket(string partitionKey, List<BucketRow> rows, List<SliceRow>? sliceRows)
    {
        PartitionKey = partitionKey;
        _rows = rows;
        _sliceRows = sliceRows;
    }

    public string PartitionKey { get; }

    public UsageCounters Total => _rows[0].Total;

    public IReadOnlyDictionary<string, UsageCounters> Hours => _rows[0].Hours;

    public int RowCount => _rows.Count;

    /// <summary>The events counted in the day, when read for writing with them (see <see cref="LoadForWritingAsync"/>).</summary>
    public CountedEventSet? Counted { get; private set; }

    /// <summary>
    /// The number the next event page takes: after the last that row 0 names and the last this writer read (a retention
    /// run that deleted the bucket rows but not yet the pages leaves row 0 without the number).
    /// </summary>
    public long NextPage => Math.Max(_rows[0].LastPage ?? 0, Counted?.Through ?? 0) + 1;

    /// <summary>A day with nothing stored: no buckets, slices, run days or ledgers.</summary>
    public static DailyBucket Empty(string partitionKey) => new(partitionKey, [new BucketRow(0, null)], []) { _ledgersComplete = true };

    /// <summary>
    /// Reads the bucket and slice rows again after another writer changed them, keeping the run days and ledgers
    /// this bucket holds: a stale one among those fails its own ETag check, and then the whole day is read again.
    /// </summary>
    public async Task<DailyBucket> RereadBucketRowsAsync(Storage.ITableStore table, CancellationToken cancellationToken)
    {
        var fresh = await LoadAsync(table, PartitionKey, cancellationToken).ConfigureAwait(false);
        await fresh.ReadCountedAsync(table, Counted, cancellationToken).ConfigureAwait(false);
        foreach (var (key, run) in _runs)
        {
            fresh._runs[key] = run;
        }

        foreach (var (key, ledger) in _ledgers)
        {
            fresh._ledgers[key] = ledger;
        }

        fresh._ledgersComplete = _ledgersComplete;
        return fresh;
    }

    /// <summary>Reads everything a writer of the day changes: bucket rows, slice rows, run days and session ledgers.</summary>
    /// <param name="counted">
    /// What a writer already knows of the day's counted events, brought up to date instead of read afresh; null to read
    /// them all; <see cref="CountedEventSet.Empty"/> with <paramref name="readCounted"/> false for a writer that adds no events.
    /// </param>
    public static async Task<DailyBucket> LoadForWritingAsync(
        Storage.ITableStore table, string partitionKey, CancellationToken cancellationToken, CountedEventSet? counted = null, bool readCounted = true)
    {
        // Read even for a day without bucket rows: a retention run may have left its run days and ledgers behind.
        // Row 0 first: the pages read after it are at least those it names.
        var bucket = await LoadAsync(table, partitionKey, cancellationToken).ConfigureAwait(false);
        await Task.WhenAll(
            bucket.LoadLedgersAsync(table, cancellationToken),
            readCounted ? bucket.ReadCountedAsync(table, counted, cancellationToken) : Task.CompletedTask).ConfigureAwait(false);
        return bucket;
    }

    private async Task ReadCountedAsync(Storage.ITableStore table, CountedEventSet? known, CancellationToken cancellationToken)
    {
        // A row 0 without a page number, but with an ETag, was written by a version before pages: its events are in
        // rows of their own, which only a full read finds.
        if (known is null || (_rows[0].ETag is not null && _rows[0].LastPage is null))
        {
            Counted = await CountedEventSet.LoadAsync(table, PartitionKey, cancellationToken).ConfigureAwait(false);
            return;
        }

        await known.CatchUpAsync(table, PartitionKey, cancellationToken).ConfigureAwait(false);
        Counted = known;
    }

    /// <summary>Counters of every slice of the day (see <see cref="UsageSlice"/>); needs a bucket read with its slices.</summary>
    public IEnumerable<KeyValuePair<UsageSlice, UsageCounters>> Slices =>
        (_sliceRows ?? throw new InvalidOperationException($"The bucket of partition '{PartitionKey}' was read without its slices.")).SelectMany(r => r.Entries);

    /// <summary>Merged values of one dimension across all rows.</summary>
    public IEnumerable<KeyValuePair<string, UsageCounters>> Values(Dimension dimension) =>
        _rows.SelectMany(r => r.Dimensions.TryGetValue(dimension, out var map) ? map : []);

    /// <summary>
    /// Reads every run day and session ledger of the day: a writer then knows that one it does not hold does
    /// not exist (or was written since by another writer, whose transaction makes ours fail and re-read). A
    /// page of a range query brings up to 1,000 of them, where reading each on first use cost a request apiece.
    /// </summary>
    private async Task LoadLedgersAsync(Storage.ITableStore table, CancellationToken cancellationToken)
    {
        var runPrefix = Runs.RunDay.RowKeyOf(PartitionKey, "");
        var runs = Azure.Data.Tables.TableClient.CreateQueryFilter(
            $"PartitionKey eq {PartitionKey} and RowKey ge {runPrefix} and RowKey lt {runPrefix[..^1] + "}"}");
        var ledgers = Azure.Data.Tables.TableClient.CreateQueryFilter(
            $"PartitionKey eq {PartitionKey} and RowKey ge {SessionLedger.RowPrefix} and RowKey lt {SessionLedger.RowPrefix[..^1] + "}"}");
        await Task.WhenAll(
            ReadAllAsync(runs, row => _runs[row.RowKey] = Runs.RunDay.FromEntity(row)),
            ReadAllAsync(ledgers, row => _ledgers[row.RowKey] = SessionLedger.FromEntity(row))).ConfigureAwait(false);
        _ledgersComplete = true;

        async Task ReadAllAsync(string filter, Action<Azure.Data.Tables.TableEntity> add)
        {
            await foreach (var row in table.QueryAsync(filter, pageSize: 1000, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                add(row);
            }
        }
    }

    /// <summary>
    /// Applies events to a copy of the rows they touch and returns the changed rows, each with the ETag
    /// it must still have (null: the row is new). Leaves this bucket unchanged. The bucket must have been
    /// read for writing (<see cref="LoadForWritingAsync"/>).
    /// </summary>
    public BucketChanges Apply(IReadOnlyCollection<UsageEvent> events) =>
        Change(events, e => e, (e, ledgerOf) =>
        {
            if (e.Ledger is null)
            {
                return UsageCounters.Of(e);
            }

            var counted = ledgerOf(e).Count(e);
            counted.LastEventAtMs = e.Timestamp.ToUnixTimeMilliseconds();
            return counted;
        });

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
                ledgers[rowKey] = ledger = _ledgers.GetValueOrDefault(rowKey)?.Clone() ?? SessionLedger.New(PartitionKey, session, model);
            }

            return ledger;
        }

        var sliceRows = _sliceRows is not null && _ledgersComplete
            ? _sliceRows
            : throw new InvalidOperationException($"The bucket of partition '{PartitionKey}' was read for metrics, not for writing (see LoadForWritingAsync).");
        var changedSlices = new Dictionary<int, SliceRow>();
        SliceRow WritableSlice(int index)
        {
            if (!changedSlices.TryGetValue(index, out var row))
            {
                row = index < sliceRows.Count ? sliceRows[index].Clone() : new SliceRow(index, null);
                changedSlices[index] = row;
            }

            return row;
        }

        var storedSliceHomes = SliceHomeIndex();
        var sliceHomes = new Dictionary<UsageSlice, int>();

        var lastSlice = sliceRows.Count - 1;
        var lastSliceSize = lastSlice < 0 ? 0 : sliceRows[lastSlice].DataSize;

        var runs = new Dictionary<string, Runs.RunDay>(StringComparer.Ordinal);
        Runs.RunDay WritableRun(UsageEvent e, Runs.RunKind kind, string id)
        {
            var rowKey = Runs.RunDay.RowKeyOf(PartitionKey, Runs.RunKinds.Hash(e.WorkspaceId, kind, id));
            if (!runs.TryGetValue(rowKey, out var run))
            {
                runs[rowKey] = run = _runs.GetValueOrDefault(rowKey)?.Clone() ?? Runs.RunDay.New(PartitionKey, e.WorkspaceId, kind, id);
            }

            return run;
        }

        var storedHomes = HomeIndex();
        var homes = new Dictionary<(Dimension, string), int>();
        var lastIndex = _rows.Count - 1;
        var lastSize = _rows[lastIndex].DataSize;
        foreach (var item in items)
        {
            var e = eventOf(item);
            var counted = count(item, WritableLedger);
            var head = Writable(0);
            head.Total.Add(counted);
            head.HourCounters(HourKey(e.Timestamp)).Add(counted);

            var eventSlice = UsageSlice.Of(e);
            if (!storedSliceHomes.TryGetValue(eventSlice, out var sliceHome) && !sliceHomes.TryGetValue(eventSlice, out sliceHome))
            {
                var size = eventSlice.StoredSize();
                if (lastSlice < 0 || (lastSliceSize + size > SliceRowDataBudget && lastSliceSize > 0))
                {
                    lastSlice++;
                    lastSliceSize = 0;
                }

                sliceHome = lastSlice;
                lastSliceSize += size;
                sliceHomes[eventSlice] = sliceHome;
            }

            WritableSlice(sliceHome).Counters(eventSlice).Add(counted);
            foreach (var (kind, id) in Runs.RunKinds.Of(e))
            {
                WritableRun(e, kind, id).Add(e, counted);
            }

            foreach (var dimension in DimensionExtensions.All)
            {
                var value = dimension.ValueOf(e);
                if (!storedHomes.TryGetValue((dimension, value), out var home) && !homes.TryGetValue((dimension, value), out home))
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

        if (lastSlice + 1 > sliceRows.Count)
        {
            Writable(0).SliceRowCount = lastSlice + 1;
        }

        return new BucketChanges(
            changed.Values.OrderBy(r => r.Index).ToArray(),
            ledgers.Values.ToArray(),
            changedSlices.Values.OrderBy(r => r.Index).ToArray())
        {
            Runs = runs.Values.ToArray(),
        };
    }

    /// <summary>Adopts rows that were written, with the ETags the service gave them (bucket rows, slice rows, ledgers, then run days).</summary>
    public void Commit(BucketChanges changes, IReadOnlyList<ETag> etags)
    {
        var written = changes.Rows;
        var slices = changes.SliceRows;
        for (var i = 0; i < changes.Runs.Count; i++)
        {
            var run = changes.Runs[i];
            run.ETag = etags[written.Count + slices.Count + changes.Ledgers.Count + i];
            _runs[run.RowKey] = run;
        }

        for (var i = 0; i < changes.Ledgers.Count; i++)
        {
            var ledger = changes.Ledgers[i];
            ledger.ETag = etags[written.Count + slices.Count + i];
            _ledgers[ledger.RowKey] = ledger;
        }

        var sliceRows = _sliceRows!;
        for (var i = 0; i < slices.Count; i++)
        {
            var row = slices[i];
            row.ETag = etags[written.Count + i];
            if (_sliceHomeIndex is not null)
            {
                IndexSliceHomes(row);
            }

            if (row.Index < sliceRows.Count)
            {
                sliceRows[row.Index] = row;
            }
            else
            {
                sliceRows.Add(row);
            }
        }

        for (var i = 0; i < written.Count; i++)
        {
            var row = written[i];
            row.ETag = etags[i];
            if (_homeIndex is not null)
            {
                IndexHomes(row);
            }

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

    /// <summary>
    /// Reads a day's bucket rows, and with <paramref name="withSlices"/> its slice rows too: writers and
    /// filtered metrics need them, unfiltered metrics do not.
    /// </summary>
    public static async Task<DailyBucket> LoadAsync(Storage.ITableStore table, string partitionKey, CancellationToken cancellationToken, bool withSlices = true)
    {
        var head = await table.GetIfExistsAsync(partitionKey, UsageTableKeys.BucketRow(partitionKey, 0), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (head is null)
        {
            return new DailyBucket(partitionKey, [new BucketRow(0, null)], withSlices ? [] : null);
        }

        var rows = new List<BucketRow> { BucketRow.FromEntity(head) };
        var rowCount = rows[0].RowCount;
        if (rowCount > 1)
        {
            var rest = await Storage.RowRanges.ReadAsync(table, partitionKey, [.. Enumerable.Range(1, rowCount - 1).Select(i => UsageTableKeys.BucketRow(partitionKey, i))], cancellationToken).ConfigureAwait(false);
            rows.AddRange(rest.Select((entity, i) => entity is null
                ? throw new InvalidDataException($"Bucket row {i + 1} of partition '{partitionKey}' is missing although row 0 counts {rowCount} rows.")
                : BucketRow.FromEntity(entity)));
        }

        List<SliceRow>? sliceRows = null;
        if (withSlices)
        {
            var sliceCount = rows[0].SliceRowCount;
            var stored = await Storage.RowRanges.ReadAsync(table, partitionKey, [.. Enumerable.Range(0, sliceCount).Select(i => UsageTableKeys.SliceRow(partitionKey, i))], cancellationToken).ConfigureAwait(false);
            sliceRows = stored.Select((entity, i) => entity is null
                ? throw new InvalidDataException($"Slice row {i} of partition '{partitionKey}' is missing although row 0 counts {sliceCount} slice rows.")
                : SliceRow.FromEntity(entity)).ToList();
        }

        return new DailyBucket(partitionKey, rows, sliceRows);
    }

    // Where each stored dimension value and slice lives, kept between Apply calls and brought up to date by Commit:
    // rebuilding them for every Apply cost a pass over every value and slice of the day.
    private Dictionary<(Dimension, string), int> HomeIndex()
    {
        if (_homeIndex is null)
        {
            _homeIndex = [];
            foreach (var row in _rows)
            {
                IndexHomes(row);
            }
        }

        return _homeIndex;
    }

    private Dictionary<UsageSlice, int> SliceHomeIndex()
    {
        if (_sliceHomeIndex is null)
        {
            _sliceHomeIndex = [];
            foreach (var row in _sliceRows ?? [])
            {
                IndexSliceHomes(row);
            }
        }

        return _sliceHomeIndex;
    }

    private void IndexHomes(BucketRow row)
    {
        foreach (var (dimension, map) in row.Dimensions)
        {
            foreach (var key in map.Keys)
            {
                _homeIndex![(dimension, key)] = row.Index;
            }
        }
    }

    private void IndexSliceHomes(SliceRow row)
    {
        foreach (var slice in row.Entries.Keys)
        {
            _sliceHomeIndex![slice] = row.Index;
        }
    }

    /// <summary>One stored row of a daily bucket.</summary>
    public sealed class BucketRow(int index, ETag? etag)
    {
        public int Index { get; } = index;

        public ETag? ETag { get; internal set; } = etag;

        /// <summary>Row 0 only: how many rows the bucket has.</summary>
        public int RowCount { get; internal set; } = 1;

        /// <summary>Row 0 only: the last event page written (see <see cref="EventPages"/>); null before any, or when a version before pages wrote the row.</summary>
        public long? LastPage { get; set; }

        /// <summary>Row 0 only: how many slice rows the day has.</summary>
        public int SliceRowCount { get; internal set; }

        public UsageCounters Total { get; private init; } = new();

        public Dictionary<string, UsageCounters> Hours { get; private init; } = new(StringComparer.Ordinal);

        public Dictionary<Dimension, Dictionary<string, UsageCounters>> Dimensions { get; private init; } = [];

        // Kept up to date as values are added (see Counters), so that Apply need not measure the row again.
        private int _dataSize = -1;

        internal int DataSize => _dataSize >= 0 ? _dataSize : _dataSize = Dimensions.Values.Sum(m => m.Sum(kv => EntrySize(kv.Key)));

        internal UsageCounters HourCounters(string hour) =>
            Hours.TryGetValue(hour, out var counters) ? counters : Hours[hour] = new UsageCounters();

        internal UsageCounters Counters(Dimension dimension, string value)
        {
            if (!Dimensions.TryGetValue(dimension, out var map))
            {
                Dimensions[dimension] = map = new Dictionary<string, UsageCounters>(StringComparer.Ordinal);
            }

            if (map.TryGetValue(value, out var counters))
            {
                return counters;
            }

            if (_dataSize >= 0)
            {
                _dataSize += EntrySize(value);
            }

            return map[value] = new UsageCounters();
        }

        internal BucketRow Clone() => new(Index, ETag)
        {
            _dataSize = _dataSize,
            RowCount = RowCount,
            SliceRowCount = SliceRowCount,
            LastPage = LastPage,
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
                entity["SliceRows"] = SliceRowCount;
                if (LastPage is { } lastPage)
                {
                    entity["Pages"] = lastPage;
                }
                entity["Total"] = JsonSerializer.Serialize(Total.ToArray(), CoreJsonContext.Default.Int64Array);
                entity["Hours"] = JsonSerializer.Serialize(
                    Hours.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal),
                    CoreJsonContext.Default.DictionaryStringInt64Array);
            }

            var data = JsonSerializer.Serialize(
                Dimensions.ToDictionary(d => d.Key.Name(), d => d.Value.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal)),
                CoreJsonContext.Default.DictionaryStringDictionaryStringInt64Array);
            Storage.ChunkedText.Write(entity, data);
            return entity;
        }

        public static BucketRow FromEntity(TableEntity entity)
        {
            var rowKey = entity.RowKey;
            var index = int.Parse(rowKey.AsSpan(rowKey.LastIndexOf('|') + 1), System.Globalization.CultureInfo.InvariantCulture);
            var row = new BucketRow(index, entity.ETag) { RowCount = entity.GetInt32("Rows") ?? 1, SliceRowCount = entity.GetInt32("SliceRows") ?? 0, LastPage = entity.GetInt64("Pages") };
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

            if (Storage.ChunkedText.Read(entity) is { Length: > 0 } data)
            {
                var dimensions = JsonSerializer.Deserialize(data, CoreJsonContext.Default.DictionaryStringDictionaryStringInt64Array)!;
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

    /// <summary>One stored row of a day's slices: entries in order of first appearance.</summary>
    public sealed class SliceRow(int index, ETag? etag)
    {
        public int Index { get; } = index;

        public ETag? ETag { get; internal set; } = etag;

        public Dictionary<UsageSlice, UsageCounters> Entries { get; private init; } = [];

        private int _dataSize = -1;

        internal int DataSize => _dataSize >= 0 ? _dataSize : _dataSize = Entries.Keys.Sum(s => s.StoredSize());

        internal UsageCounters Counters(UsageSlice slice)
        {
            if (Entries.TryGetValue(slice, out var counters))
            {
                return counters;
            }

            if (_dataSize >= 0)
            {
                _dataSize += slice.StoredSize();
            }

            return Entries[slice] = new UsageCounters();
        }

        internal SliceRow Clone() => new(Index, ETag)
        {
            _dataSize = _dataSize,
            Entries = Entries.ToDictionary(kv => kv.Key, kv => kv.Value.Clone()),
        };

        public TableEntity ToEntity(string partitionKey)
        {
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartArray();
                foreach (var (slice, counters) in Entries)
                {
                    writer.WriteStartArray();
                    slice.WriteTo(writer);
                    writer.WriteStartArray();
                    var values = counters.ToArray();
                    var length = values.Length;
                    while (length > 1 && values[length - 1] == 0)
                    {
                        length--; // trailing zero counters are implied, as for rows written before a counter existed
                    }

                    for (var i = 0; i < length; i++)
                    {
                        writer.WriteNumberValue(values[i]);
                    }

                    writer.WriteEndArray();
                    writer.WriteEndArray();
                }

                writer.WriteEndArray();
            }

            var data = Encoding.UTF8.GetString(buffer.WrittenSpan);
            var entity = new TableEntity(partitionKey, UsageTableKeys.SliceRow(partitionKey, Index));
            Storage.ChunkedText.Write(entity, data);
            return entity;
        }

        public static SliceRow FromEntity(TableEntity entity)
        {
            var rowKey = entity.RowKey;
            var index = int.Parse(rowKey.AsSpan(rowKey.LastIndexOf('|') + 1), System.Globalization.CultureInfo.InvariantCulture);
            var row = new SliceRow(index, entity.ETag);
            if (Storage.ChunkedText.Read(entity) is not { Length: > 0 } data)
            {
                return row;
            }

            using var document = JsonDocument.Parse(data);
            foreach (var entry in document.RootElement.EnumerateArray())
            {
                var counters = new List<long>(UsageCounters.FieldCount);
                foreach (var value in entry[1].EnumerateArray())
                {
                    counters.Add(value.GetInt64());
                }

                row.Entries[UsageSlice.Read(entry[0])] = UsageCounters.FromArray(counters);
            }

            return row;
        }
    }
}

/// <summary>The rows one <see cref="DailyBucket.Apply"/> changed: bucket rows, slice rows, session ledgers and run days.</summary>
public sealed record BucketChanges(IReadOnlyList<DailyBucket.BucketRow> Rows, IReadOnlyList<SessionLedger> Ledgers, IReadOnlyList<DailyBucket.SliceRow> SliceRows)
{
    public IReadOnlyList<Runs.RunDay> Runs { get; init; } = [];

    public int Count => Rows.Count + SliceRows.Count + Ledgers.Count + Runs.Count;

    /// <summary>The writes, in the order <see cref="DailyBucket.Commit"/> expects their ETags.</summary>
    public IEnumerable<TableTransactionAction> Actions(string partitionKey) =>
        Rows.Select(r => Write(r.ToEntity(partitionKey), r.ETag))
            .Concat(SliceRows.Select(r => WriteSlice(r.ToEntity(partitionKey), r.ETag)))
            .Concat(Ledgers.Select(l => Write(l.ToEntity(partitionKey), l.ETag)))
            .Concat(Runs.Select(r => Write(r.ToEntity(partitionKey), r.ETag)));

    // Row 0's ETag already serialises every writer of the day, so a new slice row may replace one that a
    // retention run left behind when it deleted the day's bucket rows first.
    private static TableTransactionAction WriteSlice(TableEntity entity, ETag? etag) => etag is { } match
        ? new TableTransactionAction(TableTransactionActionType.UpdateReplace, entity, match)
        : new TableTransactionAction(TableTransactionActionType.UpsertReplace, entity);

    private static TableTransactionAction Write(TableEntity entity, ETag? etag) => etag is { } match
        ? new TableTransactionAction(TableTransactionActionType.UpdateReplace, entity, match)
        : new TableTransactionAction(TableTransactionActionType.Add, entity);
}
