using System;
using System.Globalization;
using System.IO;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace AgentSpend.Sdk;

/// <summary>The wire format (snake_case, nulls left out), written by hand: no reflection, the same bytes on every target.</summary>
internal static class Json
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] Serialize(UsageEvent e)
    {
        using var stream = new MemoryStream(256);
        using (var w = new Utf8JsonWriter(stream, WriterOptions))
        {
            w.WriteStartObject();
            Str(w, "agent_name", e.AgentName);
            Str(w, "provider", e.Provider);
            Str(w, "model", e.Model);
            if (e.Timestamp is { } ts)
            {
                w.WriteString("timestamp", ts.ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture));
            }

            Num(w, "input_tokens", e.InputTokens);
            Num(w, "output_tokens", e.OutputTokens);
            Num(w, "cache_read_tokens", e.CacheReadTokens);
            Num(w, "cache_write_tokens", e.CacheWriteTokens);
            Num(w, "cache_write_1h_tokens", e.CacheWrite1hTokens);
            Num(w, "reasoning_tokens", e.ReasoningTokens);
            if (e.CostUsd is { } cost)
            {
                w.WriteNumber("cost_usd", cost);
            }

            Num(w, "duration_ms", e.DurationMs);
            Str(w, "run_id", e.RunId);
            Str(w, "session_id", e.SessionId);
            Str(w, "user_id", e.UserId);
            Str(w, "team", e.Team);
            Str(w, "framework", e.Framework);
            Str(w, "task_type", e.TaskType);
            if (e.TaskSuccess is { } success)
            {
                w.WriteBoolean("task_success", success);
            }

            Str(w, "idempotency_key", e.IdempotencyKey);
            if (e.Tags is not null)
            {
                w.WriteStartObject("tags");
                foreach (var pair in e.Tags)
                {
                    w.WriteString(pair.Key, pair.Value);
                }

                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        return stream.ToArray();
    }

    public static byte[] Serialize(CheckRequest r, bool reserve)
    {
        using var stream = new MemoryStream(256);
        using (var w = new Utf8JsonWriter(stream, WriterOptions))
        {
            w.WriteStartObject();
            Str(w, "agent_name", r.AgentName);
            Str(w, "user_id", r.UserId);
            Str(w, "team", r.Team);
            Str(w, "model", r.Model);
            Str(w, "tool", r.Tool);
            if (r.EstimatedCostUsd is { } cost)
            {
                w.WriteNumber("estimated_cost_usd", cost);
            }

            Num(w, "estimated_tokens", r.EstimatedTokens);
            Str(w, "run_id", r.RunId);
            Str(w, "idempotency_key", r.IdempotencyKey);
            Num(w, "reservation_ttl_seconds", r.ReservationTtlSeconds);
            if (reserve)
            {
                w.WriteBoolean("reserve", true);
            }

            w.WriteEndObject();
        }

        return stream.ToArray();
    }

    /// <summary>The body's JSON, or null when it is empty or not JSON.</summary>
    public static JsonElement? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(text!);
            return doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static JsonElement? Prop(JsonElement? obj, string name) =>
        obj is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public static string? String(JsonElement? obj, string name) =>
        Prop(obj, name) is { ValueKind: JsonValueKind.String } v ? v.GetString() : null;

    public static decimal? Decimal(JsonElement? obj, string name) =>
        Prop(obj, name) is { ValueKind: JsonValueKind.Number } v && v.TryGetDecimal(out var d) ? d : null;

    public static int? Int(JsonElement? obj, string name) =>
        Prop(obj, name) is { ValueKind: JsonValueKind.Number } v && v.TryGetInt32(out var i) ? i : null;

    public static DateTimeOffset? Date(JsonElement? obj, string name) =>
        String(obj, name) is { } s && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var d) ? d : null;

    /// <summary>A human reason from an error body: <c>reason</c>, <c>detail</c>, <c>title</c> or <c>error</c>.</summary>
    public static string? ReasonText(JsonElement? body)
    {
        foreach (var key in new[] { "reason", "detail", "title", "error" })
        {
            if (String(body, key) is { Length: > 0 } s)
            {
                return s;
            }
        }

        return null;
    }

    private static void Str(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, value);
        }
    }

    private static void Num(Utf8JsonWriter w, string name, long? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, v);
        }
    }

    private static void Num(Utf8JsonWriter w, string name, int? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, v);
        }
    }
}

/// <summary><c>Retry-After</c>: delta-seconds or an HTTP date (RFC 9110).</summary>
internal static class RetryAfter
{
    public static TimeSpan? Parse(string? value, DateTimeOffset now)
    {
        if (value is null)
        {
            return null;
        }

        var v = value.Trim();
        if (v.Length == 0)
        {
            return null;
        }

        if (double.TryParse(v, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds))
        {
            return TimeSpan.FromMilliseconds(Math.Ceiling(Math.Max(0, seconds) * 1000));
        }

        if (DateTimeOffset.TryParseExact(v, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var when)
            || DateTimeOffset.TryParse(v, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out when))
        {
            var left = when - now;
            return left < TimeSpan.Zero ? TimeSpan.Zero : left;
        }

        return null;
    }

    public static TimeSpan? From(System.Net.Http.HttpResponseMessage response, DateTimeOffset now)
    {
        if (response.Headers.TryGetValues("Retry-After", out var values))
        {
            foreach (var v in values)
            {
                return Parse(v, now);
            }
        }

        return null;
    }
}
