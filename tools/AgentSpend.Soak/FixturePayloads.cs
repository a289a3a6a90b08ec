using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using AgentSpend.Tests.Shared;

namespace AgentSpend.Soak;

/// <summary>
/// Payloads made from what Claude Code really sent (tests/Fixtures/claude-code), moved to a chosen day with the
/// tests' own time shift (<see cref="Fixtures.TextMovedTo"/>), with the session and call ids renamed so that each
/// send is new usage. What each payload must count is read from the payload itself, as the fixtures' README and
/// shared/reference/agent-telemetry.md describe them (the integration tests assert the same figures): an
/// <c>api_request</c> log record is one call with its tokens and Claude Code's own cost; a session-metrics export
/// of a new session adds its token points by type and its cost points, and no calls; a session file's responses are its assistant
/// lines, one per (message id, request id), carrying the same calls' usage as the logs, whose cost the server must
/// estimate to Claude Code's own figure for that call.
/// </summary>
internal static class FixturePayloads
{
    /// <summary>The session, message and request ids of the captured session, renamed in every payload.</summary>
    private const string CapturedSession = "9ec0e9b3-a09b-4136-9069-ba53396bb1d9";
    private const string CapturedRequestPrefix = "req_mock_4fc6cdc7_";
    private const string CapturedMessagePrefix = "msg_mock_4fc6cdc7_";

    private static readonly ConcurrentDictionary<(DateTime, string), string> Moved = new();

    private static string MovedText(DateTime day, string file) => Moved.GetOrAdd((day.Date, file), k => Fixtures.TextMovedTo(k.Item1, "claude-code", k.Item2));

    /// <summary>Claude Code's OTLP logs of one session: the payload, and per call (its request id) what it counts.</summary>
    public static (string Payload, List<(string Key, Contribution Part)> Calls) Logs(DateTime day, string session, string callPrefix)
    {
        var text = MovedText(day, "otlp-logs.json").Replace(CapturedSession, session, StringComparison.Ordinal).Replace(CapturedRequestPrefix, callPrefix, StringComparison.Ordinal);
        var calls = new List<(string, Contribution)>();
        using var document = JsonDocument.Parse(text);
        foreach (var resource in document.RootElement.GetProperty("resourceLogs").EnumerateArray())
        {
            var service = Attributes(resource.GetProperty("resource"))["service.name"].GetString()!;
            foreach (var record in resource.GetProperty("scopeLogs").EnumerateArray().SelectMany(s => s.GetProperty("logRecords").EnumerateArray()))
            {
                var a = Attributes(record);
                if (a.TryGetValue("event.name", out var name) && name.GetString() == "api_request")
                {
                    var day0 = Day(a["event.timestamp"].GetString()!);
                    calls.Add(("call:" + a["request_id"].GetString(), new Contribution(day0, service, new Usage(
                        1, Long(a["input_tokens"]), Long(a["output_tokens"]), Long(a["cache_read_tokens"]), Long(a["cache_creation_tokens"]), 0, Decimal(a["cost_usd"])))));
                }
            }
        }

        return (text, calls);
    }

    /// <summary>Claude Code's OTLP session metrics: the payload, and what it counts by day (tokens and cost, no calls).</summary>
    public static (string Payload, List<Contribution> Parts) Metrics(DateTime day, string session)
    {
        var text = MovedText(day, "otlp-metrics-delta.json").Replace(CapturedSession, session, StringComparison.Ordinal);
        var parts = new List<Contribution>();
        using var document = JsonDocument.Parse(text);
        foreach (var resource in document.RootElement.GetProperty("resourceMetrics").EnumerateArray())
        {
            var service = Attributes(resource.GetProperty("resource"))["service.name"].GetString()!;
            foreach (var metric in resource.GetProperty("scopeMetrics").EnumerateArray().SelectMany(s => s.GetProperty("metrics").EnumerateArray()))
            {
                var name = metric.GetProperty("name").GetString();
                if (name is not ("claude_code.token.usage" or "claude_code.cost.usage"))
                {
                    continue; // session count, active time: not usage
                }

                // Delta (1): each point is what its interval added. Cumulative (2, what the captured export holds): each
                // point is its series' running total since its start; every send here is a session of its own, so each
                // series is new and its first point adds its whole value.
                if (metric.GetProperty("sum").GetProperty("aggregationTemporality").GetInt32() is not (1 or 2))
                {
                    throw new InvalidDataException("The metrics fixture's temporality is neither delta nor cumulative.");
                }

                foreach (var point in metric.GetProperty("sum").GetProperty("dataPoints").EnumerateArray())
                {
                    var value = point.TryGetProperty("asDouble", out var d) ? d : point.GetProperty("asInt");
                    var pointDay = DateTimeOffset.FromUnixTimeMilliseconds((long)(ulong.Parse(point.GetProperty("timeUnixNano").GetString()!, CultureInfo.InvariantCulture) / 1_000_000))
                        .UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
                    var amount = Decimal(value);
                    var usage = name == "claude_code.cost.usage"
                        ? new Usage(0, 0, 0, 0, 0, 0, amount)
                        : Attributes(point)["type"].GetString() switch
                        {
                            "input" => new Usage(0, (long)amount, 0, 0, 0, 0, 0),
                            "output" => new Usage(0, 0, (long)amount, 0, 0, 0, 0),
                            "cacheRead" => new Usage(0, 0, 0, (long)amount, 0, 0, 0),
                            "cacheCreation" => new Usage(0, 0, 0, 0, (long)amount, 0, 0),
                            var other => throw new InvalidDataException($"Unknown token type '{other}' in the metrics fixture."),
                        };
                    parts.Add(new Contribution(pointDay, service, usage));
                }
            }
        }

        return (text, parts);
    }

