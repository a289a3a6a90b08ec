using AgentSpend.Core.Governance;

namespace AgentSpend.Core.Tests.Governance;

public sealed class RefreshingCacheTests
{
    /// <summary>A read that counts its calls and finishes only when the test says so.</summary>
    private sealed class GatedRead
    {
        private TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Calls;

        public int Value { get; set; }

        public async Task<int> ReadAsync(string key, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Calls);
            var value = Value;
            await _gate.Task;
            return value;
        }

        public void Open() => _gate.TrySetResult();

        public void Close() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [Fact]
    public async Task Callers_wait_only_for_a_missing_or_too_old_value_and_a_stale_one_is_read_again_once_in_the_background()
    {
        var clock = new MovableClock(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
        var cache = new RefreshingCache<int>(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), clock);
        var read = new GatedRead { Value = 1 };

        // Nothing known: every caller waits for the one read.
        var first = Enumerable.Range(0, 10).Select(_ => cache.GetAsync("ws", read.ReadAsync, CancellationToken.None).AsTask()).ToArray();
        Assert.All(first, t => Assert.False(t.IsCompleted));
        read.Open();
        Assert.All(await Task.WhenAll(first), e => Assert.Equal(1, e.Value));
        Assert.Equal(1, read.Calls);

        // Fresh: answered from memory.
        clock.Now += TimeSpan.FromMilliseconds(900);
        Assert.Equal(1, (await cache.GetAsync("ws", read.ReadAsync, CancellationToken.None)).Value);
        Assert.Equal(1, read.Calls);

        // Stale: callers go on with the old value at once while one read runs.
        read.Close();
        read.Value = 2;
        clock.Now += TimeSpan.FromMilliseconds(200);
        var stale = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => cache.GetAsync("ws", read.ReadAsync, CancellationToken.None).AsTask()));
        Assert.All(stale, e => Assert.Equal(1, e.Value));
        Assert.Equal(2, read.Calls);
        read.Open();
        var refreshed = await cache.GetAsync("ws", read.ReadAsync, CancellationToken.None);
        for (var deadline = DateTime.UtcNow.AddSeconds(10); refreshed.Value != 2 && DateTime.UtcNow < deadline; refreshed = await cache.GetAsync("ws", read.ReadAsync, CancellationToken.None))
        {
            await Task.Delay(10);
        }

        Assert.Equal((2, 2), (refreshed.Value, read.Calls));

        // Too old: waited for.
        read.Close();
        read.Value = 3;
        clock.Now += TimeSpan.FromSeconds(5);
        var waiting = cache.GetAsync("ws", read.ReadAsync, CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted);
        read.Open();
        Assert.Equal((3, clock.Now), ((await waiting).Value, (await waiting).ReadAt));
    }

    [Fact]
    public async Task A_read_under_way_when_the_key_is_forgotten_is_not_kept()
    {
        var clock = new MovableClock(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
        var cache = new RefreshingCache<int>(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), clock);
        var read = new GatedRead { Value = 1 };
        var before = cache.GetAsync("ws", read.ReadAsync, CancellationToken.None).AsTask();

        cache.Forget("ws");
        read.Open();
        Assert.Equal(1, (await before).Value);

        // The change that made us forget may be missing from that read: the next caller reads again.
        read.Value = 2;
        Assert.Equal(2, (await cache.GetAsync("ws", read.ReadAsync, CancellationToken.None)).Value);
        Assert.Equal(2, read.Calls);
    }
}
