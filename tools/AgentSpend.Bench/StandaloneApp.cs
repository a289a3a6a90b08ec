using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace AgentSpend.Bench;

/// <summary>
/// The app as <c>scripts/run.sh</c> runs it: its own process, started from its own build output with its own
/// runtime settings (server GC among them), so that a benchmark's client shares neither its thread pool nor its
/// garbage collector. Its output goes to a log file that is shown when it fails to start.
/// Shared with the soak (tools/AgentSpend.Soak links this file), which runs two of them from the Functions build
/// output on fixed ports, keeps their logs, and kills them with SIGKILL.
/// </summary>
internal sealed class StandaloneApp : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _logPath;
    private readonly bool _keepLog;

    private StandaloneApp(Process process, Uri baseAddress, string logPath, bool keepLog)
    {
        _process = process;
        BaseAddress = baseAddress;
        _logPath = logPath;
        _keepLog = keepLog;
    }

    public Uri BaseAddress { get; }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The CPU time the app's process has used so far.</summary>
    public TimeSpan ProcessorTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <summary>The key that encrypts stored secrets in every app of this run (random, never stored).</summary>
    public static string RunSecretKey { get; } = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    /// <param name="settings">App settings, as environment variables.</param>
    /// <param name="port">The port to listen on; a free one when null.</param>
    /// <param name="appDirectory">The app's build output; this program's own directory (which holds a copy) when null.</param>
    /// <param name="logPath">Where its output goes, kept after it stops; a temporary file, deleted when it stops, when null.</param>
    public static async Task<StandaloneApp> StartAsync(IReadOnlyDictionary<string, string> settings, int? port = null, string? appDirectory = null, string? logPath = null)
    {
        var listenPort = port ?? FreePort();
        var directory = appDirectory ?? AppContext.BaseDirectory;
        var keepLog = logPath is not null;
        logPath ??= Path.Combine(Path.GetTempPath(), $"agentspend-bench-app-{listenPort}.log");
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(directory, "AgentSpend.Functions.dll"));
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{listenPort}");
        start.Environment["DOTNET_ENVIRONMENT"] = "Benchmark";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        // One key for every app this run starts, so that instances restarted on the same storage read what the others encrypted.
        start.Environment["AGENTSPEND_SECRET_KEY"] = RunSecretKey;
        foreach (var (name, value) in settings)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        var log = new StreamWriter(logPath) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => WriteLine(log, e.Data);
        process.ErrorDataReceived += (_, e) => WriteLine(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.Exited += (_, _) => log.Dispose();
        process.EnableRaisingEvents = true;

        var app = new StandaloneApp(process, new Uri($"http://127.0.0.1:{listenPort}"), logPath, keepLog);
        using var http = new HttpClient { BaseAddress = app.BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline && !process.HasExited)
        {
            try
            {
                using var health = await http.GetAsync("/api/health");
                if (health.StatusCode == HttpStatusCode.OK)
                {
                    return app;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(200);
        }

        await app.DisposeAsync();
        throw new InvalidOperationException($"The app did not answer /api/health within 60 s; its output:{Environment.NewLine}{File.ReadAllText(logPath)}");
    }

    /// <summary>SIGKILL: the process ends at once, with whatever it held in memory, as a crashed instance does.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: false);
        }

        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // SIGTERM, as run.sh stops it: a graceful shutdown that flushes what the app holds.
            using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        _process.Dispose();
        if (!_keepLog)
        {
            File.Delete(_logPath);
        }
    }

    private static void WriteLine(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            try
            {
                log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                // The process ended while its last lines were in flight.
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
