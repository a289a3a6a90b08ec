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

    private sealed class MovableClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
