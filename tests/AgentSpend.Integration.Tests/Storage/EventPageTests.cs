using System.Text.Json;
using AgentSpend.Core.Aggregation;
using AgentSpend.Core.Domain;
using AgentSpend.Core.Ingest;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Workspaces;
using AgentSpend.Integration.Tests.Infrastructure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.Storage;

/// <summary>Counted events are stored many to a row (event pages), and days stored one event to a row before that keep working.</summary>
public sealed class EventPageTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly Dictionary<string, string?> NoTriggers = new() { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" };

    [Fact]
    public async Task A_day_is_stored_as_numbered_pages_that_hold_each_counted_event_once_and_row_0_names_the_last()
    {
        await using var app = await TestApp.StartAsync(azurite, NoTriggers);
        var day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-3);
        var events = Enumerable.Range(0, 3_000).Select(i => EventFactory.QueuedRealistic(i, day, "s:pages-")).ToArray();
        var aggregator = app.Services.GetRequiredService<UsageAggregator>();

        var outcome = await aggregator.AggregateAsync([.. events.Chunk(1_000).Select(c => new IngestMessage { Events = c })], CancellationToken.None);
        var resent = await aggregator.AggregateAsync([new IngestMessage { Events = [.. events.Take(500)] }], CancellationToken.None);

        var partition = UsageTableKeys.Partition(Workspace.DefaultId, Json.Day(day));
        var rows = await EventRowsAsync(app, partition);
        var stored = rows.SelectMany(EventPages.Read).ToArray();
        Assert.Equal((3_000, 0), (outcome.Counted, outcome.Duplicates));
        Assert.Equal((0, 500), (resent.Counted, resent.Duplicates));
        Assert.All(rows, row => Assert.True(EventPages.IsPage(row.RowKey), row.RowKey));
        Assert.Equal(Enumerable.Range(1, rows.Count).Select(p => EventPages.RowKey(partition, p)), rows.Select(r => r.RowKey)); // numbered 1, 2, … without gaps
        Assert.Equal(events.Select(e => e.Id).Order(), stored.Select(e => e.Id).Order());
        Assert.Equal(stored.Select(EventPages.HashOf), rows.SelectMany(EventPages.Hashes));
        Assert.All(rows, row => Assert.Equal(EventPages.Read(row).Count, row.GetInt32(EventPages.CountProperty)));

