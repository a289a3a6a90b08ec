using System.Globalization;
using System.Text;
using System.Text.Json;

namespace AgentSpend.Soak;

/// <summary>
/// The mixed load, each part paced so that two cores keep up, each request retried until accepted (see
/// <see cref="Sender"/>), each acceptance recorded in the oracle: native batches with resent events, batches
/// without idempotency keys, Claude Code's OTLP logs and metrics, a session file imported as it grows, and
/// reserving checks.
/// </summary>
internal static class Loads
{
    public const string Native = "native";
    public const string Keyless = "keyless";
    public const string OtlpLogs = "otlp-logs";
    public const string OtlpMetrics = "otlp-metrics";
    public const string SessionImport = "session-import";
    public const string Reserve = "reserve";

    public static readonly string[] WorkspaceLabels = [Native, Keyless, OtlpLogs, OtlpMetrics, SessionImport, Reserve];

    private static readonly (string Provider, string Model)[] Models =
    [
        ("anthropic", "claude-sonnet-4-5"), ("anthropic", "claude-haiku-4-5"), ("openai", "gpt-4.1"), ("openai", "gpt-5"), ("google", "gemini-2.5-flash"),
    ];

    private static string Iso(DateTimeOffset at) => at.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private static string DayOf(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>Events sent so far, any of which a later batch may send again.</summary>
    internal sealed class SentEvents(int capacity)
    {
        private readonly Lock _lock = new();
        private readonly List<(string Json, string Key, Contribution Part)> _ring = new(capacity);
        private int _next;

        public void Add(IEnumerable<(string Json, string Key, Contribution Part)> events)
        {
            lock (_lock)
            {
                foreach (var e in events)
                {
                    if (_ring.Count < capacity)
                    {
                        _ring.Add(e);
                    }
                    else
                    {
                        _ring[_next] = e;
                        _next = (_next + 1) % capacity;
                    }
                }
            }
        }

        public List<(string Json, string Key, Contribution Part)> Pick(Random random, int count)
        {
            lock (_lock)
            {
                var picked = new HashSet<int>();
                count = Math.Min(count, _ring.Count);
                while (picked.Count < count)
                {
                    picked.Add(random.Next(_ring.Count));
                }

                return [.. picked.Select(i => _ring[i])];
            }
        }
    }

    /// <summary>
    /// Native batches over several days, agents, models, users and teams, with run and session ids; about
    /// <see cref="SoakOptions.ResendPct"/> % of each batch are events sent before (the same idempotency keys, the same
    /// bodies), the rest new. One lane of several: lanes share the events they may resend.
    /// </summary>
    public static Task NativeAsync(SoakRun run, int lane, int lanes, SentEvents sent)
    {
        var random = new Random(run.Options.Seed + 1 + lane);
        var workspace = run.Workspaces[Native];
        long sequence = 0;
        return run.PacedAsync(TimeSpan.FromSeconds(run.Options.NativeIntervalSeconds * lanes), async _ =>
        {
            var size = run.Options.NativeBatch;
            var resent = sent.Pick(random, size * run.Options.ResendPct / 100);
            var fresh = new List<(string Json, string Key, Contribution Part)>();
            var now = DateTimeOffset.UtcNow;
            for (var i = resent.Count; i < size; i++)
            {
                fresh.Add(NativeEvent(random, now, $"soak-{run.Tag}-n{lane}-{sequence++}"));
            }

            var batch = resent.Concat(fresh).OrderBy(_ => random.Next()).ToList();
            var body = "{\"events\":[" + string.Join(',', batch.Select(e => e.Json)) + "]}";
            run.Count("native batches");
            run.Count("native events new", fresh.Count);
            run.Count("native events resent", resent.Count);
            var result = await run.Sender.PostJsonAsync(Native, workspace.Key, "/api/v1/ingest", body, 202);
            sent.Add(fresh);
            if (result.Reply is not { } reply)
            {
                run.Fail($"native batch of {batch.Count}: {result.Failure}");
                return;
            }

            var answer = reply.Json();
            if (answer?.GetProperty("accepted").GetInt32() != batch.Count || answer?.GetProperty("rejected").GetInt32() != 0)
            {
                run.Fail($"native batch of {batch.Count} events: 202 said {reply.Text[..Math.Min(300, reply.Text.Length)]}");
                return;
            }

            foreach (var e in batch)
            {
                run.Oracle.Accept(Native, e.Key, e.Part);
            }

            run.Count("native events accepted", batch.Count);
        });
    }

    private static (string Json, string Key, Contribution Part) NativeEvent(Random random, DateTimeOffset now, string key)
    {
        // Anywhere in the last four and a half days, never in the future.
        var at = now.AddSeconds(-random.Next(60, (int)TimeSpan.FromDays(4.5).TotalSeconds));
        var agent = $"agent-{random.Next(8)}";
        var (provider, model) = Models[random.Next(Models.Length)];
        var user = $"user-{random.Next(12):D2}";
        var usage = new Usage(1, random.Next(0, 20_000), random.Next(0, 4_000), random.Next(0, 50_000), random.Next(0, 5_000),
            provider == "openai" ? random.Next(0, 2_000) : 0, random.Next(1, 5_000_000) / 1_000_000m);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("agent_name", agent);
            json.WriteString("provider", provider);
            json.WriteString("model", model);
            json.WriteString("timestamp", Iso(at));
            json.WriteNumber("input_tokens", usage.Input);
            json.WriteNumber("output_tokens", usage.Output);
            json.WriteNumber("cache_read_tokens", usage.CacheRead);
            json.WriteNumber("cache_write_tokens", usage.CacheWrite);
            json.WriteNumber("reasoning_tokens", usage.Reasoning);
            json.WriteNumber("cost_usd", usage.Cost);
            json.WriteString("user_id", user);
            json.WriteString("team", $"team-{random.Next(4)}");
            json.WriteString("run_id", $"run-{agent}-{random.Next(40):D2}");
            json.WriteString("session_id", $"ses-{user}-{random.Next(30):D2}");
            json.WriteBoolean("task_success", random.Next(5) != 0);
            json.WriteNumber("duration_ms", random.Next(100, 60_000));
            json.WriteString("idempotency_key", key);
            json.WriteEndObject();
        }

        return (Encoding.UTF8.GetString(buffer.ToArray()), key, new Contribution(DayOf(at), agent, usage));
    }

