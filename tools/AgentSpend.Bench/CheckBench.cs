using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace AgentSpend.Bench;

/// <summary>
/// Drives POST /api/v1/check with concurrent clients while 100 block budgets are in force (the workspace's, and
/// those of 20 teams, 20 users, 50 agents and 9 models), over usage of every one of them, in two runs:
/// <list type="bullet">
/// <item>flat out: every client sends its next check as soon as its last is answered; this gives the throughput
/// (target: at least 3,000 checks/s) and the latency at saturation, where by Little's law the mean is
/// clients / throughput, however fast each check is;</item>
/// <item>at the target rate: the same clients paced to 3,000 checks/s together, each check due at a fixed time and
/// timed from then, not from when it went out (so a stall counts for every check it delays); after one such run
/// as warm-up, this gives the latency a caller sees at that load (target: p99 at most 10 ms);</item>
/// <item>the floor: GET /api/health, which does nothing, paced the same way: the tail this machine and this
/// client put on any request; and, during both paced runs, how late a thread of the client that sleeps 1 ms wakes,
/// and the client's own garbage collections.</item>
/// </list>
/// The app runs in a process of its own (<see cref="StandaloneApp"/>), with its own runtime settings.
/// </summary>
internal static class CheckBench
{
    private const int Agents = 50;
    private const int TargetRate = 3000;
    private static readonly TimeSpan PacedDuration = TimeSpan.FromSeconds(10);

