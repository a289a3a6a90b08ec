using Azure;
using Azure.Data.Tables;
using AgentSpend.Core.Storage;
using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Storage;

/// <summary>
/// The table port's contract, checked against a real Azurite: every behaviour the aggregation,
/// auth and retention code relies on (ETags, conflicts, atomic batches, paging).
/// </summary>
public sealed class TableStoreConformanceTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private async Task<ITableStore> NewTableAsync()
    {
        var table = azurite.Storage.GetTable("conf" + Guid.NewGuid().ToString("N")[..12]);
        await table.CreateIfNotExistsAsync();
        return table;
    }

    [Fact]
    public async Task Create_is_idempotent()
    {
        var table = await NewTableAsync();

        await table.CreateIfNotExistsAsync();

        await table.InsertAsync(new TableEntity("p", "r"));
        Assert.NotNull(await table.GetIfExistsAsync("p", "r"));
    }

    [Fact]
    public async Task Insert_round_trips_typed_properties_and_a_second_insert_conflicts()
    {
        var table = await NewTableAsync();
        var when = new DateTimeOffset(2026, 11, 22, 10, 30, 15, TimeSpan.Zero);
        var entity = new TableEntity("p", "r")
        {
            ["Text"] = "héllo <&> \"world\"",
            ["Big"] = 9_007_199_254_740_993L,
            ["Small"] = -42,
            ["Flag"] = true,
            ["Ratio"] = 0.125d,
            ["At"] = when,
            ["Id"] = Guid.Parse("0b5f7a4e-2c7d-4f7b-9e36-6a8f0f1d2c3b"),
            ["Bytes"] = new byte[] { 0, 1, 254, 255 },
        };

        var etag = await table.InsertAsync(entity);
        var conflict = await Assert.ThrowsAsync<RequestFailedException>(() => table.InsertAsync(new TableEntity("p", "r")));

        Assert.NotEqual(default, etag);
        Assert.Equal((409, "EntityAlreadyExists"), (conflict.Status, conflict.ErrorCode));
        var read = await table.GetIfExistsAsync("p", "r");
        Assert.NotNull(read);
        Assert.Equal(etag, read.ETag);
        Assert.Equal("héllo <&> \"world\"", read.GetString("Text"));
        Assert.Equal(9_007_199_254_740_993L, read.GetInt64("Big"));
        Assert.Equal(-42, read.GetInt32("Small"));
        Assert.True(read.GetBoolean("Flag"));
        Assert.Equal(0.125d, read.GetDouble("Ratio"));
        Assert.Equal(when, read.GetDateTimeOffset("At"));
        Assert.Equal(Guid.Parse("0b5f7a4e-2c7d-4f7b-9e36-6a8f0f1d2c3b"), read.GetGuid("Id"));
        Assert.Equal(new byte[] { 0, 1, 254, 255 }, read.GetBinary("Bytes"));
    }

    [Fact]
    public async Task A_null_property_is_not_stored_and_merge_of_a_null_leaves_the_stored_value()
    {
        var table = await NewTableAsync();
        await table.InsertAsync(new TableEntity("p", "r") { ["Kept"] = "v", ["Missing"] = null });

        await table.UpsertAsync(new TableEntity("p", "r") { ["Kept"] = null, ["Other"] = 1 }, TableUpdateMode.Merge);

        var read = await table.GetIfExistsAsync("p", "r");
        Assert.False(read!.ContainsKey("Missing"));
        Assert.Equal(("v", 1), (read.GetString("Kept"), read.GetInt32("Other")!.Value));
    }

    [Fact]
    public async Task Point_read_of_a_missing_entity_returns_null_and_projection_limits_properties()
    {
        var table = await NewTableAsync();
        await table.InsertAsync(new TableEntity("p", "r") { ["A"] = 1, ["B"] = 2 });

        var missing = await table.GetIfExistsAsync("p", "nope");
        var projected = await table.GetIfExistsAsync("p", "r", ["A"]);

        Assert.Null(missing);
        Assert.NotNull(projected);
        Assert.Equal(1, projected.GetInt32("A"));
        Assert.False(projected.ContainsKey("B"));
    }

    [Fact]
    public async Task Upsert_replace_drops_absent_properties_and_merge_keeps_them()
    {
        var table = await NewTableAsync();
        await table.InsertAsync(new TableEntity("p", "replace") { ["A"] = 1, ["B"] = 2 });
        await table.InsertAsync(new TableEntity("p", "merge") { ["A"] = 1, ["B"] = 2 });

        await table.UpsertAsync(new TableEntity("p", "replace") { ["A"] = 10 }, TableUpdateMode.Replace);
        await table.UpsertAsync(new TableEntity("p", "merge") { ["A"] = 10 }, TableUpdateMode.Merge);
        await table.UpsertAsync(new TableEntity("p", "new") { ["A"] = 7 }, TableUpdateMode.Merge);

        var replaced = await table.GetIfExistsAsync("p", "replace");
        var merged = await table.GetIfExistsAsync("p", "merge");
        var created = await table.GetIfExistsAsync("p", "new");
        Assert.Equal((10, false), (replaced!.GetInt32("A")!.Value, replaced.ContainsKey("B")));
        Assert.Equal((10, 2), (merged!.GetInt32("A")!.Value, merged.GetInt32("B")!.Value));
        Assert.Equal(7, created!.GetInt32("A"));
    }

    [Fact]
    public async Task Update_with_the_current_etag_succeeds_and_with_a_stale_one_fails_412()
    {
        var table = await NewTableAsync();
        var first = await table.InsertAsync(new TableEntity("p", "r") { ["N"] = 1 });

        var second = await table.UpdateAsync(new TableEntity("p", "r") { ["N"] = 2 }, first, TableUpdateMode.Replace);
        var stale = await Assert.ThrowsAsync<RequestFailedException>(
            () => table.UpdateAsync(new TableEntity("p", "r") { ["N"] = 3 }, first, TableUpdateMode.Merge));
        var missing = await Assert.ThrowsAsync<RequestFailedException>(
            () => table.UpdateAsync(new TableEntity("p", "absent") { ["N"] = 3 }, ETag.All, TableUpdateMode.Replace));

        Assert.NotEqual(first, second);
        Assert.Equal((412, "UpdateConditionNotSatisfied"), (stale.Status, stale.ErrorCode));
        Assert.Equal(404, missing.Status);
        Assert.Equal(2, (await table.GetIfExistsAsync("p", "r"))!.GetInt32("N"));
    }

    [Fact]
    public async Task Delete_is_conditional_on_the_etag_and_a_missing_entity_is_not_an_error()
    {
        var table = await NewTableAsync();
        var first = await table.InsertAsync(new TableEntity("p", "r") { ["N"] = 1 });
        var current = await table.UpdateAsync(new TableEntity("p", "r") { ["N"] = 2 }, first, TableUpdateMode.Replace);

        var stale = await Assert.ThrowsAsync<RequestFailedException>(() => table.DeleteAsync("p", "r", first));
        Assert.Equal(412, stale.Status);
        Assert.NotNull(await table.GetIfExistsAsync("p", "r"));

        await table.DeleteAsync("p", "r", current);
        await table.DeleteAsync("p", "r", ETag.All);
        await table.DeleteAsync("p", "never-existed", ETag.All);

        Assert.Null(await table.GetIfExistsAsync("p", "r"));
    }

    [Fact]
    public async Task Try_delete_says_which_of_two_racing_deleters_deleted()
    {
        var table = await NewTableAsync();
        var first = await table.InsertAsync(new TableEntity("p", "r") { ["N"] = 1 });
        var current = await table.UpdateAsync(new TableEntity("p", "r") { ["N"] = 2 }, first, TableUpdateMode.Replace);

        Assert.False(await table.TryDeleteAsync("p", "r", first));
        var racing = await Task.WhenAll(table.TryDeleteAsync("p", "r", current), table.TryDeleteAsync("p", "r", current));
        Assert.Equal(1, racing.Count(deleted => deleted));
        Assert.False(await table.TryDeleteAsync("p", "never-existed", ETag.All));
    }

    [Fact]
    public async Task Query_follows_continuation_past_1000_rows_and_applies_filter_and_projection()
    {
        var table = await NewTableAsync();
        const int rows = 1_050;
        for (var start = 0; start < rows; start += 100)
        {
            var batch = Enumerable.Range(start, Math.Min(100, rows - start))
                .Select(i => new TableTransactionAction(TableTransactionActionType.Add,
                    new TableEntity("bulk", $"r{i:D5}") { ["N"] = i, ["Even"] = i % 2 == 0, ["Pad"] = "x" }))
                .ToArray();
            await table.SubmitTransactionAsync(batch);
        }

        var before = azurite.Counter.Requests;
        var all = await ToListAsync(table.QueryAsync("PartitionKey eq 'bulk'"));
        var requests = azurite.Counter.Requests - before;
        var even = await ToListAsync(table.QueryAsync(
            TableClient.CreateQueryFilter($"PartitionKey eq {"bulk"} and Even eq {true} and N ge {1000}"), ["N"]));

        Assert.Equal(rows, all.Count);
        Assert.Equal(Enumerable.Range(0, rows).Sum(), all.Sum(e => e.GetInt32("N")!.Value));
        Assert.Equal(rows, all.Select(e => e.RowKey).Distinct().Count());
        Assert.True(requests >= 2, $"1,050 rows came back in {requests} request(s); a page holds at most 1,000");
        Assert.Equal(Enumerable.Range(1000, rows - 1000).Where(i => i % 2 == 0).ToArray(), even.Select(e => e.GetInt32("N")!.Value).ToArray());
        Assert.All(even, e => Assert.False(e.ContainsKey("Pad")));
    }

    [Fact]
    public async Task Small_page_size_still_returns_every_row()
    {
        var table = await NewTableAsync();
        await table.SubmitTransactionAsync(Enumerable.Range(0, 25)
            .Select(i => new TableTransactionAction(TableTransactionActionType.Add, new TableEntity("p", $"r{i:D2}")))
            .ToArray());

        var before = azurite.Counter.Requests;
        var rows = await ToListAsync(table.QueryAsync(null, pageSize: 10));

        Assert.Equal(25, rows.Count);
        Assert.Equal(3, azurite.Counter.Requests - before);
    }

    [Fact]
    public async Task Transaction_applies_every_operation_and_returns_each_etag()
    {
        var table = await NewTableAsync();
        var existing = await table.InsertAsync(new TableEntity("p", "update") { ["N"] = 1 });
        await table.InsertAsync(new TableEntity("p", "delete"));

        var etags = await table.SubmitTransactionAsync(
        [
            new TableTransactionAction(TableTransactionActionType.Add, new TableEntity("p", "add") { ["N"] = 5 }),
            new TableTransactionAction(TableTransactionActionType.UpdateReplace, new TableEntity("p", "update") { ["N"] = 2 }, existing),
            new TableTransactionAction(TableTransactionActionType.UpsertMerge, new TableEntity("p", "upsert") { ["N"] = 3 }),
            new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity("p", "delete")),
        ]);

        Assert.Equal(4, etags.Count);
        Assert.All(etags.Take(3), e => Assert.NotEqual(default, e));
        var updated = await table.GetIfExistsAsync("p", "update");
        Assert.Equal((2, etags[1]), (updated!.GetInt32("N")!.Value, updated.ETag));
        Assert.Equal(5, (await table.GetIfExistsAsync("p", "add"))!.GetInt32("N"));
        Assert.Equal(3, (await table.GetIfExistsAsync("p", "upsert"))!.GetInt32("N"));
        Assert.Null(await table.GetIfExistsAsync("p", "delete"));
    }

    [Fact]
    public async Task Transaction_rolled_back_by_a_conflict_names_the_failing_operation_and_changes_nothing()
    {
        var table = await NewTableAsync();
        var etag = await table.InsertAsync(new TableEntity("p", "counter") { ["N"] = 1 });
        await table.InsertAsync(new TableEntity("p", "taken"));

        var failure = await Assert.ThrowsAsync<TableTransactionFailedException>(() => table.SubmitTransactionAsync(
        [
            new TableTransactionAction(TableTransactionActionType.UpdateReplace, new TableEntity("p", "counter") { ["N"] = 2 }, etag),
            new TableTransactionAction(TableTransactionActionType.Add, new TableEntity("p", "a")),
            new TableTransactionAction(TableTransactionActionType.Add, new TableEntity("p", "b")),
            new TableTransactionAction(TableTransactionActionType.Add, new TableEntity("p", "taken")),
            new TableTransactionAction(TableTransactionActionType.Add, new TableEntity("p", "c")),
        ]));

        Assert.Equal((409, 3), (failure.Status, failure.FailedTransactionActionIndex));
        Assert.Equal("EntityAlreadyExists", failure.ErrorCode);
        var counter = await table.GetIfExistsAsync("p", "counter");
        Assert.Equal((1, etag), (counter!.GetInt32("N")!.Value, counter.ETag));
        Assert.Equal(new[] { "counter", "taken" }, (await ToListAsync(table.QueryAsync(null))).Select(e => e.RowKey).ToArray());
    }

    [Fact]
    public async Task Transaction_with_a_stale_etag_fails_412_at_that_operation()
    {
        var table = await NewTableAsync();
        var stale = await table.InsertAsync(new TableEntity("p", "x") { ["N"] = 1 });
        await table.UpsertAsync(new TableEntity("p", "x") { ["N"] = 2 }, TableUpdateMode.Replace);

        var failure = await Assert.ThrowsAsync<TableTransactionFailedException>(() => table.SubmitTransactionAsync(
        [
            new TableTransactionAction(TableTransactionActionType.Add, new TableEntity("p", "y")),
            new TableTransactionAction(TableTransactionActionType.UpdateMerge, new TableEntity("p", "x") { ["N"] = 3 }, stale),
        ]));

        Assert.Equal((412, 1), (failure.Status, failure.FailedTransactionActionIndex));
        Assert.Null(await table.GetIfExistsAsync("p", "y"));
        Assert.Equal(2, (await table.GetIfExistsAsync("p", "x"))!.GetInt32("N"));
    }

    private static async Task<List<TableEntity>> ToListAsync(IAsyncEnumerable<TableEntity> rows)
    {
        var list = new List<TableEntity>();
        await foreach (var row in rows)
        {
            list.Add(row);
        }

        return list;
    }
}
