using AgentSpend.Core.Aggregation;
using AgentSpend.Core.Domain;
using Azure;

namespace AgentSpend.Core.Tests;

public class DailyBucketTests
{
    private const string Partition = "default|2026-11-22|00";

    private static UsageEvent Event(string agent, string model, long input, long? costNanos, int hour = 10, string? user = null, bool? success = null) => new()
    {
        Id = "s:" + Guid.NewGuid().ToString("N"),
        WorkspaceId = "default",
        Day = "2026-11-22",
        Timestamp = new DateTimeOffset(2026, 11, 22, hour, 0, 0, TimeSpan.Zero),
        Agent = agent,
        Provider = "anthropic",
        Model = model,
        InputTokens = input,
        OutputTokens = 1,
        CostNanos = costNanos,
        UserId = user,
        TaskSuccess = success,
        DurationMs = 100,
    };

    [Fact]
    public void Applying_events_counts_total_hours_and_every_dimension_without_changing_the_bucket()
    {
        var bucket = DailyBucket.Empty(Partition);
        var rows = bucket.Apply([
            Event("a", "m1", 10, 1_000, hour: 9, user: "ana", success: true),
            Event("a", "m2", 20, null, hour: 10, success: false),
            Event("b", "m1", 30, 3_000, hour: 10, user: "ana") with { EstimatedCostNanos = 2_500, ServerPriced = true, BaselineTokens = 90 },
        ]);

        var head = Assert.Single(rows.Rows);
        Assert.Empty(rows.Ledgers); // events outside session reconciliation touch no ledger
        Assert.Null(head.ETag); // new row: inserted, not updated
        Assert.Equal(0, bucket.Total.Events); // Apply works on a copy
        Assert.Equal(0, Assert.Single(rows.SliceRows).Index);
        Assert.Equal(1, head.SliceRowCount);

        bucket.Commit(rows, [new ETag("e1"), new ETag("s1")]);
        var lastAt = new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        Assert.Equal([3L, 60, 3, 0, 0, 0, 4_000, 1, 1, 1, 300, 2_500, 1, 90, 31, lastAt, 0, 0], bucket.Total.ToArray());
        Assert.Equal(1, bucket.Hours["2026-11-22T09"].Events);
        Assert.Equal(2, bucket.Hours["2026-11-22T10"].Events);
        Assert.Equal(new Dictionary<string, long> { ["a"] = 30, ["b"] = 30 }, bucket.Values(Dimension.Agent).ToDictionary(kv => kv.Key, kv => kv.Value.InputTokens));
        Assert.Equal(new Dictionary<string, long> { ["m1"] = 4_000, ["m2"] = 0 }, bucket.Values(Dimension.Model).ToDictionary(kv => kv.Key, kv => kv.Value.CostNanos));
        Assert.Equal(new Dictionary<string, long> { ["ana"] = 2, [""] = 1 }, bucket.Values(Dimension.User).ToDictionary(kv => kv.Key, kv => kv.Value.Events));
    }

    [Fact]
    public void Counters_stored_before_the_pricing_counters_existed_read_as_zero()
    {
        var old = UsageCounters.FromArray([3L, 60, 3, 0, 0, 0, 4_000, 1, 1, 1, 300]);

        Assert.Equal([3L, 60, 3, 0, 0, 0, 4_000, 1, 1, 1, 300, 0, 0, 0, 0, 0, 0, 0], old.ToArray());
    }

    [Fact]
    public void A_row_survives_a_round_trip_through_its_table_entity()
    {
        var bucket = DailyBucket.Empty(Partition);
        var rows = bucket.Apply([Event("a", "m1", 10, 1_000, user: "ana"), Event("b", "m2", 5, null, hour: 23)]).Rows;
        var entity = rows[0].ToEntity(Partition);
        entity.ETag = new ETag("stored");

        var read = DailyBucket.BucketRow.FromEntity(entity);

        Assert.Equal(rows[0].Total.ToArray(), read.Total.ToArray());
        Assert.Equal(rows[0].Hours.Keys.Order(), read.Hours.Keys.Order());
        Assert.Equal(
            rows[0].Dimensions.SelectMany(d => d.Value.Select(v => (d.Key, v.Key, v.Value.Events))).Order(),
            read.Dimensions.SelectMany(d => d.Value.Select(v => (d.Key, v.Key, v.Value.Events))).Order());
        Assert.Equal(new ETag("stored"), read.ETag);
    }