    /// <summary>The events of a batch without idempotency keys: all alike, so copies of a batch show as whole multiples.</summary>
    public static readonly Usage KeylessEvent = new(1, 1_000, 100, 500, 20, 0, 0.0042m);

    public const int KeylessBatchSize = 20;

    /// <summary>
    /// Batches of events without idempotency keys, sent once and sent again only when no 202 came back; each batch
    /// one agent on one day (today or the two before).
    /// </summary>
    public static Task KeylessAsync(SoakRun run, KeylessLedger ledger)
    {
        var workspace = run.Workspaces[Keyless];
        return run.PacedAsync(TimeSpan.FromSeconds(5), async n =>
        {
            var at = DateTimeOffset.UtcNow.AddMinutes(-2).AddDays(-(n % 3));
            var (day, agent) = (DayOf(at), $"keyless-{n % 3}");
            var events = Enumerable.Range(0, KeylessBatchSize).Select(i => new Dictionary<string, object>
            {
                ["agent_name"] = agent, ["provider"] = "anthropic", ["model"] = "claude-haiku-4-5", ["timestamp"] = Iso(at),
                ["input_tokens"] = KeylessEvent.Input, ["output_tokens"] = KeylessEvent.Output, ["cache_read_tokens"] = KeylessEvent.CacheRead,
                ["cache_write_tokens"] = KeylessEvent.CacheWrite, ["cost_usd"] = KeylessEvent.Cost, ["user_id"] = $"user-{i % 5:D2}", ["team"] = "team-keyless",
            });
            var body = JsonSerializer.Serialize(new { events });
            run.Count("keyless batches");
            var result = await run.Sender.PostJsonAsync(Keyless, workspace.Key, "/api/v1/ingest", body, 202);
            for (var i = 0; i < result.MayHaveArrived; i++)
            {
                ledger.MayHaveQueued(day, agent);
            }

            if (result.Reply is not { } reply)
            {
                run.Fail($"keyless batch: {result.Failure}");
            }
            else if (reply.Json()?.GetProperty("accepted").GetInt32() != KeylessBatchSize)
            {
                run.Fail($"keyless batch: 202 said {reply.Text}");
            }
            else
            {
                ledger.Accepted(day, agent);
            }
        });
    }

    /// <summary>
    /// Claude Code's OTLP logs, each send a session of its own (new session and call ids) on one of the three days
    /// before today; about <see cref="SoakOptions.ResendPct"/> % of sends are an earlier payload again, which must add nothing.
    /// </summary>
    public static Task OtlpLogsAsync(SoakRun run)
    {
        var random = new Random(run.Options.Seed + 101);
        var workspace = run.Workspaces[OtlpLogs];
        var sent = new List<(byte[] Payload, List<(string Key, Contribution Part)> Calls)>();
        return run.PacedAsync(TimeSpan.FromSeconds(1.5), async n =>
        {
            (byte[] Payload, List<(string Key, Contribution Part)> Calls) payload;
            if (sent.Count > 0 && random.Next(100) < run.Options.ResendPct)
            {
                payload = sent[random.Next(sent.Count)];
                run.Count("otlp logs resends");
            }
            else
            {
                var (text, calls) = FixturePayloads.Logs(DateTime.UtcNow.Date.AddDays(-1 - (n % 3)), $"soak-{run.Tag}-logs-{n:D6}", $"req_soak_{run.Tag}_l{n}_");
                payload = (Encoding.UTF8.GetBytes(text), calls);
                sent.Add(payload);
                run.Count("otlp logs payloads");
            }

            var result = await run.Sender.SendAsync(OtlpLogs, workspace.Key, HttpMethod.Post, "/api/otlp/v1/logs", payload.Payload, "application/json", [200]);
            if (Refusal(result, "rejectedLogRecords") is { } failure)
            {
                run.Fail($"otlp logs: {failure}");
                return;
            }

            foreach (var (key, part) in payload.Calls)
            {
                run.Oracle.Accept(OtlpLogs, key, part);
            }
        });
    }