    public static async Task<bool> RunAsync(HttpClient http, StandaloneApp app, int clients, int checks)
    {
        // Usage for every agent, team, user and model, so that each budget has something to measure.
        var now = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O");
        var events = Enumerable.Range(0, 1000).Select(i => new
        {
            agent_name = $"agent-{i % Agents:D2}", provider = "p", model = $"model-{i % 9}", team = $"team-{i % 20}", user_id = $"user-{i % 20}",
            timestamp = now, input_tokens = 100, cost_usd = 0.001m, idempotency_key = $"check-bench-{i}",
        }).ToArray();
        using (var ingest = await http.PostAsJsonAsync("/api/v1/ingest", new { events }))
        {
            ingest.EnsureSuccessStatusCode();
        }

        await WaitForAgentsAsync(http);
        var budgets = new List<object> { new { scope = "workspace", metric = "cost_usd", period = "monthly", limit = 1_000_000m, action = "block" } };
        budgets.AddRange(Enumerable.Range(0, 20).Select(i => (object)new { scope = "team", scope_value = $"team-{i}", metric = "tokens", period = "daily", limit = 1e12m, action = "block" }));
        budgets.AddRange(Enumerable.Range(0, 20).Select(i => (object)new { scope = "user", scope_value = $"user-{i}", metric = "calls", period = "weekly", limit = 1e9m, action = "block" }));
        budgets.AddRange(Enumerable.Range(0, Agents).Select(i => (object)new { scope = "agent", scope_value = $"agent-{i:D2}", metric = "cost_usd", period = "rolling_5h", limit = 1e6m, action = "block" }));
        budgets.AddRange(Enumerable.Range(0, 9).Select(i => (object)new { scope = "model", scope_value = $"model-{i}", metric = "cost_usd", period = "total", limit = 1e6m, action = "block" }));
        foreach (var budget in budgets)
        {
            using var created = await http.PostAsJsonAsync("/api/v1/budgets", budget);
            if (created.StatusCode != HttpStatusCode.Created)
            {
                Console.WriteLine($"check: FAILED to create a budget: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync()}");
                return false;
            }
        }

        var bodies = Enumerable.Range(0, 997).Select(i => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            agent_name = $"agent-{i % Agents:D2}", team = $"team-{i % 20}", user_id = $"user-{i % 20}", model = $"model-{i % 9}", estimated_cost_usd = 0.01m,
        }))).ToArray();

        // Warm-up: the first check of the workspace reads every budget's usage.
        for (var i = 0; i < 200; i++)
        {
            await CheckAsync(http, bodies[i % bodies.Length]);
        }

        var failures = 0;
        var latencies = new double[checks];
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            for (var i = Interlocked.Increment(ref next); i < checks; i = Interlocked.Increment(ref next))
            {
                var start = Stopwatch.GetTimestamp();
                if (!await CheckAsync(http, bodies[i % bodies.Length]))
                {
                    Interlocked.Increment(ref failures);
                }

                latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
        }));
        var seconds = clock.Elapsed.TotalSeconds;
        var rate = checks / seconds;
        Console.WriteLine($"check: {rate:F0} checks/s flat out ({checks} checks, {clients} clients, {budgets.Count} block budgets, {seconds:F2} s; target >= {TargetRate:N0}/s: {(rate >= TargetRate ? "met" : "NOT met")})");
        Console.WriteLine($"check latency flat out: {Percentiles(latencies)} (saturated: the mean is {clients} clients / throughput = {clients * 1000 / rate:F1} ms)");

        // Paced: request k is due at k / TargetRate seconds; client c sends requests c, c + clients, c + 2 * clients...
        // The same run against GET /api/health (no storage, no work) gives the floor this machine sets, and a thread
        // that sleeps 1 ms at a time shows how late the process itself gets to run.
        // One paced run first, not counted: the flat-out run leaves tiered JIT, caches and the GC's budgets tuned for
        // saturation, and the first paced seconds measure that settling more than the check.
        await PacedAsync(clients, k => CheckAsync(http, bodies[k % bodies.Length]), () => Interlocked.Increment(ref failures));
        using (var hiccups = new HiccupMeter())
        {
            var (appCpu, clientCpu) = (app.ProcessorTime, Process.GetCurrentProcess().TotalProcessorTime);
            var (paced, sentLate) = await PacedAsync(clients, k => CheckAsync(http, bodies[k % bodies.Length]), () => Interlocked.Increment(ref failures));
            var pacedP99 = Percentile(paced, 99);
            Console.WriteLine($"check latency at {TargetRate:N0} checks/s ({paced.Length} checks paced over {PacedDuration.TotalSeconds:F0} s by {clients} clients, timed from when each was due): {Percentiles(paced)} (target p99 <= 10 ms: {(pacedP99 <= 10 ? "met" : "NOT met")})");
            Console.WriteLine($"  of which sent late by the client: {Percentiles(sentLate)}");
            Console.WriteLine($"  CPU a check: the app {(app.ProcessorTime - appCpu).TotalMicroseconds / paced.Length:F0} µs, the client {(Process.GetCurrentProcess().TotalProcessorTime - clientCpu).TotalMicroseconds / paced.Length:F0} µs");
            Console.WriteLine($"  process hiccups meanwhile (a thread sleeping 1 ms, how late it woke): {Percentiles(hiccups.Stop())}; {hiccups.GarbageCollections()}; {hiccups.Machine()}");
        }

        using (var hiccups = new HiccupMeter())
        {
            var (floor, floorSentLate) = await PacedAsync(clients, async _ =>
            {
                using var response = await http.GetAsync("/api/health");
                await response.Content.ReadAsByteArrayAsync();
                return response.IsSuccessStatusCode;
            }, () => Interlocked.Increment(ref failures));
            Console.WriteLine($"floor: GET /api/health paced the same way: {Percentiles(floor)} (sent late by the client: {Percentiles(floorSentLate)}); process hiccups meanwhile: {Percentiles(hiccups.Stop())}; {hiccups.GarbageCollections()}; {hiccups.Machine()}");
        }

        if (failures > 0)
        {
            Console.WriteLine($"check: {failures} checks were not allowed though every budget had room: WRONG");
        }

        return failures == 0;
    }

    /// <summary>
    /// Sends request k at its due time (k / TargetRate s after the start) from client k mod clients; returns each one's
    /// latency from its due time, and how late after it the client got to send it.
    /// </summary>
    private static async Task<(double[] Latencies, double[] SentLate)> PacedAsync(int clients, Func<int, Task<bool>> send, Action failed)
    {
        var latencies = new double[(int)(TargetRate * PacedDuration.TotalSeconds)];
        var late = new double[latencies.Length];
        var origin = Stopwatch.GetTimestamp() + (Stopwatch.Frequency / 10);
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async c =>
        {
            for (var k = c; k < latencies.Length; k += clients)
            {
                var due = origin + (long)(k * (double)Stopwatch.Frequency / TargetRate);
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait);
                }

                late[k] = Stopwatch.GetElapsedTime(due).TotalMilliseconds;
                if (!await send(k))
                {
                    failed();
                }

                latencies[k] = Stopwatch.GetElapsedTime(due).TotalMilliseconds;
            }
        }));
        return (latencies, late);
    }

    /// <summary>A thread that sleeps 1 ms at a time and records how late it wakes: stalls of the whole process (GC, CPU taken away) show up here.</summary>
    private sealed class HiccupMeter : IDisposable
    {
        private readonly List<double> _late = [];
        private readonly Thread _thread;
        private readonly int[] _collectionsAtStart = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
        private readonly TimeSpan _pausedAtStart = GC.GetTotalPauseDuration();
        private readonly long[]? _cpuAtStart = MachineCpu();
        private volatile bool _stop;

        public HiccupMeter()
        {
            _thread = new Thread(() =>
            {
                while (!_stop)
                {
                    var start = Stopwatch.GetTimestamp();
                    Thread.Sleep(1);
                    _late.Add(Math.Max(0, Stopwatch.GetElapsedTime(start).TotalMilliseconds - 1));
                }
            }) { IsBackground = true, Priority = ThreadPriority.Highest };
            _thread.Start();
        }

        public double[] Stop()
        {
            _stop = true;
            _thread.Join();
            return [.. _late];
        }

        /// <summary>
        /// How busy the machine's CPUs were since the start, and how much of their time the hypervisor gave to other
        /// machines ("steal"): while a virtual CPU is stolen, every thread on it stalls, whatever it was doing.
        /// </summary>
        public string Machine()
        {
            if (_cpuAtStart is null || MachineCpu() is not { } now)
            {
                return "machine CPU: not readable here";
            }

            var delta = now.Zip(_cpuAtStart, (b, a) => b - a).ToArray();
            var total = (double)Math.Max(1, delta.Sum());
            var idle = delta[3] + delta[4];
            return $"machine CPU busy {100 * (total - idle - delta[7]) / total:F0}%, stolen by the hypervisor {100 * delta[7] / total:F0}%";
        }

        /// <summary>The first eight counters of /proc/stat's "cpu" line: user, nice, system, idle, iowait, irq, softirq, steal.</summary>
        private static long[]? MachineCpu()
        {
            try
            {
                var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return [.. fields.Skip(1).Take(8).Select(f => long.Parse(f, System.Globalization.CultureInfo.InvariantCulture))];
            }
            catch (IOException)
            {
                return null;
            }
        }

        /// <summary>The client's garbage collections since the start, and how long they paused it in all.</summary>
        public string GarbageCollections() =>
            $"client GCs gen0/1/2 {GC.CollectionCount(0) - _collectionsAtStart[0]}/{GC.CollectionCount(1) - _collectionsAtStart[1]}/{GC.CollectionCount(2) - _collectionsAtStart[2]}, " +
            $"paused {(GC.GetTotalPauseDuration() - _pausedAtStart).TotalMilliseconds:F0} ms ({(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")} GC)";

        public void Dispose()
        {
            if (!_stop)
            {
                Stop();
            }
        }
    }

    private static string Percentiles(double[] latencies) =>
        $"p50 {Percentile(latencies, 50):F2} ms, p99 {Percentile(latencies, 99):F2} ms, max {latencies.Max():F2} ms";

    private static double Percentile(double[] latencies, int pct)
    {
        var sorted = latencies.Order().ToArray();
        return sorted[Math.Max(1, ((pct * sorted.Length) + 99) / 100) - 1];
    }

    private static async Task<bool> CheckAsync(HttpClient http, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await http.PostAsync("/api/v1/check", content);
        await response.Content.ReadAsByteArrayAsync();
        return response.StatusCode == HttpStatusCode.OK;
    }

    private static async Task WaitForAgentsAsync(HttpClient http)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            using var response = await http.GetAsync("/api/v1/metrics/overview?range=today");
            var overview = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            if (overview.GetProperty("events").GetInt64() >= 1000)
            {
                return;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException("The check benchmark's usage was not counted within 60 s.");
    }
}
