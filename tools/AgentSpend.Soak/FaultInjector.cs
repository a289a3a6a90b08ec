using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace AgentSpend.Soak;

/// <summary>
/// While the load runs: every 30–60 s (seeded) SIGKILLs one instance and starts it again 1–3 s later on the same
/// port; once, in the middle third of the load, stops Azurite with SIGTERM, keeps it down about 10 s and starts it
/// again on the same ports and data folder (through the script hook, which uses scripts/lib.sh), waiting until it
/// listens. One fault at a time; none after the load ends, so the drain is measured without them.
/// </summary>
internal sealed partial class FaultInjector(SoakRun run, Cluster cluster)
{
    public static readonly TimeSpan OutageLength = TimeSpan.FromSeconds(10);

    private readonly Random _random = new(run.Options.Seed ^ 0x5EED);

    public List<string> Log { get; } = [];

    public int Kills { get; private set; }

    public TimeSpan? Outage { get; private set; }

    public async Task RunAsync(DateTime loadStart)
    {
        var length = run.LoadEnd - loadStart;
        var outageAt = loadStart + (length * (0.35 + (0.3 * _random.NextDouble())));
        var outageDone = false;
        var nextKill = DateTime.UtcNow + TimeSpan.FromSeconds(_random.Next(30, 61));
        while (!run.LoadStopped)
        {
            var outageFirst = !outageDone && outageAt <= nextKill + TimeSpan.FromSeconds(5);
            var at = outageFirst ? outageAt : nextKill;
            if (!await WaitUntilAsync(at))
            {
                break;
            }

            if (outageFirst)
            {
                await StorageOutageAsync();
                outageDone = true;
                nextKill = Max(nextKill, DateTime.UtcNow + TimeSpan.FromSeconds(_random.Next(5, 16)));
                continue;
            }

            var victim = _random.Next(Cluster.Size);
            var down = TimeSpan.FromMilliseconds(_random.Next(1000, 3001));
            var killedAt = run.Elapsed;
            await cluster.KillAsync(victim);
            Kills++;
            await Task.Delay(down);
            try
            {
                await RestartAsync(victim);
                Log.Add($"t={killedAt.TotalSeconds:F0}s SIGKILL instance {Cluster.Name(victim)}, restarted after {down.TotalSeconds:F1} s, healthy at t={run.Elapsed.TotalSeconds:F0}s");
            }
            catch (InvalidOperationException ex)
            {
                // The load goes on against the other instance; the end of the run tries once more.
                run.Fail($"instance {Cluster.Name(victim)} did not start again after its kill: {ex.Message}");
            }

            nextKill = DateTime.UtcNow + TimeSpan.FromSeconds(_random.Next(30, 61));
        }
    }

    /// <summary>Waits until <paramref name="at"/>; false when the load ends first.</summary>
    private async Task<bool> WaitUntilAsync(DateTime at)
    {
        while (DateTime.UtcNow < at)
        {
            if (run.LoadStopped)
            {
                return false;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(500, Math.Max(1, (at - DateTime.UtcNow).TotalMilliseconds))));
        }

        return !run.LoadStopped;
    }

    /// <summary>Starts an instance again; a start that fails is tried again (three times in all).</summary>
    public async Task RestartAsync(int instance)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await cluster.StartAsync(instance);
                return;
            }
            catch (InvalidOperationException ex) when (attempt < 3)
            {
                LogRestartFailed(run.Logger, ex, Cluster.Name(instance), attempt);
                await cluster.KillAsync(instance);
                await Task.Delay(2000);
            }
        }
    }

    private async Task StorageOutageAsync()
    {
        var started = Stopwatch.StartNew();
        var at = run.Elapsed;
        LogOutage(run.Logger, OutageLength.TotalSeconds);
        await HookAsync("--azurite-stop", run.Options.AzuritePidFile);
        var stopped = started.Elapsed;
        await Task.Delay(OutageLength);
        var (blob, queue, table) = (run.Options.AzuritePorts[0], run.Options.AzuritePorts[1], run.Options.AzuritePorts[2]);
        await HookAsync("--azurite-start", run.Options.AzuriteData, $"{blob}", $"{queue}", $"{table}", run.Options.AzuritePidFile);
        Outage = started.Elapsed;
        LogOutageOver(run.Logger, Outage.Value.TotalSeconds);
        Log.Add($"t={at.TotalSeconds:F0}s SIGTERM to Azurite (stopped after {stopped.TotalSeconds:F1} s), started again on the same ports and data folder, listening at t={run.Elapsed.TotalSeconds:F0}s: storage down {Outage.Value.TotalSeconds:F1} s");
    }

    private async Task HookAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo(run.Options.AzuriteHook) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var hook = Process.Start(start) ?? throw new InvalidOperationException($"{run.Options.AzuriteHook} did not start.");
        var output = hook.StandardOutput.ReadToEndAsync();
        var errors = hook.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await hook.WaitForExitAsync(timeout.Token);
        if (hook.ExitCode != 0)
        {
            throw new InvalidOperationException($"{run.Options.AzuriteHook} {string.Join(' ', arguments)} failed ({hook.ExitCode}): {await output}{await errors}");
        }
    }

    private static DateTime Max(DateTime a, DateTime b) => a > b ? a : b;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Storage outage: stopping Azurite with SIGTERM for {Seconds} s")]
    private static partial void LogOutage(ILogger logger, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Storage outage over: Azurite listening again after {Seconds:F1} s")]
    private static partial void LogOutageOver(ILogger logger, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Instance {Instance} did not start again (attempt {Attempt}); trying again")]
    private static partial void LogRestartFailed(ILogger logger, Exception exception, string instance, int attempt);
}
