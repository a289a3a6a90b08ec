using Microsoft.Extensions.Caching.Memory;

namespace AgentSpend.Core.Auth;

/// <summary>
/// Stops a client address that keeps presenting keys that fail before its requests cost a storage read each:
/// past <see cref="MaxFailuresPerMinute"/> failures in a minute, its keyed requests are answered 429 until the
/// minute is over, without a lookup. It counts in memory, per instance, for at most
/// <see cref="MaxTrackedAddresses"/> addresses at a time, so a flood of addresses cannot grow it without bound
/// (past that, new addresses are simply not tracked until old ones expire).
/// </summary>
public sealed class AuthFailureLimiter(TimeProvider clock) : IDisposable
{
    public const int MaxFailuresPerMinute = 60;
    public const int MaxTrackedAddresses = 100_000;

    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly MemoryCache _failures = new(new MemoryCacheOptions { SizeLimit = MaxTrackedAddresses });

    /// <summary>When <paramref name="address"/> may try again, or null when it may now.</summary>
    public TimeSpan? RetryAfter(string? address)
    {
        if (address is null || !_failures.TryGetValue(address, out Counter? counter) || counter is null)
        {
            return null;
        }

        var now = clock.GetUtcNow();
        return counter.Count >= MaxFailuresPerMinute && counter.WindowEnd > now ? counter.WindowEnd - now : null;
    }

    /// <summary>Counts a failed authentication from <paramref name="address"/>.</summary>
    public void RecordFailure(string? address)
    {
        if (address is null)
        {
            return;
        }

        var now = clock.GetUtcNow();
        if (!_failures.TryGetValue(address, out Counter? counter) || counter is null || counter.WindowEnd <= now)
        {
            // Two first failures at once may each start a window; one count lost is of no consequence.
            counter = new Counter(now + Window);
            _failures.Set(address, counter, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = Window });
        }

        Interlocked.Increment(ref counter.Count);
    }

    public void Dispose() => _failures.Dispose();

    private sealed class Counter(DateTimeOffset windowEnd)
    {
        public readonly DateTimeOffset WindowEnd = windowEnd;
        public int Count;
    }
}