    /// <summary>Claude Code's OTLP session metrics, each send a session of its own (new series); resends as for the logs.</summary>
    public static Task OtlpMetricsAsync(SoakRun run)
    {
        var random = new Random(run.Options.Seed + 202);
        var workspace = run.Workspaces[OtlpMetrics];
        var sent = new List<(byte[] Payload, string Key, Contribution[] Parts)>();
        return run.PacedAsync(TimeSpan.FromSeconds(2), async n =>
        {
            (byte[] Payload, string Key, Contribution[] Parts) payload;
            if (sent.Count > 0 && random.Next(100) < run.Options.ResendPct)
            {
                payload = sent[random.Next(sent.Count)];
                run.Count("otlp metrics resends");
            }
            else
            {
                var (text, parts) = FixturePayloads.Metrics(DateTime.UtcNow.Date.AddDays(-1 - (n % 3)), $"soak-{run.Tag}-metrics-{n:D6}");
                payload = (Encoding.UTF8.GetBytes(text), $"metrics:{n}", [.. parts]);
                sent.Add(payload);
                run.Count("otlp metrics payloads");
            }

            var result = await run.Sender.SendAsync(OtlpMetrics, workspace.Key, HttpMethod.Post, "/api/otlp/v1/metrics", payload.Payload, "application/json", [200]);
            if (Refusal(result, "rejectedDataPoints") is { } failure)
            {
                run.Fail($"otlp metrics: {failure}");
                return;
            }

            run.Oracle.Accept(OtlpMetrics, payload.Key, payload.Parts);
        });
    }

    /// <summary>Why an OTLP export was not wholly accepted: no 200, or a partialSuccess that refused some of it.</summary>
    private static string? Refusal(SendResult result, string rejectedField)
    {
        if (result.Reply is not { } reply)
        {
            return result.Failure;
        }

        return reply.Json() is { } body && body.TryGetProperty("partialSuccess", out var partial)
               && partial.TryGetProperty(rejectedField, out var rejected) && rejected.ToString() != "0"
            ? $"partialSuccess: {reply.Text}"
            : null;
    }

    /// <summary>
    /// Claude Code session files: each imported when it starts, then after each of three turns appended to it,
    /// the whole file every time (the lines imported before must count once); then a new session.
    /// </summary>
    public static Task SessionImportAsync(SoakRun run)
    {
        var workspace = run.Workspaces[SessionImport];
        List<string>? lines = null;
        var (session, turns, day) = (-1, 0, DateTime.UtcNow.Date);
        return run.PacedAsync(TimeSpan.FromSeconds(3), async _ =>
        {
            if (lines is null || turns == 3)
            {
                session++;
                turns = 0;
                day = DateTime.UtcNow.Date.AddDays(-1 - (session % 3));
                lines = FixturePayloads.SessionFile(day, $"soak-{run.Tag}-session-{session:D5}", $"soak_{run.Tag}_s{session}_t0");
                run.Count("session files");
            }
            else
            {
                turns++;
                lines.AddRange(FixturePayloads.SessionTurn(day, $"soak-{run.Tag}-session-{session:D5}", $"soak_{run.Tag}_s{session}_t{turns}"));
                run.Count("session re-imports after growth");
            }

            var responses = FixturePayloads.SessionResponses(lines);
            var body = Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n");
            var result = await run.Sender.SendAsync(SessionImport, workspace.Key, HttpMethod.Post, "/api/v1/import?format=claude-code-jsonl", body, "application/x-ndjson", [202]);
            if (result.Reply is not { } reply)
            {
                run.Fail($"session import ({lines.Count} lines): {result.Failure}");
                return;
            }

            var answer = reply.Json();
            if (answer?.GetProperty("imported").GetInt64() != responses.Count || answer?.GetProperty("rejected").GetInt64() != 0)
            {
                run.Fail($"session import of {responses.Count} responses: 202 said {reply.Text[..Math.Min(300, reply.Text.Length)]}");
                return;
            }

            var added = responses.Count(r => run.Oracle.Accept(SessionImport, r.Key, r.Part));
            run.Count("session responses", added);
        });
    }
}
