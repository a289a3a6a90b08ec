using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Storage.Azure;
using AgentSpend.Soak;
using Microsoft.Extensions.Logging;

// Azurite is started and stopped by scripts/soak.sh through as_start_azurite (scripts/lib.sh): 127.0.0.1, --disableTelemetry, data on disk, SIGTERM.
// The soak under faults (issue 15, "Nothing accepted is ever lost"): two app instances on one Azurite, a mixed load
// retried until accepted, instances SIGKILLed and Azurite stopped once; then every total against the oracle, the
// poison queues and the reservations. Run by scripts/soak.sh, which starts Azurite and passes its ports and hook.
SoakOptions options;
try
{
    options = SoakOptions.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}

using var loggerFactory = LoggerFactory.Create(b => b
    .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; o.UseUtcTimestamp = true; })
    .SetMinimumLevel(LogLevel.Information));
var logger = loggerFactory.CreateLogger("soak");
Directory.CreateDirectory(options.LogDirectory);
Console.WriteLine($"soak: seed {options.Seed}, {options.Minutes} min of load, faults {(options.Faults ? "on" : "off")}, " +
                  $"native batches of {options.NativeBatch} every {options.NativeIntervalSeconds} s with {options.ResendPct} % resent");

// The instance admin key: generated for this run, never written anywhere but the instances' environment.
var adminKey = "as_soak_admin_" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
var storage = new AzureStorageProvider(new StorageConnectionSettings { ConnectionString = options.ConnectionString }, new StorageRequestCounter());
await using var cluster = new Cluster(options, adminKey, logger);
await Task.WhenAll(Enumerable.Range(0, Cluster.Size).Select(cluster.StartAsync));
await File.WriteAllTextAsync(Path.Combine(options.LogDirectory, "ports"), string.Join(' ', Enumerable.Range(0, Cluster.Size).Select(i => cluster.Address(i).Port)));

using var sender = new Sender(cluster, options.Seed, loggerFactory.CreateLogger("soak.client"));
var oracle = new Oracle();
var run = new SoakRun(options, oracle, sender, logger);

// One workspace per source, each with a key of its own.
string[] adminScope = ["admin"];
foreach (var label in Loads.WorkspaceLabels)
{
    var created = await sender.PostJsonAsync("setup", adminKey, "/api/v1/workspaces", JsonSerializer.Serialize(new { name = $"soak {label} {run.Tag}" }), 201);
    var id = created.Reply?.Json()?.GetProperty("id").GetString() ?? throw new InvalidOperationException($"Could not create workspace {label}: {created.Failure}");
    var key = await sender.PostJsonAsync("setup", adminKey, $"/api/v1/workspaces/{id}/keys", JsonSerializer.Serialize(new { name = "soak", scopes = adminScope }), 201);
    run.Workspaces[label] = new SoakWorkspace(label, id, key.Reply?.Json()?.GetProperty("key").GetString() ?? throw new InvalidOperationException($"Could not create a key of {label}: {key.Failure}"));
}

var reservations = new Reservations(run);
await reservations.CreateBudgetAsync();

var keyless = new KeylessLedger(Loads.KeylessEvent * Loads.KeylessBatchSize);
var loadStart = DateTime.UtcNow;
var loadClock = Stopwatch.StartNew();
run.LoadEnd = loadStart + TimeSpan.FromMinutes(options.Minutes);
Log.LoadStarted(logger, options.Minutes, run.LoadEnd);
var sent = new Loads.SentEvents(20_000);
var loads = new List<Task>
{
    Loads.NativeAsync(run, 0, 2, sent),
    Loads.NativeAsync(run, 1, 2, sent),
    Loads.KeylessAsync(run, keyless),
    Loads.OtlpLogsAsync(run),
    Loads.OtlpMetricsAsync(run),
    Loads.SessionImportAsync(run),
    reservations.RunAsync(),
};
var injector = new FaultInjector(run, cluster);
var faults = options.Faults ? injector.RunAsync(loadStart) : Task.CompletedTask;
using var monitorStop = new CancellationTokenSource();
var maxDataMib = 0.0;
var monitor = Task.Run(async () =>
{
    var lastReport = TimeSpan.Zero;
    while (!monitorStop.IsCancellationRequested)
    {
        var mib = DataMib(options.AzuriteData);
        maxDataMib = Math.Max(maxDataMib, mib);
        if (mib > options.MaxDataMib && !run.LoadStopped)
        {
            Log.DataCap(logger, mib, options.MaxDataMib);
            run.Fail($"the load was stopped early: Azurite's data reached {mib:F0} MiB (cap {options.MaxDataMib})");
            run.StopLoad();
        }

        if (run.Elapsed - lastReport >= TimeSpan.FromSeconds(15))
        {
            lastReport = run.Elapsed;
            var depth = await QueueDepthAsync(storage, StorageNames.IngestQueue);
            var poison = await QueueDepthAsync(storage, StorageNames.PoisonQueueOf(StorageNames.IngestQueue));
            var (seconds, accepted, retries, failed) = (run.Elapsed.TotalSeconds, run.Figure("native events accepted"), sender.Stats.Values.Sum(s => s.Retries), run.Failures.Count);
            Log.Progress(logger, seconds, accepted, depth, poison, mib, retries, failed);
        }

        try
        {
            await Task.Delay(2000, monitorStop.Token);
        }
        catch (OperationCanceledException)
        {
            break;
        }
    }
});

