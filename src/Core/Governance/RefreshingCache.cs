using System.Collections.Concurrent;

namespace AgentSpend.Core.Governance;

/// <summary>
/// Per-workspace state read from storage and answered from memory, for the check's hot path. A value older than
/// <c>freshness</c> is read again in the background, one read per key at a time, while callers go on with what they
/// have; only a value older than <c>maxStaleness</c> (or none) is waited for. So no caller waits on storage while the
/// state is being kept fresh, and none sees state older than <c>maxStaleness</c> plus one read.
/// </summary>
public sealed class RefreshingCache<TValue>(TimeSpan freshness, TimeSpan maxStaleness, TimeProvider clock)
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<Entry>>> _reads = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _generations = new(StringComparer.Ordinal);

    /// <summary>A value and when its read began: everything written before then is in it.</summary>
    public sealed record Entry(DateTimeOffset ReadAt, TValue Value);

    public async ValueTask<Entry> GetAsync(string key, Func<string, CancellationToken, Task<TValue>> read, CancellationToken cancellationToken)
    {
        if (_entries.TryGetValue(key, out var entry))
        {
            var age = clock.GetUtcNow() - entry.ReadAt;
            if (age < freshness)
            {
                return entry;
            }

            var refresh = ReadOnce(key, read);
            if (age < maxStaleness)
            {
                return entry;
            }

            return await refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        return await ReadOnce(key, read).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Drops what is known of a key after a change made here, so the next caller reads it again. A read already
    /// under way may have missed the change: its result is not kept.
    /// </summary>
    public void Forget(string key)
    {
        _generations.AddOrUpdate(key, 1, (_, generation) => generation + 1);
        _entries.TryRemove(key, out _);
        _reads.TryRemove(key, out _);
    }

    /// <summary>The key's one read in flight, started if there is none; never cancelled by one waiting caller.</summary>
    private Task<Entry> ReadOnce(string key, Func<string, CancellationToken, Task<TValue>> read)
    {
        Lazy<Task<Entry>>? candidate = null;
        candidate = new Lazy<Task<Entry>>(() => ReadAsync(key, read, candidate!));
        return _reads.GetOrAdd(key, candidate).Value;
    }

    private async Task<Entry> ReadAsync(string key, Func<string, CancellationToken, Task<TValue>> read, Lazy<Task<Entry>> self)
    {
        try
        {
            var generation = _generations.GetValueOrDefault(key);
            var entry = new Entry(clock.GetUtcNow(), await read(key, CancellationToken.None).ConfigureAwait(false));
            if (_generations.GetValueOrDefault(key) == generation)
            {
                _entries[key] = entry;
            }

            return entry;
        }
        finally
        {
            _reads.TryRemove(new KeyValuePair<string, Lazy<Task<Entry>>>(key, self));
        }
    }
}
