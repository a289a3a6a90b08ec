using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using AgentSpend.Bench;
using Microsoft.Extensions.Logging;

namespace AgentSpend.Soak;

/// <summary>
/// Two app instances on one storage account, each its own process started from the Functions build output, each
/// on a port of its own that it keeps across restarts, both running the queue trigger (so both aggregate).
/// Each incarnation of an instance writes its own log file, kept for the report.
/// </summary>
internal sealed partial class Cluster(SoakOptions options, string adminKey, ILogger logger) : IAsyncDisposable
{
    public const int Size = 2;

    private readonly StandaloneApp?[] _apps = new StandaloneApp?[Size];
    private readonly int[] _ports = [.. Enumerable.Range(0, Size).Select(_ => FreePort())];
    private readonly int[] _incarnations = new int[Size];
    private readonly Lock _lock = new();
    private int _next = -1;

    public static string Name(int instance) => instance == 0 ? "A" : "B";

    public Uri Address(int instance) => new($"http://127.0.0.1:{_ports[instance]}");

    public IReadOnlyList<string> LogFiles { get; private set; } = [];

    /// <summary>Where the next request starts: the instances take turns, as behind a load balancer.</summary>
    public int NextInstance() => (int)((uint)Interlocked.Increment(ref _next) % Size);

    public async Task StartAsync(int instance)
    {
        int incarnation;
        lock (_lock)
        {
            incarnation = ++_incarnations[instance];
        }

        var log = Path.Combine(options.LogDirectory, $"instance-{Name(instance)}-{incarnation}.log");
        var clock = Stopwatch.StartNew();
        var app = await StandaloneApp.StartAsync(
            new Dictionary<string, string>
            {
                ["AzureWebJobsStorage"] = options.ConnectionString,
                ["AGENTSPEND_ADMIN_KEY"] = adminKey,
                // Warnings and errors of the app's own code (failed messages, poisoned ones); the runtime's at Warning too.
                ["Logging__LogLevel__AgentSpend"] = "Warning",
                // UTC times on every entry, to line the instances' failures up with the faults (the soak logs in UTC too).
                ["Logging__Console__TimestampFormat"] = "HH:mm:ss.fff ",
                ["Logging__Console__UseUtcTimestamp"] = "true",
            },
            _ports[instance], options.AppDirectory, log);
        lock (_lock)
        {
            _apps[instance] = app;
            LogFiles = [.. LogFiles, log];
            WritePids();
        }

        var (name, pid, port, seconds) = (Name(instance), app.ProcessId, _ports[instance], clock.Elapsed.TotalSeconds);
        LogStarted(logger, name, incarnation, pid, port, seconds);
    }

    /// <summary>SIGKILL, as a crash or an out-of-memory kill does: nothing is flushed, no lease is given back.</summary>
    public async Task KillAsync(int instance)
    {
        StandaloneApp? app;
        lock (_lock)
        {
            app = _apps[instance];
            _apps[instance] = null;
            WritePids();
        }

        if (app is not null)
        {
            var pid = app.ProcessId;
            await app.KillAsync();
            await app.DisposeAsync();
            LogKilled(logger, Name(instance), pid);
        }
    }

    public bool IsRunning(int instance)
    {
        lock (_lock)
        {
            return _apps[instance] is { HasExited: false };
        }
    }

    /// <summary>Stops both with SIGTERM (a graceful shutdown), as run.sh does.</summary>
    public async ValueTask DisposeAsync()
    {
        for (var i = 0; i < Size; i++)
        {
            StandaloneApp? app;
            lock (_lock)
            {
                app = _apps[i];
                _apps[i] = null;
            }

            if (app is not null)
            {
                await app.DisposeAsync();
            }
        }
    }

    /// <summary>The instances' PIDs, for scripts/soak.sh to stop them should this program end without doing so.</summary>
    private void WritePids() =>
        File.WriteAllText(Path.Combine(options.LogDirectory, "instances.pid"), string.Join('\n', _apps.Where(a => a is not null).Select(a => a!.ProcessId)) + "\n");

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Instance {Instance} #{Incarnation} up: pid {Pid}, port {Port}, healthy after {Seconds:F1} s")]
    private static partial void LogStarted(ILogger logger, string instance, int incarnation, int pid, int port, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Instance {Instance} (pid {Pid}) killed with SIGKILL")]
    private static partial void LogKilled(ILogger logger, string instance, int pid);
}
