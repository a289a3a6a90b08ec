using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace AgentSpend.Soak;

/// <summary>A workspace of the soak: each source of usage has its own, so that a loss points at its source.</summary>
internal sealed record SoakWorkspace(string Label, string Id, string Key);

/// <summary>What every part of a soak shares: its clock, its oracle, its client, its failures and its figures.</summary>
internal sealed class SoakRun(SoakOptions options, Oracle oracle, Sender sender, ILogger logger)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _stopLoad;

    public SoakOptions Options { get; } = options;

    public Oracle Oracle { get; } = oracle;

    public Sender Sender { get; } = sender;

    public ILogger Logger { get; } = logger;

    /// <summary>A short tag of this run, in every id it sends, so that no two runs' ids meet.</summary>
    public string Tag { get; } = options.Seed.ToString("x8", System.Globalization.CultureInfo.InvariantCulture);

    public Dictionary<string, SoakWorkspace> Workspaces { get; } = new(StringComparer.Ordinal);

    /// <summary>Every failure of the run: requests that got no expected answer, answers that said something else than was sent.</summary>
    public ConcurrentQueue<string> Failures { get; } = new();

    /// <summary>Named counters, printed at the end.</summary>
    public ConcurrentDictionary<string, long> Figures { get; } = new(StringComparer.Ordinal);

    public TimeSpan Elapsed => _clock.Elapsed;

    public DateTime LoadEnd { get; set; }

    public bool LoadStopped => Volatile.Read(ref _stopLoad) == 1 || DateTime.UtcNow >= LoadEnd;

    /// <summary>Stops the load early (Azurite's data grew too big).</summary>
    public void StopLoad() => Volatile.Write(ref _stopLoad, 1);

    public void Count(string figure, long by = 1) => Figures.AddOrUpdate(figure, by, (_, v) => v + by);

    public long Figure(string figure) => Figures.GetValueOrDefault(figure);

    public void Fail(string failure)
    {
        Failures.Enqueue($"[{Elapsed.TotalSeconds:F0} s] {failure}");
    }

    /// <summary>Runs <paramref name="body"/> every <paramref name="interval"/> until the load stops; a late round is not made up for.</summary>
    public async Task PacedAsync(TimeSpan interval, Func<long, Task> body)
    {
        var next = DateTime.UtcNow;
        for (long n = 0; !LoadStopped; n++)
        {
            try
            {
                await body(n);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // A fault of the soak itself, or an answer it could not read: reported, and the load goes on.
                Fail($"{ex.GetType().Name}: {ex.Message}");
            }

            next += interval;
            var now = DateTime.UtcNow;
            if (next <= now)
            {
                next = now;
            }
            else
            {
                await Task.Delay(next - now);
            }
        }
    }
}