    [Fact]
    public void Values_beyond_a_rows_budget_spill_into_further_rows_and_later_writes_touch_only_their_rows()
    {
        var bucket = DailyBucket.Empty(Partition);
        var agents = Enumerable.Range(0, 4000).Select(i => Event($"agent-with-a-rather-long-name-{i:D5}", "m", 1, 1)).ToArray();

        var changes = bucket.Apply(agents);
        var rows = changes.Rows;
        Assert.True(rows.Count >= 3, $"expected spill-over rows, got {rows.Count}");
        Assert.Equal(rows.Count, rows[0].RowCount);
        Assert.All(rows, r => Assert.All(Enumerable.Range(0, 8), i => Assert.True(!r.ToEntity(Partition).TryGetValue($"D{i}", out var chunk) || ((string)chunk).Length <= 30_000)));
        bucket.Commit(changes, Enumerable.Range(0, changes.Count).Select(i => new ETag($"e{i}")).ToArray());

        // An agent that lives in the last row: the next write changes row 0 (totals) and that row only.
        var last = rows[^1].Dimensions[Dimension.Agent].Keys.First();
        var next = bucket.Apply([Event(last, "m", 1, 1)]);
        Assert.Equal([0, rows.Count - 1], next.Rows.Select(r => r.Index));
        Assert.Equal(4000, bucket.Values(Dimension.Agent).Count());
        Assert.Single(next.SliceRows); // the agent's slice, wherever it lives
    }

    [Fact]
    public void Slices_count_each_combination_of_hour_and_coordinates_and_survive_a_round_trip()
    {
        var bucket = DailyBucket.Empty(Partition);
        var tagged = Event("a", "m1", 10, 1_000, hour: 9, user: "ana") with { Tags = new Dictionary<string, string> { ["repo"] = "acme/api", ["env"] = "prod" }, Team = "core" };
        var changes = bucket.Apply([tagged, tagged with { Id = "s:2", InputTokens = 5 }, Event("a", "m1", 7, 2_000, hour: 10, user: "ana"), Event("b", "m2", 1, null, hour: 9)]);
        bucket.Commit(changes, Enumerable.Range(0, changes.Count).Select(i => new ETag($"e{i}")).ToArray());

        var slices = bucket.Slices.ToArray();
        Assert.Equal(3, slices.Length);
        var first = slices.Single(s => s.Key.Tag("env") == "prod");
        Assert.Equal(("2026-11-22T09", "a", "m1", "ana", "core", "acme/api", 2L, 15L, 2_000L),
            (first.Key.Hour, first.Key.ValueOf(Dimension.Agent), first.Key.ValueOf(Dimension.Model), first.Key.ValueOf(Dimension.User), first.Key.ValueOf(Dimension.Team), first.Key.ValueOf(Dimension.Repo), first.Value.Events, first.Value.InputTokens, first.Value.CostNanos));
        Assert.Null(slices.Single(s => s.Key.ValueOf(Dimension.Agent) == "b").Key.Tag("env"));

        var entity = changes.SliceRows[0].ToEntity(Partition);
        entity.ETag = new ETag("stored");
        var read = DailyBucket.SliceRow.FromEntity(entity);
        Assert.Equal(
            changes.SliceRows[0].Entries.Select(kv => (kv.Key, string.Join(',', kv.Value.ToArray()))).OrderBy(x => x.Item2),
            read.Entries.Select(kv => (kv.Key, string.Join(',', kv.Value.ToArray()))).OrderBy(x => x.Item2));
    }

    [Fact]
    public async Task A_bucket_read_without_its_slices_cannot_be_written()
    {
        var bucket = await DailyBucket.LoadAsync(new NoRowsTable(), Partition, CancellationToken.None, withSlices: false);

        Assert.Throws<InvalidOperationException>(() => bucket.Apply([Event("a", "m", 1, 1)]));
        Assert.Throws<InvalidOperationException>(() => bucket.Slices.ToArray());
    }

    private sealed class NoRowsTable : AgentSpend.Core.Storage.ITableStore
    {
        public string Name => "usage";

        public Task CreateIfNotExistsAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task<Azure.Data.Tables.TableEntity?> GetIfExistsAsync(string partitionKey, string rowKey, IEnumerable<string>? properties = null, CancellationToken cancellationToken = default) =>
            Task.FromResult<Azure.Data.Tables.TableEntity?>(null);

        public Task<ETag> InsertAsync(Azure.Data.Tables.ITableEntity entity, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<ETag> UpsertAsync(Azure.Data.Tables.ITableEntity entity, Azure.Data.Tables.TableUpdateMode mode, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<ETag> UpdateAsync(Azure.Data.Tables.ITableEntity entity, ETag ifMatch, Azure.Data.Tables.TableUpdateMode mode, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task DeleteAsync(string partitionKey, string rowKey, ETag ifMatch, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<bool> TryDeleteAsync(string partitionKey, string rowKey, ETag ifMatch, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public IAsyncEnumerable<Azure.Data.Tables.TableEntity> QueryAsync(string? filter, IEnumerable<string>? properties = null, int? pageSize = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<AgentSpend.Core.Storage.TablePage> QueryPageAsync(string filter, int pageSize, string? continuation, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<IReadOnlyList<ETag>> SubmitTransactionAsync(IReadOnlyList<Azure.Data.Tables.TableTransactionAction> actions, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }
}
