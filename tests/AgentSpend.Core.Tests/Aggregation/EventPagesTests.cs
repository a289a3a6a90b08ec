using AgentSpend.Core.Aggregation;
using AgentSpend.Core.Domain;

namespace AgentSpend.Core.Tests.Aggregation;

public sealed class EventPagesTests
{
    private const string Partition = "default|2026-11-22|00";

    private static UsageEvent Event(int i, int agentLength = 8) => new()
    {
        Id = $"k:{i}",
        WorkspaceId = "default",
        Day = "2026-11-22",
        Timestamp = new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero).AddSeconds(i * 7 % 1_000),
        Agent = $"agent-{i % 13}-" + new string('a', agentLength),
        Provider = "anthropic",
        Model = "claude-sonnet-4-5",
        InputTokens = i,
        OutputTokens = 2 * i,
        CostNanos = i % 3 == 0 ? null : i * 1_000L,
        RunId = $"run-{i / 20}",
    };

    [Fact]
    public void A_page_gives_back_its_events_their_hashes_and_their_time_span()
    {
        var events = Enumerable.Range(0, 120).Select(i => Event(i)).ToArray();

        var page = EventPages.ToEntity(Partition, 7, [.. events.Select(PageEntry.Of)]);

        Assert.Equal(EventPages.RowKey(Partition, 7), page.RowKey);
        Assert.Equal(7, EventPages.PageOf(page.RowKey));
        Assert.True(EventPages.IsPage(page.RowKey));
        Assert.Equal(events, EventPages.Read(page));
        Assert.Equal(events.Select(EventPages.HashOf), EventPages.Hashes(page));
        Assert.Equal(120, page.GetInt32(EventPages.CountProperty));
        Assert.Equal(events.Min(e => e.Timestamp), page.GetDateTimeOffset(EventPages.FirstAtProperty));
        Assert.Equal(events.Max(e => e.Timestamp), page.GetDateTimeOffset(EventPages.LastAtProperty));
        Assert.All(page.Keys.Where(k => k.StartsWith('D')), k => Assert.True(page.GetString(k)!.Length <= 30_000, k));
    }

    [Fact]
    public void A_legacy_row_is_read_as_its_one_event_with_the_hash_it_is_keyed_by()
    {
        var e = Event(5);

        var row = EventPages.ToLegacyEntity(Partition, e);

        Assert.False(EventPages.IsPage(row.RowKey));
        Assert.Equal([e], EventPages.Read(row));
        Assert.Equal([EventPages.HashOf(e)], EventPages.Hashes(row));
        Assert.Equal(EventPages.OrderKey(e), row.RowKey);
    }

    [Fact]
    public void Pages_split_by_characters_in_order_and_an_event_too_large_to_share_has_a_page_of_its_own()
    {
        var small = Enumerable.Range(0, 500).Select(i => PageEntry.Of(Event(i))).ToArray();
        var large = PageEntry.Of(Event(1_000, agentLength: 61_000)); // past what ingest accepts (30 KiB), so past a page
        var entries = small.Take(250).Append(large).Concat(small.Skip(250)).ToArray();

        var pages = EventPages.Paginate(entries).ToArray();

        Assert.Equal(entries, pages.SelectMany(p => p));
        Assert.All(pages.Where(p => p.Count > 1), p => Assert.True(p.Sum(e => e.Json.Length + 1) <= EventPages.PageChars));
        Assert.Contains(pages, p => p.Count == 1 && p[0] == large);

        // Each page but the last of a run of small events is full: the next event would not have fitted.
        var firstRun = pages.TakeWhile(p => !p.Contains(large)).ToArray();
        Assert.All(firstRun.SkipLast(1), p => Assert.True(p.Sum(e => e.Json.Length + 1) + small[0].Json.Length + 1 > EventPages.PageChars - 100));
    }
}
