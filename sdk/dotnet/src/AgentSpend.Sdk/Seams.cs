using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;

namespace AgentSpend.Sdk;

/// <summary>The client's sources of time and chance; the tests replace them.</summary>
internal sealed class Seams
{
    private static readonly Stopwatch Watch = Stopwatch.StartNew();
    private static readonly Random Rng = new();

    /// <summary>A monotonic clock (retry deadlines, run durations).</summary>
    public Func<TimeSpan> Elapsed { get; set; } = () => Watch.Elapsed;

    /// <summary>Wall time (timestamps, <c>Retry-After</c> dates).</summary>
    public Func<DateTimeOffset> UtcNow { get; set; } = () => DateTimeOffset.UtcNow;

    /// <summary>The wait between retries (backoff and <c>Retry-After</c>).</summary>
    public Func<TimeSpan, CancellationToken, Task> Delay { get; set; } = (d, ct) => Task.Delay(d, ct);

    /// <summary>A uniform number in [0, 1): the jitter.</summary>
    public Func<double> Random { get; set; } = () =>
    {
        lock (Rng)
        {
#pragma warning disable CA5394 // Jitter, not security.
            return Rng.NextDouble();
#pragma warning restore CA5394
        }
    };
}
