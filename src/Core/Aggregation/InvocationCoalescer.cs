namespace AgentSpend.Core.Aggregation;

/// <summary>
/// Lets invocations that each bring one item (a queue message, as the Functions host hands them out) be worked in
/// passes of many: an invocation waits for the pass that takes its item, and completes with that item's own result,
/// so it succeeds only once its item is done and fails (and its message is retried) only when its item failed.
/// One pass runs at a time; items that arrive meanwhile go in the next. The first pass after a quiet spell waits
/// <c>linger</c> for the invocations dispatched with it, so a burst is one pass, not one item and then the rest.
/// </summary>
public sealed class InvocationCoalescer<TItem> : IDisposable
{
    private readonly Func<IReadOnlyList<TItem>, CancellationToken, Task<IReadOnlyList<Exception?>>> _pass;
    private readonly int _maxPerPass;
    private readonly TimeSpan _linger;
    private readonly TimeProvider _clock;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private readonly List<(TItem Item, TaskCompletionSource<Exception?> Done)> _waiting = [];
    private bool _draining;

    /// <param name="pass">Works a pass's items; returns, per item, null when done or the error that failed it.</param>
    public InvocationCoalescer(
        Func<IReadOnlyList<TItem>, CancellationToken, Task<IReadOnlyList<Exception?>>> pass, int maxPerPass, TimeSpan linger, TimeProvider? clock = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPerPass, 1);
        _pass = pass;
        _maxPerPass = maxPerPass;
        _linger = linger;
        _clock = clock ?? TimeProvider.System;
    }

    /// <summary>How many passes have run.</summary>
    public int Passes { get; private set; }

    /// <returns>Null when the item was worked, or the error that failed it.</returns>
    /// <remarks>Cancelling stops this invocation's wait only: its item stays in its pass, which is harmless, since a retried item counts once.</remarks>
    public Task<Exception?> RunAsync(TItem item, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        bool start;
        lock (_gate)
        {
            _waiting.Add((item, done));
            start = !_draining;
            _draining = true;
        }

        if (start)
        {
            _ = Task.Run(DrainAsync, CancellationToken.None);
        }

        return done.Task.WaitAsync(cancellationToken);
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    private async Task DrainAsync()
    {
        try
        {
            await DrainPassesAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Nothing here is expected to throw; if something does, no invocation may wait for a drainer that is gone.
            (TItem Item, TaskCompletionSource<Exception?> Done)[] stranded;
            lock (_gate)
            {
                stranded = [.. _waiting];
                _waiting.Clear();
                _draining = false;
            }

            foreach (var (_, done) in stranded)
            {
                done.TrySetResult(ex);
            }
        }
    }

    private async Task DrainPassesAsync()
    {
        var first = true;
        while (true)
        {
            if (first && _linger > TimeSpan.Zero && WaitingCount() < _maxPerPass)
            {
                await Task.Delay(_linger, _clock).ConfigureAwait(false);
            }

            first = false;
            (TItem Item, TaskCompletionSource<Exception?> Done)[] pass;
            lock (_gate)
            {
                if (_waiting.Count == 0)
                {
                    _draining = false;
                    return;
                }

                pass = [.. _waiting.Take(_maxPerPass)];
                _waiting.RemoveRange(0, pass.Length);
            }

            Passes++;
            IReadOnlyList<Exception?> results;
            try
            {
                results = await _pass([.. pass.Select(p => p.Item)], _stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                results = [.. pass.Select(_ => ex)];
            }

            for (var i = 0; i < pass.Length; i++)
            {
                pass[i].Done.TrySetResult(i < results.Count ? results[i] : new InvalidOperationException("The pass gave no result for this item."));
            }
        }
    }

    private int WaitingCount()
    {
        lock (_gate)
        {
            return _waiting.Count;
        }
    }
}