await Task.WhenAll(loads);
var loadSeconds = loadClock.Elapsed.TotalSeconds;
run.StopLoad();
await faults;
for (var i = 0; i < Cluster.Size; i++)
{
    if (!cluster.IsRunning(i))
    {
        try
        {
            await injector.RestartAsync(i);
        }
        catch (InvalidOperationException ex)
        {
            run.Fail($"instance {Cluster.Name(i)} did not start again: {ex.Message}");
        }
    }
}

Log.LoadOver(logger, loadSeconds, options.DrainSeconds);
var drainClock = Stopwatch.StartNew();
var drained = false;
for (var zeros = 0; drainClock.Elapsed < TimeSpan.FromSeconds(options.DrainSeconds);)
{
    // The approximate count includes messages under lease or waiting for a retry: 0 twice in a row means done.
    zeros = await QueueDepthAsync(storage, StorageNames.IngestQueue) == 0 ? zeros + 1 : 0;
    if (zeros == 2)
    {
        drained = true;
        break;
    }

    await Task.Delay(500);
}

var drainSeconds = drainClock.Elapsed.TotalSeconds;
var endToEndSeconds = loadClock.Elapsed.TotalSeconds;
var problems = new List<string>();
if (!drained)
{
    problems.Add($"usage-ingest: {await QueueDepthAsync(storage, StorageNames.IngestQueue)} messages still queued {options.DrainSeconds} s after the load");
}

problems.AddRange(await reservations.CheckReleasedAsync(storage));
var verifier = new Verifier(run, cluster);
var wait = reservations.AllExpireBy - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(4);
if (wait > TimeSpan.Zero)
{
    var waitSeconds = wait.TotalSeconds;
    Log.WaitingForTtl(logger, waitSeconds);
    await Task.Delay(wait);
}

var (from, to) = await verifier.CompareAsync(keyless);
var (reservationProblems, reservationSummary) = await reservations.CheckExpiredAsync(storage);
problems.AddRange(reservationProblems);
problems.AddRange(await verifier.PoisonAsync(storage));
await monitorStop.CancelAsync();
await monitor;
maxDataMib = Math.Max(maxDataMib, DataMib(options.AzuriteData));

// Figures, one a line.
var stats = sender.Stats;
long Stat(Func<KindStats, long> f) => stats.Values.Sum(f);
var counted = Loads.WorkspaceLabels.Where(l => l != Loads.Keyless).Sum(l => oracle.Contributions(l).Sum(c => c.Usage.Events)) + (keyless.AcceptedCount * (long)Loads.KeylessBatchSize);
Console.WriteLine($"soak: load {loadSeconds:F0} s; {Stat(s => s.Requests)} requests ({string.Join(", ", stats.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key} {k.Value.Requests}"))})");
Console.WriteLine($"soak: retries {Stat(s => s.Retries)} (connection refused {Stat(s => s.Refused)}, connection lost or timed out {Stat(s => s.Lost)}, 5xx {Stat(s => s.ServerErrors)}, 429 {Stat(s => s.RateLimited)}); gave up {Stat(s => s.GaveUp)}, unexpected answers {Stat(s => s.Unexpected)}");
var newEvents = run.Figure("native events new");
var resentEvents = run.Figure("native events resent");
Console.WriteLine($"soak: native: {run.Figure("native batches")} batches, {newEvents} new events + {resentEvents} resent ({100.0 * resentEvents / Math.Max(1, newEvents + resentEvents):F1} %), {run.Figure("native events accepted")} accepted in 202s, {oracle.Keys(Loads.Native)} distinct");
Console.WriteLine($"soak: keyless: {run.Figure("keyless batches")} batches of {Loads.KeylessBatchSize}, {keyless.AcceptedCount} accepted, {keyless.AllowedCopies} failed attempts that may have queued a copy, {run.Figure("keyless batches counted twice after an ambiguous failure (allowed)")} copies counted");
Console.WriteLine($"soak: otlp: logs {run.Figure("otlp logs payloads")} payloads + {run.Figure("otlp logs resends")} resends ({oracle.Keys(Loads.OtlpLogs)} calls); metrics {run.Figure("otlp metrics payloads")} payloads + {run.Figure("otlp metrics resends")} resends");
Console.WriteLine($"soak: session import: {run.Figure("session files")} session files, {run.Figure("session re-imports after growth")} re-imports after growth, {oracle.Keys(Loads.SessionImport)} responses");
Console.WriteLine($"soak: checks: {run.Figure("checks")} reserving checks; {reservationSummary}");
Console.WriteLine($"soak: faults: {(options.Faults ? $"{injector.Kills} kills, storage outage {(injector.Outage is { } o ? $"{o.TotalSeconds:F1} s" : "none (the load ended first)")}" : "none (--no-faults)")}");
foreach (var line in injector.Log)
{
    Console.WriteLine($"soak:   {line}");
}

