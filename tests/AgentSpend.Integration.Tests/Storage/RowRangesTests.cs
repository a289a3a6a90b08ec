using AgentSpend.Core.Storage;
using AgentSpend.Integration.Tests.Infrastructure;
using Azure.Data.Tables;

namespace AgentSpend.Integration.Tests.Storage;

/// <summary>Reading a day's numbered rows by range queries: every row found, nothing else taken, and few requests.</summary>
public sealed class RowRangesTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Twelve_hundred_numbered_rows_come_back_in_order_from_three_requests_and_nothing_else_is_taken()
    {
        var table = azurite.Storage.GetTable("ranges" + Guid.NewGuid().ToString("N")[..12]);
        await table.CreateIfNotExistsAsync();
        static string Key(string partition, int i) => $"c|{partition}|{i:D3}";
        var rows = Enumerable.Range(0, 1205).Select(i => new TableEntity("P", Key("P", i)) { ["N"] = i })
            .Append(new TableEntity("P", "c|P|0007") { ["N"] = -1 }) // another width, inside the first range
            .Append(new TableEntity("P", "b|P|001") { ["N"] = -2 })
            .Concat(Enumerable.Range(0, 50).Select(i => new TableEntity("Q", Key("Q", i)) { ["N"] = -3 }));
        foreach (var batch in rows.GroupBy(r => r.PartitionKey).SelectMany(p => p.Chunk(100)))
        {
            await table.SubmitTransactionAsync([.. batch.Select(r => new TableTransactionAction(TableTransactionActionType.Add, r))]);
        }

        string[] wanted = [.. Enumerable.Range(0, 1205).Select(i => Key("P", i)), Key("P", 1300), Key("P", 5)];
        var before = azurite.Counter.Requests;

        var found = await RowRanges.ReadAsync(table, "P", wanted, CancellationToken.None);

        // 3-digit keys: one range of 1,206 rows (two pages); 4-digit keys: one range of 205 (one page).
        Assert.Equal(3, azurite.Counter.Requests - before);
        Assert.Equal(wanted.Length, found.Length);
        Assert.Equal(Enumerable.Range(0, 1205), found.Take(1205).Select(r => r!.GetInt32("N")!.Value));
        Assert.Null(found[1205]);
        Assert.Equal(5, found[1206]!.GetInt32("N"));
        Assert.Empty(await RowRanges.ReadAsync(table, "P", [], CancellationToken.None));
    }
}
