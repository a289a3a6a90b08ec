using System.Globalization;
using System.Text.Json;
using AgentSpend.Core.Otlp.Proto;
using Google.Protobuf.Collections;

namespace AgentSpend.Core.Otlp;

/// <summary>
/// What an OTLP export held: its usage records as native ingest batches (each within the batch limit), how
/// many records carried no usage, the records refused before ingest (with reasons), and what must be
/// written once the batches are queued.
/// </summary>
public sealed record OtlpBatch(IReadOnlyList<byte[]> NativeBatches, int UsageRecords, int OtherRecords)
{
    public int Refused { get; init; }

    public IReadOnlyList<string> RefusalReasons { get; init; } = [];

    /// <summary>Runs after every batch is queued (never before: what it records must not get ahead of the queue).</summary>
    public Func<CancellationToken, Task>? AfterQueued { get; init; }
}

/// <summary>
/// Turns OTLP logs and spans into native ingest events, so they pass the same validation, pricing,
/// limits and exactly-once aggregation as the batch API. Records that carry no usage (prompts, tool
/// decisions, non-LLM spans) are left out; prompt and response text is never read.
/// <para>
/// One API call is counted once, whichever channels it arrives through: every event's idempotency key
/// is the provider's id for the call (<c>request_id</c>, else <c>gen_ai.response.id</c>), so the
/// <c>api_request</c> log and the <c>llm_request</c> span of one Claude Code call, or a span and an
/// imported session line, land on the same raw row and the second is dropped. Records without such an
/// id get a key from their session and timestamp, unique within their channel.
/// </para>
/// </summary>
public static partial class OtlpUsageMapper
{
    public static OtlpBatch FromLogs(ExportLogsServiceRequest request)
    {
        using var writer = new BatchWriter();
        int usage = 0, other = 0;
        foreach (var resourceLogs in request.ResourceLogs)
        {
            var resource = resourceLogs.Resource?.Attributes;
            foreach (var record in resourceLogs.ScopeLogs.SelectMany(s => s.LogRecords))
            {
                var attributes = new Attributes(record.Attributes, resource);
                var json = writer.Next();
                var eventName = attributes.String("event.name") ?? record.EventName ?? record.Body?.StringValue;
                var when = attributes.String("event.timestamp") ?? Instant(record.TimeUnixNano) ?? Instant(record.ObservedTimeUnixNano);
                var written = eventName switch
                {
                    "api_request" or "claude_code.api_request" => WriteClaudeCodeRequest(json, attributes, when),
                    "codex.sse_event" when attributes.String("event.kind") == "response.completed" => WriteCodexResponse(json, attributes, when, record.ObservedTimeUnixNano),
                    _ => false,
                };
                usage += written ? 1 : 0;
                other += written ? 0 : 1;
                writer.Wrote(written);
            }
        }

        return new OtlpBatch(writer.Finish(), usage, other);
    }

    public static OtlpBatch FromTraces(ExportTraceServiceRequest request)
    {
        using var writer = new BatchWriter();
        int usage = 0, other = 0;
        foreach (var resourceSpans in request.ResourceSpans)
        {
            var resource = resourceSpans.Resource?.Attributes;
            foreach (var span in resourceSpans.ScopeSpans.SelectMany(s => s.Spans))
            {
                var attributes = new Attributes(span.Attributes, resource);
                var written = WriteSpan(writer.Next(), attributes, Instant(span.StartTimeUnixNano));
                usage += written ? 1 : 0;
                other += written ? 0 : 1;
                writer.Wrote(written);
            }
        }

        return new OtlpBatch(writer.Finish(), usage, other);
    }

    /// <summary>Claude Code's <c>api_request</c> log: tokens, its own cost estimate and the request id.</summary>
    private static bool WriteClaudeCodeRequest(Utf8JsonWriter json, Attributes a, string? when)
    {
        json.WriteStartObject();
        WriteCommon(json, a, "anthropic", a.String("model"), when, a.String("service.name") ?? "claude-code", a.String("session.id"));
        if (!WriteMalformedTokens(json, a))
        {
            WriteTokens(json, a.Long("input_tokens"), a.Long("output_tokens"), a.Long("cache_read_tokens"), a.Long("cache_creation_tokens"), null);
        }
        a.WriteNumber(json, "cost_usd", "cost_usd");
        a.WriteNumber(json, "duration_ms", "duration_ms");
        WriteKey(json, a.String("request_id"), "claude-code", a.String("session.id"), a.String("event.sequence") ?? when);
        json.WriteEndObject();
        return true;
    }