        // ~450 characters an event, 60,000 a page: a page holds over a hundred, and each transaction starts a page.
        var chars = stored.Sum(e => PageEntry.Of(e).Json.Length);
        Assert.InRange(rows.Count, chars / EventPages.PageChars, (chars / (EventPages.PageChars - 1_000)) + 1 + outcome.Transactions);
        Assert.True(outcome.Transactions <= 4, $"{outcome.Transactions} transactions for 3,000 events");
        var head = await app.Storage.GetTable(StorageNames.UsageTable).GetIfExistsAsync(partition, UsageTableKeys.BucketRow(partition, 0));
        Assert.Equal(rows.Count, head!.GetInt64("Pages"));
    }

    [Fact]
    public async Task A_day_stored_one_event_to_a_row_keeps_every_event_counted_once_listed_and_repriced_after_the_upgrade()
    {
        var day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);
        var partition = UsageTableKeys.Partition(Workspace.DefaultId, Json.Day(day));
        var old = Enumerable.Range(0, 60).Select(i => EventFactory.QueuedRealistic(i, day, "s:legacy-")).ToArray();

        // New events: 15 more of the last old run, on new pages beside its legacy rows.
        var run = old[^1].RunId!;
        var fresh = Enumerable.Range(60, 15).Select(i => EventFactory.QueuedRealistic(i, day, "s:legacy-") with { RunId = run }).ToArray();
        await using (var before = await TestApp.StartAsync(azurite, NoTriggers))
        {
            await before.Services.GetRequiredService<UsageAggregator>().AggregateAsync([new IngestMessage { Events = old }], CancellationToken.None);
            await RewriteAsLegacyAsync(before, partition);
        }

        await using var app = await TestApp.StartAsync(azurite, NoTriggers);
        var aggregator = app.Services.GetRequiredService<UsageAggregator>();

        var outcome = await aggregator.AggregateAsync([new IngestMessage { Events = [.. old, .. fresh] }], CancellationToken.None);

        Assert.Equal((15, 60), (outcome.Counted, outcome.Duplicates));
        var rows = await EventRowsAsync(app, partition);
        Assert.Equal((60, 1), (rows.Count(r => !EventPages.IsPage(r.RowKey)), rows.Count(r => EventPages.IsPage(r.RowKey))));
        var all = new[] { old, fresh }.SelectMany(e => e).ToArray();
        var overview = await app.GetJsonAsync($"/api/v1/metrics/overview?from={Json.Day(day)}&to={Json.Day(day)}");
        Assert.Equal(75, overview.Long("events"));
        Assert.Equal(all.Sum(e => e.InputTokens), overview.Long("input_tokens"));

        // Listed: the day's recent events, and the run's, each exactly once, from both kinds of row.
        var listed = await WalkAsync(app, $"/api/v1/events?range=custom&from={Json.Day(day)}&to={Json.Day(day)}", 7);
        Assert.Equal(all.Select(e => e.InputTokens).Order(), listed.Select(e => e.Long("input_tokens")).Order());
        Assert.Equal(listed.Select(e => e.Str("timestamp")).OrderDescending(StringComparer.Ordinal), listed.Select(e => e.Str("timestamp")));
        var ofRun = await WalkAsync(app, $"/api/v1/runs/{run}/events", 6);
        Assert.Equal(all.Where(e => e.RunId == run).Select(e => e.InputTokens).Order(), ofRun.Select(e => e.Long("input_tokens")).Order());
        Assert.Equal(35, ofRun.Count);

        // Re-priced: a price for model-1 changes the estimate of each of its events, in legacy rows and pages alike.
        Assert.Equal(200, (await app.SendAsync("PUT", "/api/v1/pricing/models/anthropic/model-1", new { input = 1m, output = 2m })).Status);
        var repriced = await app.SendAsync("POST", $"/api/v1/pricing/reprice?from={Json.Day(day)}&to={Json.Day(day)}");
        Assert.True(repriced.Status == 200, repriced.Text);
        var modelOne = all.Where(e => e.Model == "model-1").ToArray();
        Assert.Equal((75L, (long)modelOne.Length), (repriced.Body!.Value.Long("events_examined"), repriced.Body.Value.Long("events_changed")));
        var expectedEstimate = modelOne.Sum(e => (e.InputTokens * 1m + e.OutputTokens * 2m) / 1_000_000m);
        Assert.Equal(expectedEstimate, repriced.Body.Value.Dec("estimate_delta_usd"));
        var storedModelOne = (await EventRowsAsync(app, partition)).SelectMany(EventPages.Read).Where(e => e.Model == "model-1").ToArray();
        Assert.Equal(modelOne.Length, storedModelOne.Length);
        Assert.All(storedModelOne, e => Assert.NotNull(e.EstimatedCostNanos));
    }

    /// <summary>Turns the partition's pages into the rows of a version before pages: one event a row, and a row 0 that names no page.</summary>
    private static async Task RewriteAsLegacyAsync(TestApp app, string partition)
    {
        var table = app.Storage.GetTable(StorageNames.UsageTable);
        foreach (var page in await EventRowsAsync(app, partition))
        {
            foreach (var e in EventPages.Read(page))
            {
                await table.InsertAsync(EventPages.ToLegacyEntity(partition, e));
            }

            await table.DeleteAsync(partition, page.RowKey, Azure.ETag.All);
        }

        var head = (await table.GetIfExistsAsync(partition, UsageTableKeys.BucketRow(partition, 0)))!;
        head.Remove("Pages");
        await table.UpsertAsync(head, TableUpdateMode.Replace);
    }

    private static async Task<List<TableEntity>> EventRowsAsync(TestApp app, string partition)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in app.Storage.GetTable(StorageNames.UsageTable).QueryAsync($"PartitionKey eq '{partition}' and RowKey ge 'e|' and RowKey lt 'e}}'"))
        {
            rows.Add(row);
        }

        return rows;
    }

    private static async Task<List<JsonElement>> WalkAsync(TestApp app, string path, int limit)
    {
        var seen = new List<JsonElement>();
        string? cursor = null;
        do
        {
            var reply = await app.SendAsync("GET", $"{path}{(path.Contains('?') ? '&' : '?')}limit={limit}" + (cursor is null ? "" : $"&cursor={cursor}"));
            Assert.True(reply.Status == 200, reply.Text);
            var items = reply.Body!.Value.GetProperty("items").EnumerateArray().ToArray();
            Assert.InRange(items.Length, 1, limit);
            seen.AddRange(items);
            cursor = reply.Body.Value.GetProperty("next_cursor").GetString();
        }
        while (cursor is not null);
        return seen;
    }
}