    /// <summary>The captured session file, all of it, with its session, message and request ids renamed.</summary>
    public static List<string> SessionFile(DateTime day, string session, string idTag) =>
        [.. SessionLines(day, session, idTag)];

    /// <summary>
    /// One more turn of the session, as Claude Code appends it: the captured prompt, its two responses (the first
    /// written as two content-block lines) and the tool result between them, with ids of their own.
    /// </summary>
    public static List<string> SessionTurn(DateTime day, string session, string idTag) =>
        [.. SessionLines(day, session, idTag).Where(line => JsonDocument.Parse(line).RootElement.GetProperty("type").GetString() is "user" or "assistant" or "attachment")];

    /// <summary>
    /// The responses a session file holds, one per (message id, request id) as the importer reads it, with their
    /// usage; each costs what Claude Code's own record of the same call (an api_request log) says, which the
    /// server's estimate must equal.
    /// </summary>
    public static List<(string Key, Contribution Part)> SessionResponses(IEnumerable<string> lines)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var responses = new List<(string, Contribution)>();
        foreach (var line in lines)
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.GetProperty("type").GetString() != "assistant" || !root.GetProperty("message").TryGetProperty("usage", out var u))
            {
                continue;
            }

            var requestId = root.GetProperty("requestId").GetString()!;
            if (!seen.Add(root.GetProperty("message").GetProperty("id").GetString() + "\n" + requestId))
            {
                continue;
            }

            var tokens = (u.GetProperty("input_tokens").GetInt64(), u.GetProperty("output_tokens").GetInt64(), u.GetProperty("cache_read_input_tokens").GetInt64(), u.GetProperty("cache_creation_input_tokens").GetInt64());
            if (!CallCosts.Value.TryGetValue(tokens, out var cost))
            {
                throw new InvalidDataException($"No api_request record of the logs fixture has the usage {tokens} of session line {requestId}: its cost cannot be known.");
            }

            responses.Add(("call:" + requestId, new Contribution(Day(root.GetProperty("timestamp").GetString()!), "claude-code",
                new Usage(1, tokens.Item1, tokens.Item2, tokens.Item3, tokens.Item4, 0, cost))));
        }

        return responses;
    }

    /// <summary>Claude Code's cost of each call of the captured session, by its usage (input, output, cache read, cache write).</summary>
    private static readonly Lazy<Dictionary<(long, long, long, long), decimal>> CallCosts = new(() =>
        Logs(Fixtures.CapturedOn, CapturedSession, CapturedRequestPrefix).Calls
            .Select(c => c.Part.Usage)
            .DistinctBy(u => (u.Input, u.Output, u.CacheRead, u.CacheWrite))
            .ToDictionary(u => (u.Input, u.Output, u.CacheRead, u.CacheWrite), u => u.Cost));

    private static string[] SessionLines(DateTime day, string session, string idTag) =>
        MovedText(day, "session.jsonl")
            .Replace(CapturedSession, session, StringComparison.Ordinal)
            .Replace(CapturedRequestPrefix, $"req_{idTag}_", StringComparison.Ordinal)
            .Replace(CapturedMessagePrefix, $"msg_{idTag}_", StringComparison.Ordinal)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static Dictionary<string, JsonElement> Attributes(JsonElement owner)
    {
        var attributes = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (owner.TryGetProperty("attributes", out var list))
        {
            foreach (var kv in list.EnumerateArray())
            {
                // {"stringValue": "..."} / {"intValue": 1 or "1"} / {"doubleValue": 0.1}: the one property is the value.
                attributes[kv.GetProperty("key").GetString()!] = kv.GetProperty("value").EnumerateObject().First().Value;
            }
        }

        return attributes;
    }

    private static long Long(JsonElement value) =>
        value.ValueKind == JsonValueKind.String ? long.Parse(value.GetString()!, CultureInfo.InvariantCulture) : value.GetInt64();

    /// <summary>A number exactly as written in the payload.</summary>
    private static decimal Decimal(JsonElement value) =>
        decimal.Parse(value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture);

    private static string Day(string isoTimestamp) =>
        DateTimeOffset.Parse(isoTimestamp, CultureInfo.InvariantCulture).UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