    /// <summary>
    /// Codex's <c>response.completed</c> log. Its counts are OpenAI's: input includes the cached share,
    /// so that share moves to cache reads. No cost is sent: the server prices it.
    /// </summary>
    private static bool WriteCodexResponse(Utf8JsonWriter json, Attributes a, string? when, ulong observed)
    {
        var input = a.Long("input_token_count");
        if (input is null && a.Long("output_token_count") is null)
        {
            return false; // a completion event without usage: nothing to count
        }

        var cached = a.Long("cached_token_count") ?? 0;
        json.WriteStartObject();
        WriteCommon(json, a, "openai", a.String("model"), when, a.String("service.name") ?? "codex", a.String("conversation.id"));
        if (!WriteMalformedTokens(json, a))
        {
            WriteTokens(json, input is { } i ? Math.Max(0, i - cached) : null, a.Long("output_token_count"), cached, a.Long("cache_write_token_count"), a.Long("reasoning_token_count"));
        }
        WriteKey(json, a.String("response_id") ?? a.String("gen_ai.response.id"), "codex", a.String("conversation.id"), observed.ToString(CultureInfo.InvariantCulture));
        json.WriteEndObject();
        return true;
    }

    /// <summary>
    /// A span that carries token usage: GenAI semantic conventions (<c>gen_ai.usage.*</c>), Claude Code's
    /// <c>llm_request</c> (plain <c>input_tokens</c>…) and Codex's <c>handle_responses</c>.
    /// </summary>
    private static bool WriteSpan(Utf8JsonWriter json, Attributes a, string? when)
    {
        var input = a.Long("gen_ai.usage.input_tokens") ?? a.Long("input_tokens");
        var output = a.Long("gen_ai.usage.output_tokens") ?? a.Long("output_tokens");
        if (input is null && output is null)
        {
            return false;
        }

        var cacheRead = a.Long("gen_ai.usage.cache_read.input_tokens") ?? a.Long("cache_read_tokens");
        var cacheWrite = a.Long("gen_ai.usage.cache_creation.input_tokens") ?? a.Long("gen_ai.usage.cache_write.input_tokens") ?? a.Long("cache_creation_tokens");
        var service = a.String("service.name");
        var provider = a.String("gen_ai.provider.name") ?? a.String("gen_ai.system")
                       ?? (service is "claude-code" ? "anthropic" : service is "codex_exec" or "codex" ? "openai" : null);
        var model = a.String("gen_ai.response.model") ?? a.String("gen_ai.request.model") ?? a.String("model");
        json.WriteStartObject();
        WriteCommon(json, a, provider, model, when, a.String("gen_ai.agent.name") ?? service ?? a.String("agent.harness.name") ?? "otel",
            a.String("gen_ai.conversation.id") ?? a.String("agent.session.id") ?? a.String("session.id"));
        // OpenAI-family emitters count cached tokens inside input; GenAI conventions ask the same. Claude
        // Code's own span counts them apart. Either way, input here is the uncached share.
        var cachedInside = provider is "openai" || (a.Has("gen_ai.usage.input_tokens") && provider is not "anthropic");
        var uncached = input is { } i && cachedInside ? Math.Max(0, i - (cacheRead ?? 0) - (cacheWrite ?? 0)) : input;
        if (!WriteMalformedTokens(json, a))
        {
            WriteTokens(json, uncached, output, cacheRead, cacheWrite, a.Long("gen_ai.usage.reasoning.output_tokens"));
        }
        WriteAgentCost(json, a);
        WriteKey(json, a.String("request_id") ?? a.String("gen_ai.response.id"), "span", a.String("session.id"), when);
        json.WriteEndObject();
        return true;
    }

    private static readonly string[] AgentCostParts = ["agent.cost.input.usd", "agent.cost.output.usd", "agent.cost.cache_read.usd", "agent.cost.cache_write.usd"];

