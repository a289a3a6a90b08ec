// The .NET SDK against the running AgentSpend app: record, retry after a real 429, kill switch, reservations.
//
// Run by scripts/test-sdks.sh as `dotnet run --project sdk/dotnet/integration/AgentSpend.Sdk.Integration -c Release`
// with AGENTSPEND_URL, AGENTSPEND_KEY (ingest scope, a fresh workspace in UTC), AGENTSPEND_ADMIN_KEY (that workspace's
// admin), AGENTSPEND_THROTTLED_URL (a second instance on the same storage: 1 request a second per key, burst 1, counts
// nothing itself) and AGENTSPEND_TEST_PREFIX. Prints "PASS <check>" or "FAIL <check>: <why>" per check (other lines
// are notes) and exits 1 when any failed. The same four checks as sdk/python/integration/against_app.py and
// sdk/typescript/integration/against-app.mjs.
//
// Every expected figure is derived from what this program asked the SDK to send, plus the SDK's documented design
// (sdk/dotnet/README.md, "Runs"): a run adds one summary event with the run's duration and outcome, the agent of the
// run (RunOptions.AgentName, else the client's), the provider and model of its last event, no tokens and
// `cost_usd: 0` (so the server does not price it). Money is compared as decimals, never as doubles: the SDK sends
// `decimal`, and the API's numbers are read with JsonElement.GetDecimal, the exact decimal the server wrote.
//
// Every client of this program that sends events goes through a RecordingHandler (the SDK's HttpClient seam), which
// keeps each request's method, path, Content-Encoding, body and answer: the checks see the 429 and the resent body on
// the wire, and that every ingest request was gzip-compressed (the SDK falls back to plain JSON after a 415, or a 400
// naming no event: a server without gzip support fails the checks).

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using AgentSpend.Sdk;

namespace AgentSpend.Sdk.Integration;