Console.WriteLine($"soak: drain: {(drained ? $"{drainSeconds:F1} s" : $"NOT drained in {drainSeconds:F0} s")} after the load; counted {counted} events in {endToEndSeconds:F0} s (first request to queue drained): {counted / endToEndSeconds:F0} events/s");
Console.WriteLine($"soak: azurite data: {DataMib(options.AzuriteData):F0} MiB at the end, of which tables {FileMib(options.AzuriteData, "__azurite_db_table__.json"):F0} MiB; " +
                  $"the folder at its largest {maxDataMib:F0} MiB (Azurite saves a new copy of a file beside the old one; cap {options.MaxDataMib})");
Console.WriteLine($"soak: poison: usage-ingest-poison {run.Figure("poison usage-ingest-poison")}, alerts-poison {run.Figure("poison alerts-poison")}");
Console.WriteLine($"soak: app logs: {AppLogs.Summarize(cluster.LogFiles)}");
Console.WriteLine(verifier.Mismatches.Count == 0
    ? $"soak: totals: exact (6 workspaces, {from} to {to}: totals, days, agents, agents by day; events, each token kind, cost)"
    : $"soak: totals: {verifier.Mismatches.Count} MISMATCHES");
var mismatches = verifier.Mismatches;
foreach (var label in Loads.WorkspaceLabels)
{
    var count = mismatches.Count(m => m.StartsWith(label + ",", StringComparison.Ordinal) || m.StartsWith(label + ":", StringComparison.Ordinal));
    if (count > 0)
    {
        Console.WriteLine($"soak:   {label}: {count} mismatches");
    }
}

foreach (var mismatch in mismatches)
{
    Console.WriteLine($"soak:   {mismatch}");
}

var failures = run.Failures.ToArray();
foreach (var problem in problems.Concat(failures))
{
    Console.WriteLine($"soak: FAILED: {problem}");
}

var passed = mismatches.Count == 0 && problems.Count == 0 && failures.Length == 0;
Console.WriteLine(passed
    ? "soak: PASSED (0 mismatches, 0 leftovers, 0 failed requests)"
    : $"soak: FAILED ({mismatches.Count} mismatches, {problems.Count} leftovers, {failures.Length} failed requests); the instances' logs: {options.LogDirectory}");
return passed ? 0 : 1;

static async Task<int> QueueDepthAsync(IStorageProvider storage, string queue)
{
    try
    {
        return await storage.GetQueue(queue).GetApproximateCountAsync();
    }
    catch (Exception ex) when (ex is Azure.RequestFailedException or HttpRequestException or AggregateException or TaskCanceledException)
    {
        return -1; // storage is down (the outage): no figure this time
    }
}

static double FileMib(string folder, string file)
{
    try
    {
        return File.Exists(Path.Combine(folder, file)) ? new FileInfo(Path.Combine(folder, file)).Length / 1048576.0 : 0;
    }
    catch (IOException)
    {
        return 0;
    }
}

static double DataMib(string folder)
{
    // Azurite replaces its files as it saves them: one may vanish between listing and reading its length.
    try
    {
        return Directory.Exists(folder) ? new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Exists ? f.Length : 0) / 1048576.0 : 0;
    }
    catch (IOException)
    {
        return 0;
    }
}
