using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace AgentSpend.Bench;

/// <summary>
/// Import benchmark: writes a Claude Code session file of --size-mib (default 100) to disk, starts the
/// app as its own process (so its memory is measured alone), uploads the file to /api/v1/import as a
/// stream, and prints lines/s, MiB/s and the app's peak RSS. The counts must come out exact.
/// </summary>
internal static class ImportBench
{
    private const string AdminKey = "as_bench_admin_key_0123456789abcdefghijkl";

    public static async Task<int> RunAsync(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            values[args[i].TrimStart('-')] = args[i + 1];
        }

        var sizeMib = int.Parse(values.GetValueOrDefault("size-mib", "100"), CultureInfo.InvariantCulture);
        var appDll = values["app-dll"];
        var connection = values["connection-string"];
        var file = Path.Combine(Path.GetTempPath(), $"agentspend-import-bench-{Environment.ProcessId}.jsonl");
        try
        {
            var expected = Generate(file, sizeMib * 1024L * 1024L);
            Console.WriteLine($"generated {new FileInfo(file).Length / 1048576.0:F1} MiB: {expected.Lines} lines, {expected.Responses} API responses in {expected.UsageLines} usage lines");

            var port = FreePort();
            using var app = StartApp(appDll, connection, port);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromMinutes(10) };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
            await WaitUntilUpAsync(http, app);

            await using var upload = File.OpenRead(file);
            using var content = new StreamContent(upload, 1 << 16);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
            var clock = Stopwatch.StartNew();
            using var response = await http.PostAsync("/api/v1/import?format=claude-code-jsonl", content);
            var seconds = clock.Elapsed.TotalSeconds;
            var body = await response.Content.ReadAsStringAsync();
            var peakRssMib = PeakRssMib(app.Id);
            StopApp(app);

            using var summary = JsonDocument.Parse(body);
            var root = summary.RootElement;
            var (lines, imported, duplicates) = ((long)response.StatusCode == 202 ? root.GetProperty("lines").GetInt64() : -1, root.TryGetProperty("imported", out var i) ? i.GetInt64() : -1, root.TryGetProperty("duplicates", out var d) ? d.GetInt64() : -1);
            Console.WriteLine($"import: {lines / seconds:F0} lines/s, {new FileInfo(file).Length / 1048576.0 / seconds:F1} MiB/s ({lines} lines in {seconds:F2} s)");
            Console.WriteLine($"peak RSS of the app: {peakRssMib:F0} MiB");
            Console.WriteLine($"targets: >= 50,000 lines/s {(lines / seconds >= 50_000 ? "met" : "NOT met")}; peak RSS < 300 MiB {(peakRssMib < 300 ? "met" : "NOT met")}");
            var exact = lines == expected.Lines && imported == expected.Responses && duplicates == expected.UsageLines - expected.Responses;
            Console.WriteLine(exact
                ? $"counts: exact ({imported} imported, {duplicates} duplicate content-block lines)"
                : $"counts: WRONG (status {(int)response.StatusCode}: {body[..Math.Min(400, body.Length)]})");
            return exact ? 0 : 1;
        }
        finally
        {
            File.Delete(file);
        }
    }

    private record struct Expected(long Lines, long UsageLines, long Responses);

    /// <summary>A realistic mix: prompts, answers split into two content-block lines each, tool results.</summary>
    private static Expected Generate(string path, long bytes)
    {
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        var text = string.Concat(Enumerable.Repeat("The quick brown fox jumps over the lazy dog. ", 20));
        long lines = 0, usage = 0, responses = 0;
        var session = Guid.NewGuid().ToString();
        var start = DateTimeOffset.UtcNow.AddHours(-6);
        // Stops one record group short of the size so a "100 MiB" file stays within the 100 MiB import limit.
        const int GroupBytesAtMost = 8 * 1024;
        while (writer.BaseStream.Length + GroupBytesAtMost <= bytes)
        {
            var at = start.AddMilliseconds(responses * 50).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
            writer.WriteLine($"{{\"type\":\"user\",\"sessionId\":\"{session}\",\"timestamp\":\"{at}\",\"message\":{{\"role\":\"user\",\"content\":\"{text[..300]}\"}}}}");
            var usageJson = $"\"usage\":{{\"input_tokens\":{100 + (responses % 50)},\"cache_creation_input_tokens\":{responses % 7},\"cache_read_input_tokens\":{1000 + (responses % 13)},\"output_tokens\":{20 + (responses % 30)}}}";
            for (var block = 0; block < 2; block++)
            {
                writer.WriteLine($"{{\"type\":\"assistant\",\"sessionId\":\"{session}\",\"timestamp\":\"{at}\",\"requestId\":\"req_bench_{responses}\",\"gitBranch\":\"main\",\"message\":{{\"id\":\"msg_bench_{responses}\",\"model\":\"claude-sonnet-4-5\",\"content\":[{{\"type\":\"text\",\"text\":\"{text[..(block == 0 ? 600 : 200)]}\"}}],{usageJson}}}}}");
            }

            writer.WriteLine($"{{\"type\":\"user\",\"sessionId\":\"{session}\",\"timestamp\":\"{at}\",\"toolUseResult\":{{\"stdout\":\"{text}\"}},\"message\":{{\"role\":\"user\",\"content\":[{{\"type\":\"tool_result\",\"content\":\"{text[..400]}\"}}]}}}}");
            lines += 4;
            usage += 2;
            responses++;
            writer.Flush();
        }

        return new Expected(lines, usage, responses);
    }

    private static Process StartApp(string appDll, string connection, int port)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(appDll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{port}");
        start.Environment["AzureWebJobsStorage"] = connection;
        start.Environment["AGENTSPEND_ADMIN_KEY"] = AdminKey;
        start.Environment["AGENTSPEND_SECRET_KEY"] = StandaloneApp.RunSecretKey;
        start.Environment["AGENTSPEND_LOCAL_TRIGGERS"] = "false"; // the import path alone: aggregation is measured by bench.sh
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        var process = Process.Start(start) ?? throw new InvalidOperationException("the app did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { Console.Error.WriteLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitUntilUpAsync(HttpClient http, Process app)
    {
        for (var i = 0; i < 300; i++)
        {
            if (app.HasExited)
            {
                throw new InvalidOperationException("the app exited during start-up");
            }

            try
            {
                if ((await http.GetAsync("/api/v1/metrics/overview")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("the app did not answer within 30 s");
    }

    /// <summary>VmHWM: the most resident memory the process has had.</summary>
    private static double PeakRssMib(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
    }

    private static void StopApp(Process app)
    {
        if (!app.HasExited)
        {
            app.Kill(entireProcessTree: true);
            app.WaitForExit(10_000);
        }
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