internal static class Program
{
    private const string Provider = "anthropic";
    private const string Model = "claude-sonnet-4-5";
    private const decimal Cost = 0.0125m; // per event, sent as the decimal it is
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200); // between reads of a figure still being counted
    private static readonly TimeSpan PollLimit = TimeSpan.FromSeconds(60); // how long a figure may take to be counted
    private static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(1500); // wait after the count is reached: nothing more may arrive
    private static readonly TimeSpan FlushLimit = TimeSpan.FromSeconds(30);

    private static readonly string Url = Env("AGENTSPEND_URL").TrimEnd('/');
    private static readonly string Key = Env("AGENTSPEND_KEY");
    private static readonly string AdminKey = Env("AGENTSPEND_ADMIN_KEY");
    private static readonly string ThrottledUrl = Env("AGENTSPEND_THROTTLED_URL").TrimEnd('/');
    private static readonly string Prefix = Environment.GetEnvironmentVariable("AGENTSPEND_TEST_PREFIX") is { Length: > 0 } p ? p : "net";

    private static readonly HttpClient Plain = new() { Timeout = TimeSpan.FromSeconds(30) };
    private static readonly int[] ExpectedDeletes = { 204, 204, 404 }; // release of the first, of the second, the second again
    private static int failures;

    public static async Task<int> Main()
    {
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        Console.WriteLine($"agentspend .NET SDK {AgentSpendClient.Version} against {Url} (throttled: {ThrottledUrl}), prefix {Prefix}");
        await RunCheck("record-and-read-back", RecordAndReadBack);
        await RunCheck("retry-after-429-lands-once", RetryAfter429LandsOnce);
        await RunCheck("check-raises-killed", CheckRaisesKilled);
        await RunCheck("reserve-and-release-within-budget", ReserveAndReleaseWithinBudget);
        return failures > 0 ? 1 : 0;
    }

    // ------------------------------------------------------------------------------------------------------------ checks

    private static async Task RecordAndReadBack()
    {
        var rep = new Reporters();
        using var wire = new RecordingHandler();
        using var http = new HttpClient(wire, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
        var client = new AgentSpendClient(rep.Apply(new AgentSpendOptions { BaseUrl = Url, ApiKey = Key }), http);
        try
        {
            // 120 events over three agents; the SDK adds timestamp (now) and a UUIDv7 idempotency key to each.
            var plain = Enumerable.Range(0, 120).Select(i => Event($"{Prefix}-worker-{i % 3}", 100 + i, 20)).ToList();
            foreach (var e in plain)
            {
                Expect(client.Record(e), "Record() refused an event");
            }

            // A run: three events recorded through it, then (when it ends) the SDK's one summary event. The .NET summary
            // takes its agent from RunOptions.AgentName (else the client's, and this client has none), not from the last
            // event: the run names its agent.
            var runAgent = $"{Prefix}-runner";
            var inRun = Enumerable.Range(0, 3).Select(j => Event(runAgent, 1000, 20, idempotencyKey: $"{Prefix}-run-{j}")).ToList();
            string? runId = null;
            var pauseMs = 50; // the run lasts at least this long, so that its duration is a figure worth comparing
            var wall = Stopwatch.StartNew();
            await client.RunAsync(
                $"{Prefix}-run",
                async run =>
                {
                    runId = run.Id;
                    foreach (var e in inRun)
                    {
                        Expect(run.Record(e), "run.Record() refused an event");
                    }

                    ExpectEqual("run.Events", run.Events, inRun.Count);
                    await Task.Delay(pauseMs);
                },
                new RunOptions { AgentName = runAgent });
            wall.Stop();
            var wallMs = (long)Math.Ceiling(wall.Elapsed.TotalMilliseconds);
            Expect(runId is not null, "the run's body did not run");

            // The summary as the SDK designs it (README "Runs"): the run's agent, provider and model of its last event,
            // the run's id, its name as task_type, duration_ms = its wall time, task_success true (the body completed),
            // no tokens, cost_usd 0, the tag agentspend.event: run_summary. Its duration is not readable afterwards:
            // it is read back from the run's stored events below.
            var summary = new UsageEvent { AgentName = runAgent, Provider = inRun[^1].Provider, Model = inRun[^1].Model, CostUsd = 0m, TaskSuccess = true };

            await Flush(client);
            var everything = plain.Concat(inRun).Append(summary).ToList();
            ExpectDelivered(client, everything.Count, rep, wire);

            var expected = TotalsOf(everything);
            expected["successes"] = 1; // the summary's task_success
            expected["failures"] = 0;
            expected["server_priced_events"] = 0; // every event, the summary too (cost_usd 0), came with a cost
            expected["unpriced_events"] = 0;
            var overview = await OverviewWhenCounted("", (long)expected["events"]);
            ExpectTotals("overview", overview, expected);
            Note($"overview today: {expected["events"]} events, {expected["input_tokens"]} input and {expected["output_tokens"]} output tokens, " +
                 $"${Fmt((decimal)expected["cost_usd"])}, {expected["successes"]} success, {expected["server_priced_events"]} server-priced");

            // The run's stored events: its three, and the summary as the SDK designs it. Only the summary carries a
            // duration, so the overview's duration_ms is the summary's, which is at most the run's wall time.
            var stored = (await GetOk($"/api/v1/runs/{Uri.EscapeDataString(runId!)}/events?limit=500")).GetProperty("items").EnumerateArray().ToList();
            ExpectEqual("stored events of the run", stored.Count, inRun.Count + 1);
            var summaries = stored.Where(e => Tag(e, AgentSpendRun.SummaryTag) == "run_summary").ToList();
            ExpectEqual("stored run summaries", summaries.Count, 1);
            var s = summaries[0];
            ExpectEqual(
                "stored summary",
                new
                {
                    agent = Str(s, "agent"), provider = Str(s, "provider"), model = Str(s, "model"), run_id = Str(s, "run_id"),
                    task_type = Str(s, "task_type"), task_success = Bool(s, "task_success"), input_tokens = Long(s, "input_tokens"),
                    output_tokens = Long(s, "output_tokens"), cost_usd = Dec(s, "cost_usd"), server_priced = Bool(s, "server_priced"),
                },
                new
                {
                    agent = (string?)summary.AgentName, provider = (string?)summary.Provider, model = (string?)summary.Model, run_id = (string?)runId,
                    task_type = (string?)$"{Prefix}-run", task_success = (bool?)true, input_tokens = (long?)0,
                    output_tokens = (long?)0, cost_usd = (decimal?)0m, server_priced = (bool?)false,
                });
            var duration = Long(s, "duration_ms");
            Expect(
                duration is long d && d >= pauseMs - 1 && d <= wallMs,
                $"the summary's duration_ms {Show(duration)} is not within the run's pause and wall time ({pauseMs - 1}..{wallMs} ms)");
            Expect(stored.Where(e => Tag(e, AgentSpendRun.SummaryTag) != "run_summary").All(e => Long(e, "duration_ms") is null),
                "an event of the run other than the summary carries a duration");
            ExpectEqual("overview duration_ms (the summary's)", Long(overview, "duration_ms"), duration);
            Note($"run {runId}: summary duration {duration} ms (wall time {wallMs} ms)");

            // The run, as the runs list shows it: its three events and its summary.
            var runExpected = TotalsOf(inRun.Append(summary).ToList());
            const string path = "/api/v1/runs?range=today";
            var deadline = Stopwatch.StartNew();
            JsonElement? found;
            while (true)
            {
                found = (await GetOk(path)).GetProperty("items").EnumerateArray().Where(r => Str(r, "id") == runId).Select(r => (JsonElement?)r).FirstOrDefault();
                if ((found is { } f && Long(f, "events") >= (long)runExpected["events"]) || deadline.Elapsed > PollLimit)
                {
                    break;
                }

                await Task.Delay(PollInterval);
            }

            Expect(found is not null, $"run {runId} not in {path} after {PollLimit.TotalSeconds:0} s");
            ExpectTotals("run", found!.Value, runExpected);
            ExpectEqual("run agent", Str(found.Value, "agent"), runAgent);
            ExpectEqual("run successes", Long(found.Value, "successes"), 1L);
            ExpectEqual("run duration_ms", Long(found.Value, "duration_ms"), Long(overview, "duration_ms"));
        }
        finally
        {
            await client.DisposeAsync();
        }
    }

    private static async Task RetryAfter429LandsOnce()
    {
        var rep = new Reporters();
        using var wire = new RecordingHandler();
        using var http = new HttpClient(wire, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
        // Retry-After is 1 s: MaxRetryTime leaves room for many such waits (at least 2 s as asked).
        var client = new AgentSpendClient(
            rep.Apply(new AgentSpendOptions
            {
                BaseUrl = ThrottledUrl, ApiKey = Key, FlushInterval = TimeSpan.FromMilliseconds(50),
                MaxRetryTime = TimeSpan.FromSeconds(30), InitialBackoff = TimeSpan.FromMilliseconds(500), MaxBackoff = TimeSpan.FromSeconds(5),
            }),
            http);
        var agent = $"{Prefix}-throttled";
        var sent = new List<UsageEvent>();
        var pairs = 0;
        try
        {
            // The first POST of a pair takes the key's only token on the throttled instance; the second, sent as soon
            // as the first is answered, meets the empty bucket unless the once-a-second refill fell between.
            while (pairs < 3)
            {
                pairs++;
                for (var half = 0; half < 2; half++)
                {
                    for (var k = 0; k < 10; k++)
                    {
                        var n = sent.Count;
                        var e = Event(agent, 10 + n, 5, idempotencyKey: $"{Prefix}-throttled-{n}");
                        Expect(client.Record(e), "Record() refused an event");
                        sent.Add(e);
                    }

                    await Flush(client);
                }

                if (client.Retries >= 1)
                {
                    break;
                }

                Note($"pair {pairs}: no 429 met (the bucket refilled between the two POSTs); another pair");
            }

            Expect(client.Retries >= 1, $"client.Retries is 0 after {pairs} pairs: no 429 was met");
            ExpectDelivered(client, sent.Count, rep, wire);

            var calls = wire.Ingest();
            var limited = calls.Select((c, i) => c.Status == 429 ? i : -1).Where(i => i >= 0).ToList();
            Expect(limited.Count > 0, $"no 429 among the ingest answers [{string.Join(", ", calls.Select(c => c.Status))}]");
            var first = calls[limited[0]];
            ExpectEqual("429 Retry-After", first.RetryAfter, "1");
            ExpectEqual("429 reason", Str(JsonDocument.Parse(first.Answer).RootElement, "reason"), "rate_limited");
            foreach (var i in limited)
            {
                // Each refused body was sent again, byte for byte (same idempotency keys).
                Expect(i + 1 < calls.Count && calls[i + 1].Bytes.AsSpan().SequenceEqual(calls[i].Bytes), "the request after a 429 did not resend the same body");
            }

            var accepted = calls.Where(c => c.Status == 202).ToList();
            ExpectEqual("ingest requests answered 202", accepted.Count, 2 * pairs);
            ExpectEqual("client.Retries (= 429 answers met)", client.Retries, (long)limited.Count);
            var keysSent = accepted.SelectMany(c => c.Json().GetProperty("events").EnumerateArray().Select(e => Str(e, "idempotency_key"))).ToList();
            ExpectSequence("idempotency keys delivered", keysSent, sent.Select(e => e.IdempotencyKey).ToList());
            Note($"{pairs} pair(s), {calls.Count} ingest POSTs, {limited.Count} answered 429 and resent");

            var overview = await OverviewWhenCounted("&agent=" + Uri.EscapeDataString(agent), sent.Count);
            var t = TotalsOf(sent);
            ExpectTotals("overview", overview, t);
            Note($"overview agent={agent}: {t["events"]} events, {t["input_tokens"]} input and {t["output_tokens"]} output tokens, ${Fmt((decimal)t["cost_usd"])}");
        }
        finally
        {
            await client.DisposeAsync();
        }
    }

    private static async Task CheckRaisesKilled()
    {
        var agent = $"{Prefix}-killable";
        var estimate = 0.01m;
        var rep = new Reporters();
        using var wire = new RecordingHandler();
        using var http = new HttpClient(wire, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
        // FailOpen false: an unreachable service must not pass for "allowed".
        var client = new AgentSpendClient(rep.Apply(new AgentSpendOptions { BaseUrl = Url, ApiKey = Key, FailOpen = false }), http);
        try
        {
            // Only an agent that has sent usage to the workspace can be killed (404 otherwise): one event first.
            Expect(client.Record(Event(agent, 1, 1, idempotencyKey: $"{Prefix}-killable-0")), "Record() refused an event");
            await Flush(client);
            ExpectDelivered(client, 1, rep, wire);
            var (killStatus, killBody) = await Api("POST", $"/api/v1/agents/{Uri.EscapeDataString(agent)}/kill", new Dictionary<string, object?> { ["reason"] = "sdk test" });
            Expect(killStatus is >= 200 and < 300, $"kill answered {killStatus}: {Show(killBody)}");
            SpendRefusedException? refused = null;
            try
            {
                var allowed = await client.CheckAsync(new CheckRequest { AgentName = agent, EstimatedCostUsd = estimate });
                Fail($"CheckAsync() of a killed agent did not throw SpendRefusedException (it returned FailedOpen={allowed.FailedOpen})");
            }
            catch (SpendRefusedException ex)
            {
                refused = ex;
            }

            ExpectEqual("refusal reason", refused!.Reason, "killed");
            ExpectEqual("refusal status", refused.Status, (int?)429);

            var (resumeStatus, _) = await Api("POST", $"/api/v1/agents/{Uri.EscapeDataString(agent)}/resume");
            ExpectEqual("resume status", resumeStatus, 204);
            var result = await client.CheckAsync(new CheckRequest { AgentName = agent, EstimatedCostUsd = estimate });
            Expect(result.Allowed && !result.FailedOpen, $"check after resume: Allowed={result.Allowed} FailedOpen={result.FailedOpen}");
        }
        finally
        {
            await client.DisposeAsync();
        }
    }

    private static async Task ReserveAndReleaseWithinBudget()
    {
        var agent = $"{Prefix}-budgeted";
        var limit = 1.0m;
        var estimate = 0.6m;
        var (createdStatus, created) = await Api("POST", "/api/v1/budgets", new Dictionary<string, object?>
        {
            ["name"] = $"{Prefix} block", ["scope"] = "agent", ["scope_value"] = agent, ["metric"] = "cost_usd", ["period"] = "daily",
            ["limit"] = limit, ["thresholds"] = new List<int> { 100 }, ["action"] = "block",
        });
        ExpectEqual("budget creation status", createdStatus, 201);
        var budgetId = Str(created!.Value, "id")!;
        using var wire = new RecordingHandler();
        using var http = new HttpClient(wire, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
        var client = new AgentSpendClient(new AgentSpendOptions { BaseUrl = Url, ApiKey = Key, FailOpen = false }, http);
        try
        {
            var first = await client.ReserveAsync(new CheckRequest { AgentName = agent, EstimatedCostUsd = estimate });
            Expect(first.Allowed && !first.FailedOpen, $"first reserve not allowed: {Show(first.Raw)}");
            Expect(first.Reservation is { Id.Length: > 0 }, $"first reserve holds nothing: {Show(first.Raw)}");
            Expect(first.Reservation!.BudgetIds.Contains(budgetId), $"reservation budget_ids [{string.Join(", ", first.Reservation.BudgetIds)}] lack {budgetId}");
            ExpectEqual("remaining after the first reserve", first.Remaining.TryGetValue(budgetId, out var r1) ? r1 : (decimal?)null, limit - estimate);

            SpendRefusedException? refused = null;
            try
            {
                await client.ReserveAsync(new CheckRequest { AgentName = agent, EstimatedCostUsd = estimate });
                Fail($"a second reserve of {estimate} against {limit} with {estimate} held was allowed");
            }
            catch (SpendRefusedException ex)
            {
                refused = ex;
            }

            ExpectEqual("second reserve: reason", refused!.Reason, "budget_exceeded");
            var b = refused.Budget;
            ExpectEqual("refusal budget id", b?.Id, budgetId);
            ExpectEqual("refusal budget limit", b?.Limit, limit);
            ExpectEqual("refusal budget used (the first hold)", b?.Used, estimate);
            ExpectEqual("refusal budget remaining", b?.Remaining, limit - estimate);

            ExpectEqual("release of the first reservation", await client.ReleaseAsync(first), true);

            // A released hold keeps counting for checks whose usage was measured before the release plus 2 s of clock
            // margin (docs/governance.md, "Reservations"; budgets are re-read once a second): retry for a while.
            var deadline = Stopwatch.StartNew();
            var attempts = 0;
            CheckResult again;
            while (true)
            {
                attempts++;
                try
                {
                    again = await client.ReserveAsync(new CheckRequest { AgentName = agent, EstimatedCostUsd = estimate });
                    break;
                }
                catch (SpendRefusedException ex)
                {
                    ExpectEqual("reserve after release: refusal reason", ex.Reason, "budget_exceeded");
                    Expect(deadline.Elapsed < TimeSpan.FromSeconds(15), $"reserve still refused 15 s after the release ({attempts} tries)");
                    await Task.Delay(250);
                }
            }

            Note($"the reserve after the release was allowed at try {attempts}");
            Expect(again.Allowed && again.Reservation is { Id.Length: > 0 }, $"reserve after release holds nothing: {Show(again.Raw)}");
            ExpectEqual("remaining after reserving again", again.Remaining.TryGetValue(budgetId, out var r2) ? r2 : (decimal?)null, limit - estimate);
            ExpectEqual("release of the second reservation", await client.ReleaseAsync(again), true);
            ExpectEqual("releasing it again", await client.ReleaseAsync(again.Reservation!.Id), false);
            var deletes = wire.Calls().Where(c => c.Method == "DELETE").Select(c => c.Status).ToList();
            ExpectSequence("DELETE statuses (first, second, second again)", deletes, ExpectedDeletes);
        }
        finally
        {
            await client.DisposeAsync();
        }
    }

    // ----------------------------------------------------------------------------------------------------------- helpers

    private static string Env(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : throw new InvalidOperationException(name + " is not set");

    private static void Expect(bool condition, string why)
    {
        if (!condition)
        {
            throw new CheckFailedException(why);
        }
    }

    private static void Fail(string why) => throw new CheckFailedException(why);

    private static void ExpectEqual<T>(string name, T actual, T expected)
    {
        if (!EqualityComparer<T>.Default.Equals(actual, expected))
        {
            throw new CheckFailedException($"{name}: expected {Show(expected)}, got {Show(actual)}");
        }
    }

    private static void ExpectSequence<T>(string name, IReadOnlyList<T> actual, IReadOnlyList<T> expected)
    {
        if (!actual.SequenceEqual(expected))
        {
            throw new CheckFailedException($"{name}: expected [{string.Join(", ", expected.Select(x => Show(x)))}], got [{string.Join(", ", actual.Select(x => Show(x)))}]");
        }
    }

    private static string Show(object? value) => value switch
    {
        null => "null",
        string s => "\"" + s + "\"",
        decimal d => Fmt(d),
        bool b => b ? "true" : "false",
        JsonElement e => e.GetRawText(),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static string Fmt(decimal d) => d.ToString("0.############################", CultureInfo.InvariantCulture); // trailing zeros dropped

    private static void Note(string text) => Console.WriteLine("  note: " + text);

    private static async Task RunCheck(string name, Func<Task> check)
    {
        try
        {
            await check();
            Console.WriteLine("PASS " + name);
        }
        catch (CheckFailedException failed)
        {
            failures++;
            Console.WriteLine($"FAIL {name}: {failed.Message}");
        }
#pragma warning disable CA1031 // An unexpected error is a failed check, with its trace.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failures++;
            Console.WriteLine($"FAIL {name}: {ex.GetType().Name}: {ex.Message}");
            Console.WriteLine(ex.ToString());
        }
    }

    /// <summary>Plain HTTP to the app (not through the SDK), with the workspace's admin key.</summary>
    private static async Task<(int Status, JsonElement? Body)> Api(string method, string path, Dictionary<string, object?>? body = null)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(Url + path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }

        using var response = await Plain.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        JsonElement? parsed = string.IsNullOrEmpty(text) ? null : JsonDocument.Parse(text).RootElement.Clone();
        return ((int)response.StatusCode, parsed);
    }

    private static async Task<JsonElement> GetOk(string path)
    {
        var (status, body) = await Api("GET", path);
        Expect(status == 200 && body is not null, $"GET {path} answered {status}: {Show(body)}");
        return body!.Value;
    }

    /// <summary>Polls the overview until it counts <paramref name="expectedEvents"/> events (or more), then reads it again after <see cref="Settle"/>.</summary>
    private static async Task<JsonElement> OverviewWhenCounted(string query, long expectedEvents)
    {
        var path = "/api/v1/metrics/overview?range=today" + query;
        var deadline = Stopwatch.StartNew();
        var overview = await GetOk(path);
        while (Long(overview, "events") < expectedEvents && deadline.Elapsed < PollLimit)
        {
            await Task.Delay(PollInterval);
            overview = await GetOk(path);
        }

        Expect(Long(overview, "events") >= expectedEvents, $"{path}: {Long(overview, "events")} events counted after {PollLimit.TotalSeconds:0} s, expected {expectedEvents}");
        await Task.Delay(Settle);
        return await GetOk(path);
    }

    /// <summary>The figures of events as this program asked the SDK to send them.</summary>
    private static Dictionary<string, object> TotalsOf(List<UsageEvent> events) => new(StringComparer.Ordinal)
    {
        ["events"] = (long)events.Count,
        ["input_tokens"] = events.Sum(e => e.InputTokens ?? 0),
        ["output_tokens"] = events.Sum(e => e.OutputTokens ?? 0),
        ["cost_usd"] = events.Sum(e => e.CostUsd ?? 0m),
    };

    private static void ExpectTotals(string what, JsonElement actual, Dictionary<string, object> expected)
    {
        foreach (var (name, value) in expected)
        {
            if (value is decimal d)
            {
                ExpectEqual($"{what} {name}", Dec(actual, name), d);
            }
            else
            {
                ExpectEqual($"{what} {name}", Long(actual, name), Convert.ToInt64(value, CultureInfo.InvariantCulture));
            }
        }
    }

    private static async Task Flush(AgentSpendClient client)
    {
        using var cts = new CancellationTokenSource(FlushLimit);
        try
        {
            await client.FlushAsync(cts.Token);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            Fail($"FlushAsync() did not finish within {FlushLimit.TotalSeconds:0} s");
        }
    }

    private static void ExpectDelivered(AgentSpendClient client, long sent, Reporters rep, RecordingHandler wire)
    {
        Expect(rep.Rejected.IsEmpty, "the server refused events: " + string.Join("; ", rep.Rejected.Take(5).Select(r => $"#{r.Index} {r.Field}: {r.Reason}")));
        Expect(rep.Dropped.IsEmpty, "the client dropped events: " + string.Join("; ", rep.Dropped.Select(d => d.ToString() + (d.Message is null ? "" : ": " + d.Message))));
        ExpectEqual(
            "counters",
            new { client.Delivered, client.Rejected, client.Dropped, client.Pending },
            new { Delivered = sent, Rejected = 0L, Dropped = 0L, Pending = 0L });

        // gzip on the wire: the SDK sends plain JSON after a 415 (or a 400 naming no event), so a server that did not
        // take gzip would show here as an ingest request without Content-Encoding: gzip.
        var ingest = wire.Ingest();
        Expect(ingest.Count > 0, "no ingest request went over the wire");
        var plain = ingest.Where(c => c.ContentEncoding != "gzip").ToList();
        Expect(plain.Count == 0, $"{plain.Count} of {ingest.Count} ingest requests without Content-Encoding: gzip (answers [{string.Join(", ", plain.Select(c => c.Status))}])");
        Expect(ingest.All(c => c.Bytes.Length > 2 && c.Bytes[0] == 0x1f && c.Bytes[1] == 0x8b), "an ingest request says gzip but its body is not gzip");
    }

    /// <summary>An event as sent.</summary>
    private static UsageEvent Event(string agent, long inputTokens, long outputTokens, string? idempotencyKey = null) => new()
    {
        AgentName = agent, Provider = Provider, Model = Model, InputTokens = inputTokens, OutputTokens = outputTokens, CostUsd = Cost,
        IdempotencyKey = idempotencyKey,
    };

    private static JsonElement? Prop(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    private static string? Str(JsonElement e, string name) => Prop(e, name) is { ValueKind: JsonValueKind.String } v ? v.GetString() : null;

    private static long? Long(JsonElement e, string name) => Prop(e, name) is { ValueKind: JsonValueKind.Number } v && v.TryGetInt64(out var n) ? n : null;

    private static decimal? Dec(JsonElement e, string name) => Prop(e, name) is { ValueKind: JsonValueKind.Number } v && v.TryGetDecimal(out var d) ? d : null;

    private static bool? Bool(JsonElement e, string name) => Prop(e, name) is { } v && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;

    private static string? Tag(JsonElement e, string name) => Prop(e, "tags") is { } tags ? Str(tags, name) : null;

    private sealed class CheckFailedException : Exception
    {
        public CheckFailedException()
        {
        }

        public CheckFailedException(string message)
            : base(message)
        {
        }

        public CheckFailedException(string message, Exception innerException)
            : base(message, innerException)
        {
        }
    }

    /// <summary>What the SDK reported through OnRejected and OnDropped.</summary>
    private sealed class Reporters
    {
        public System.Collections.Concurrent.ConcurrentQueue<RejectedEvent> Rejected { get; } = new();

        public System.Collections.Concurrent.ConcurrentQueue<DroppedEvents> Dropped { get; } = new();

        public AgentSpendOptions Apply(AgentSpendOptions options)
        {
            options.OnRejected = list =>
            {
                foreach (var r in list)
                {
                    Rejected.Enqueue(r);
                }
            };
            options.OnDropped = Dropped.Enqueue;
            return options;
        }
    }
}

/// <summary>One request as it went over the wire, and its answer.</summary>
internal sealed record WireCall(string Method, string Path, string? ContentEncoding, byte[] Bytes, int Status, string? RetryAfter, string Answer)
{
    /// <summary>The request body as JSON (gunzipped when it says gzip).</summary>
    public JsonElement Json()
    {
        var raw = Bytes;
        if (ContentEncoding == "gzip")
        {
            using var zip = new GZipStream(new MemoryStream(Bytes), CompressionMode.Decompress);
            using var output = new MemoryStream();
            zip.CopyTo(output);
            raw = output.ToArray();
        }

        return JsonDocument.Parse(raw).RootElement.Clone();
    }
}

/// <summary>
/// The SDK's HttpClient seam: a handler in front of the socket handler that keeps every request's method, path,
/// Content-Encoding, body (as sent) and answer (status, Retry-After, body), so a check can see what went over the wire.
/// </summary>
internal sealed class RecordingHandler : DelegatingHandler
{
    private readonly object gate = new();
    private readonly List<WireCall> calls = new();

    public RecordingHandler()
        : base(new SocketsHttpHandler())
    {
    }

    public IReadOnlyList<WireCall> Calls()
    {
        lock (gate)
        {
            return calls.ToList();
        }
    }

    public IReadOnlyList<WireCall> Ingest() => Calls().Where(c => c.Method == "POST" && c.Path == "/api/v1/ingest").ToList();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var bytes = request.Content is null ? Array.Empty<byte>() : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        var encoding = request.Content is null ? null : string.Join(",", request.Content.Headers.ContentEncoding);
        var response = await base.SendAsync(request, cancellationToken);
        // Reading buffers the content, so the SDK reads the same answer after us.
        var answer = await response.Content.ReadAsStringAsync(cancellationToken);
        var retryAfter = response.Headers.TryGetValues("Retry-After", out var values) ? string.Join(",", values) : null;
        lock (gate)
        {
            calls.Add(new WireCall(request.Method.Method, request.RequestUri!.AbsolutePath, encoding, bytes, (int)response.StatusCode, retryAfter, answer));
        }

        return response;
    }
}
