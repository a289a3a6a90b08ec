using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Storage.Azure;

namespace AgentSpend.Integration.Tests.Infrastructure;

/// <summary>
/// A private Azurite for one test class: free ports on 127.0.0.1, data in a temporary folder,
/// telemetry off, stopped with SIGTERM.
/// </summary>
public sealed partial class AzuriteFixture : IAsyncLifetime
{
    private const string Account = "devstoreaccount1";
    private const string DevKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private Process? _process;
    private string _dataDirectory = "";
    private string _script = "";
    private (int Blob, int Queue, int Table) _ports;

    public string ConnectionString { get; private set; } = "";

    public StorageRequestCounter Counter { get; } = new();

    public IStorageProvider Storage { get; private set; } = null!;

    public int BlobPort => _ports.Blob;

    public int QueuePort => _ports.Queue;

    public int TablePort => _ports.Table;

    public async Task InitializeAsync()
    {
        _script = LocateAzurite();
        _dataDirectory = Directory.CreateTempSubdirectory("agentspend-azurite-").FullName;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                _ports = (FreePort(), FreePort(), FreePort());
                await StartAsync();
                return;
            }
            catch (InvalidOperationException) when (attempt < 3 && _process is { HasExited: true })
            {
                // Another process took one of the free ports between the probe and Azurite's bind: try new ones.
                _process.Dispose();
            }
        }
    }

    /// <summary>A storage outage: stops Azurite with SIGTERM (its data stays on disk) until <see cref="RestartAsync"/>.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false })
        {
            _ = Kill(_process.Id, 15);
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>Starts Azurite again on the same ports and data folder, as after an outage.</summary>
    public Task RestartAsync()
    {
        _process?.Dispose();
        return StartAsync();
    }

    private async Task StartAsync()
    {
        var script = _script;
        var (blob, queue, table) = _ports;
        var start = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     script, "--disableTelemetry", "--silent", "--location", _dataDirectory,
                     "--blobHost", "127.0.0.1", "--blobPort", blob.ToString(),
                     "--queueHost", "127.0.0.1", "--queuePort", queue.ToString(),
                     "--tableHost", "127.0.0.1", "--tablePort", table.ToString(),
                 })
        {
            start.ArgumentList.Add(arg);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await WaitForPortAsync(table);
        await WaitForPortAsync(queue);
        await WaitForPortAsync(blob);

        // A port can answer for another process that took it between the probe and Azurite's bind (another test class's
        // Azurite, a relay): Azurite then exits on its failed bind a moment later. Seen on a busy run; caught here and
        // retried on new ports, instead of a whole test class failing on a server that went away.
        await Task.Delay(500);
        if (_process.HasExited)
        {
            throw new InvalidOperationException($"Azurite exited during start-up with code {_process.ExitCode} (a port was taken).");
        }

        ConnectionString = ConnectionStringFor(blob, queue, table);
        Storage ??= new AzureStorageProvider(new StorageConnectionSettings { ConnectionString = ConnectionString }, Counter);
    }

    public async Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _ = Kill(_process.Id, 15); // SIGTERM: Azurite flushes on it; SIGKILL would lose writes
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill();
            }
        }

        _process?.Dispose();
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // best effort: a temp folder
        }
    }

    /// <summary>The connection string of this account at other ports (those of a proxy in front of Azurite).</summary>
    public static string ConnectionStringFor(int blob, int queue, int table) =>
        $"DefaultEndpointsProtocol=http;AccountName={Account};AccountKey={DevKey};" +
        $"BlobEndpoint=http://127.0.0.1:{blob}/{Account};QueueEndpoint=http://127.0.0.1:{queue}/{Account};TableEndpoint=http://127.0.0.1:{table}/{Account};";

    /// <summary>A port nothing listens on now, and never handed out before in this test run (the tests start many servers at once).</summary>
    public static int FreePort()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            lock (HandedOut)
            {
                if (HandedOut.Add(port))
                {
                    return port;
                }
            }
        }
    }

    private static readonly HashSet<int> HandedOut = [];

    /// <summary>AZURITE_JS, or the copy scripts/test.sh installs under .tools/azurite.</summary>
    public static string LocateAzurite()
    {
        if (Environment.GetEnvironmentVariable("AZURITE_JS") is { Length: > 0 } configured && File.Exists(configured))
        {
            return configured;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, ".tools", "azurite", "node_modules", "azurite", "dist", "src", "azurite.js");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("Azurite is not installed: run scripts/test.sh (it installs the pinned version into .tools/azurite), or set AZURITE_JS.");
    }

    private async Task WaitForPortAsync(int port)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (_process!.HasExited)
            {
                throw new InvalidOperationException($"Azurite exited during start-up with code {_process.ExitCode}.");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        throw new TimeoutException($"Azurite did not listen on port {port} within 20 s.");
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    internal static partial int Kill(int pid, int signal);
}