    /// <summary>
    /// The <c>agent.*</c> cost: its total when sent, else the sum of its parts. A part that is not a number
    /// is copied as text, so the ingest validation refuses the record instead of counting less.
    /// </summary>
    private static void WriteAgentCost(Utf8JsonWriter json, Attributes a)
    {
        if (a.Has("agent.cost.total.usd") || !AgentCostParts.Any(a.Has))
        {
            a.WriteNumber(json, "agent.cost.total.usd", "cost_usd");
            return;
        }

        var total = 0m;
        foreach (var part in AgentCostParts.Where(a.Has))
        {
            if (!decimal.TryParse(a.String(part), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                json.WriteString("cost_usd", a.String(part));
                return;
            }

            total += value;
        }

        json.WriteNumber("cost_usd", total);
    }

    private static void WriteCommon(Utf8JsonWriter json, Attributes a, string? provider, string? model, string? when, string agent, string? session)
    {
        WriteOptional(json, "agent_name", agent);
        WriteOptional(json, "provider", provider);
        WriteOptional(json, "model", model);
        WriteOptional(json, "timestamp", when);
        WriteOptional(json, "user_id", a.String("user.email") ?? a.String("agent.user.id") ?? a.String("user.id"));
        WriteOptional(json, "team", a.String("team.id") ?? a.String("department"));
        WriteOptional(json, "session_id", session);
        var tags = new Dictionary<string, string?>
        {
            ["harness"] = a.String("agent.harness.name") ?? a.String("service.name"),
            ["harness_version"] = a.String("agent.harness.version") ?? a.String("service.version"),
            ["machine"] = a.String("agent.machine.id") ?? a.String("host.name"),
            ["repo"] = a.String("agent.workspace.repo"),
            ["branch"] = a.String("agent.workspace.branch"),
            ["ci"] = a.String("agent.workspace.is_ci"),
        };
        if (tags.Values.Any(v => !string.IsNullOrEmpty(v)))
        {
            json.WriteStartObject("tags");
            foreach (var (key, value) in tags)
            {
                if (!string.IsNullOrEmpty(value))
                {
                    json.WriteString(key, value);
                }
            }

            json.WriteEndObject();
        }
    }

    /// <summary>Token attributes of every emitter, and the native field each one feeds.</summary>
    private static readonly Dictionary<string, string> TokenAttributes = new(StringComparer.Ordinal)
    {
        ["input_tokens"] = "input_tokens", ["output_tokens"] = "output_tokens",
        ["cache_read_tokens"] = "cache_read_tokens", ["cache_creation_tokens"] = "cache_write_tokens",
        ["input_token_count"] = "input_tokens", ["output_token_count"] = "output_tokens", ["cached_token_count"] = "cache_read_tokens",
        ["cache_write_token_count"] = "cache_write_tokens", ["reasoning_token_count"] = "reasoning_tokens",
        ["gen_ai.usage.input_tokens"] = "input_tokens", ["gen_ai.usage.output_tokens"] = "output_tokens",
        ["gen_ai.usage.cache_read.input_tokens"] = "cache_read_tokens", ["gen_ai.usage.cache_creation.input_tokens"] = "cache_write_tokens",
        ["gen_ai.usage.cache_write.input_tokens"] = "cache_write_tokens", ["gen_ai.usage.reasoning.output_tokens"] = "reasoning_tokens",
    };

    private static readonly string[] TokenAttributeNames = [.. TokenAttributes.Keys];

    /// <summary>
    /// A token count that is not a whole number makes the record invalid: its text goes into the native
    /// field it feeds, so the ingest validation refuses the record and names that field. Never read as zero.
    /// </summary>
    private static bool WriteMalformedTokens(Utf8JsonWriter json, Attributes a)
    {
        if (a.Malformed(TokenAttributeNames) is not { } bad)
        {
            return false;
        }

        json.WriteString(TokenAttributes[bad], a.String(bad));
        return true;
    }

    private static void WriteTokens(Utf8JsonWriter json, long? input, long? output, long? cacheRead, long? cacheWrite, long? reasoning)
    {
        WriteNumber(json, "input_tokens", input);
        WriteNumber(json, "output_tokens", output);
        WriteNumber(json, "cache_read_tokens", cacheRead);
        WriteNumber(json, "cache_write_tokens", cacheWrite);
        WriteNumber(json, "reasoning_tokens", reasoning);
    }

    /// <summary>The provider's call id when there is one (shared by every channel); otherwise one unique to this record.</summary>
    private static void WriteKey(Utf8JsonWriter json, string? callId, string channel, string? session, string? position) =>
        WriteOptional(json, "idempotency_key", callId is { Length: > 0 } ? "call:" + callId : position is null ? null : $"{channel}:{session}:{position}");

    private static void WriteOptional(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }

    private static void WriteNumber(Utf8JsonWriter json, string name, long? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v);
        }
    }

    internal static string? Instant(ulong unixNanos) =>
        unixNanos == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds((long)(unixNanos / 1_000_000)).AddTicks((long)(unixNanos % 1_000_000 / 100)).ToString("O", CultureInfo.InvariantCulture);

    /// <summary>Writes events into native batches of at most <see cref="Ingest.IngestRequestParser.MaxEvents"/>.</summary>
    internal sealed class BatchWriter : IDisposable
    {
        private readonly List<byte[]> _done = [];
        private MemoryStream? _buffer;
        private Utf8JsonWriter? _json;
        private int _count;

        /// <summary>The writer for the next event; a record that turns out to carry no usage writes nothing.</summary>
        public Utf8JsonWriter Next()
        {
            if (_json is null || _count == Ingest.IngestRequestParser.MaxEvents)
            {
                Close();
                _buffer = new MemoryStream();
                _json = new Utf8JsonWriter(_buffer);
                _json.WriteStartObject();
                _json.WriteStartArray("events");
                _count = 0;
            }

            return _json;
        }

        public void Wrote(bool written) => _count += written ? 1 : 0;

        public List<byte[]> Finish()
        {
            Close();
            return _done;
        }

        public void Dispose()
        {
            _json?.Dispose();
            _buffer?.Dispose();
        }

        private void Close()
        {
            if (_json is null)
            {
                return;
            }

            _json.WriteEndArray();
            _json.WriteEndObject();
            _json.Flush();
            if (_count > 0)
            {
                _done.Add(_buffer!.ToArray());
            }

            _json.Dispose();
            _buffer!.Dispose();
            (_json, _buffer) = (null, null);
        }
    }

    /// <summary>A record's attributes, falling back to its resource's. Numbers may arrive as strings.</summary>
    internal readonly struct Attributes(RepeatedField<KeyValue> own, RepeatedField<KeyValue>? resource)
    {
        public bool Has(string key) => Find(key) is not null;

        public string? String(string key) => Find(key) switch
        {
            null => null,
            { ValueCase: AnyValue.ValueOneofCase.StringValue } v => v.StringValue,
            { ValueCase: AnyValue.ValueOneofCase.IntValue } v => v.IntValue.ToString(CultureInfo.InvariantCulture),
            { ValueCase: AnyValue.ValueOneofCase.DoubleValue } v => v.DoubleValue.ToString("R", CultureInfo.InvariantCulture),
            { ValueCase: AnyValue.ValueOneofCase.BoolValue } v => v.BoolValue ? "true" : "false",
            _ => null,
        };

        public long? Long(string key) => Find(key) switch
        {
            { ValueCase: AnyValue.ValueOneofCase.IntValue } v => v.IntValue,
            { ValueCase: AnyValue.ValueOneofCase.DoubleValue } v when v.DoubleValue == Math.Floor(v.DoubleValue) && Math.Abs(v.DoubleValue) < 1e15 => (long)v.DoubleValue,
            { ValueCase: AnyValue.ValueOneofCase.StringValue } v when long.TryParse(v.StringValue, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) => n,
            _ => null,
        };

        /// <summary>
        /// Copies a numeric attribute as a JSON number, exactly as sent (a double's shortest round-trip
        /// text). What is not a number is copied as text, so the ingest validation refuses the record.
        /// </summary>
        public void WriteNumber(Utf8JsonWriter json, string key, string name)
        {
            var text = String(key);
            if (text is null)
            {
                return;
            }

            if (decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                json.WriteNumber(name, value);
            }
            else
            {
                json.WriteString(name, text);
            }
        }

        /// <summary>The first of <paramref name="keys"/> that is present but not a whole number, if any.</summary>
        public string? Malformed(string[] keys)
        {
            foreach (var key in keys)
            {
                if (Has(key) && Long(key) is null)
                {
                    return key;
                }
            }

            return null;
        }

        private AnyValue? Find(string key)
        {
            foreach (var kv in own)
            {
                if (kv.Key == key)
                {
                    return kv.Value;
                }
            }

            if (resource is not null)
            {
                foreach (var kv in resource)
                {
                    if (kv.Key == key)
                    {
                        return kv.Value;
                    }
                }
            }

            return null;
        }
    }
}
