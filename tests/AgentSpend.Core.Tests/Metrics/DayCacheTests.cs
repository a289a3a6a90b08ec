using AgentSpend.Core.Aggregation;
using AgentSpend.Core.Metrics;

namespace AgentSpend.Core.Tests.Metrics;

public class DayCacheTests
{
    private const string Partition = "default|2026-11-22|00";
    private static readonly DateTimeOffset ReadAt = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_kept_day_is_served_only_while_its_token_is_unchanged_nobody_holds_it_and_it_is_young()
    {
        var bucket = DailyBucket.Empty(Partition);
        var clock = new MovableClock(ReadAt);
        var cache = new DayCache(capacity: 10, clock);
        cache.Keep(Partition, withSlices: false, new DayVersion("t1", Leased: false), bucket, ReadAt);

        Assert.Same(bucket, cache.Find(Partition, withSlices: false, new DayVersion("t1", false)));
        Assert.Null(cache.Find(Partition, withSlices: false, new DayVersion("t2", false))); // written since
        Assert.Null(cache.Find(Partition, withSlices: false, new DayVersion("t1", true)));  // being written now
        Assert.Null(cache.Find(Partition, withSlices: true, new DayVersion("t1", false)));  // read without slices
        clock.Now = ReadAt + DayCache.MaxAge;
        Assert.Null(cache.Find(Partition, withSlices: false, new DayVersion("t1", false)));
    }

    [Fact]
    public void A_day_read_while_leased_is_not_kept_and_a_day_with_slices_also_answers_without()
    {
        var clock = new MovableClock(ReadAt);
        var cache = new DayCache(capacity: 10, clock);
        cache.Keep(Partition, withSlices: false, new DayVersion("t1", Leased: true), DailyBucket.Empty(Partition), ReadAt);
        Assert.Null(cache.Find(Partition, withSlices: false, new DayVersion("t1", false)));

        var sliced = DailyBucket.Empty(Partition);
        cache.Keep(Partition, withSlices: true, new DayVersion(null, Leased: false), sliced, ReadAt);
        Assert.Same(sliced, cache.Find(Partition, withSlices: false, new DayVersion(null, false)));
    }

    [Fact]
    public void One_workspace_reading_forty_days_into_a_cache_of_ten_leaves_the_others_days_in_place()
    {
        using var cache = new DayCache(capacity: 10, new MovableClock(ReadAt));
        string Day(string workspace, int i) => $"{workspace}|{new DateOnly(2026, 1, 1).AddDays(i):yyyy-MM-dd}|00";
        var version = new DayVersion("t", Leased: false);
        for (var i = 0; i < 3; i++)
        {
            cache.Keep(Day("quiet", i), withSlices: true, version, DailyBucket.Empty(Day("quiet", i)), ReadAt);
        }

        for (var i = 0; i < 40; i++)
        {
            cache.Keep(Day("busy", i), withSlices: true, version, DailyBucket.Empty(Day("busy", i)), ReadAt);
        }

        Assert.All(Enumerable.Range(0, 3), i => Assert.NotNull(cache.Find(Day("quiet", i), withSlices: true, version)));
        Assert.Equal((3, 7), (cache.HeldBy("quiet"), cache.HeldBy("busy")));
        Assert.All(Enumerable.Range(0, 7), i => Assert.NotNull(cache.Find(Day("busy", i), withSlices: true, version)));
    }
}
