namespace AgentSpend.Core.Storage;

/// <summary>
/// Bounds how many reads the fan-outs of an instance (a run list summing every day of every run, say) have in
/// flight at once, across all requests: one tenant's wide query waits its turn instead of opening thousands of
/// requests that every tenant's latency pays for.
/// </summary>
public sealed class StorageFanOut : IDisposable
{
    public const int MaxInFlight = 64;

    private readonly SemaphoreSlim _slots = new(MaxInFlight);

    /// <summary>Runs <paramref name="read"/> once a slot is free.</summary>
    public async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> read, CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await read(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _slots.Release();
        }
    }

    public void Dispose() => _slots.Dispose();
}
