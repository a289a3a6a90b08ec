using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace AgentSpend.Bench;

/// <summary>
/// The app as <c>scripts/run.sh</c> runs it: its own process, started from its own build output with its own
/// runtime settings (server GC among them), so that a benchmark's client shares neither its thread pool nor its
/// garbage collector. Its output goes to a log file that is shown when it fails to start.
/// </summary>
internal sealed class StandaloneApp : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _logPath;

    private StandaloneApp(Process process, Uri baseAddress, string logPath)
    {
        _process = process;
        BaseAddress = baseAddress;
        _logPath = logPath;
    }

    public Uri BaseAddress { get; }

    /// <summary>The CPU time the app's process has used so far.</summary>
    public TimeSpan ProcessorTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    public static async Task<StandaloneApp> StartAsync(IReadOnlyDictionary<string, string> settings)
    {
        var port = FreePort();
        var logPath = Path.Combine(Path.GetTempPath(), $"agentspend-bench-app-{port}.log");
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "AgentSpend.Functions.dll"));
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{port}");
        start.Environment["DOTNET_ENVIRONMENT"] = "Benchmark";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
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

        var app = new StandaloneApp(process, new Uri($"http://127.0.0.1:{port}"), logPath);
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
        File.Delete(_logPath);
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
