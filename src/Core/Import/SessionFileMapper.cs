using System.Text.Json;

namespace AgentSpend.Core.Import;

/// <summary>What one line of a session file is.</summary>
public enum LineKind
{
    /// <summary>A usage record, written as a native event.</summary>
    Usage,

    /// <summary>A line without usage (a prompt, a tool call, a running total, a synthetic message).</summary>
    Skipped,

    /// <summary>The same API response as an earlier line of this file.</summary>
    Duplicate,
}

/// <summary>
/// Agent session files, line by line. Claude Code writes one line per content block of a response, each
/// with the whole response's usage: lines are deduplicated on (<c>message.id</c>, <c>requestId</c>) and
/// <c>&lt;synthetic&gt;</c> lines are not API calls. Codex rollouts carry one <c>token_usage_record</c> per
/// response (its <c>response_id</c>); the running <c>token_count</c> totals are not counted again.
/// </summary>
public sealed class SessionFileMapper
{
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private string? _codexModel;

    public LineKind WriteClaudeCode(Utf8JsonWriter json, JsonElement line)
    {
        if (line.ValueKind != JsonValueKind.Object || Str(line, "type") != "assistant"
            || !line.TryGetProperty("message", out var message) || message.ValueKind != JsonValueKind.Object
            || !message.TryGetProperty("usage", out var usage) || usage.ValueKind != JsonValueKind.Object)
        {
            return LineKind.Skipped;
        }

        var model = Str(message, "model");
        if (model == "<synthetic>")
        {
            return LineKind.Skipped;
        }

        var requestId = Str(line, "requestId");
        var messageId = Str(message, "id");
        if (!_seen.Add($"{messageId}\n{requestId}"))
        {
            return LineKind.Duplicate;
        }

        var record = UsageRecord.FromJson(usage);
        json.WriteStartObject();
        json.WriteString("agent_name", "claude-code");
        json.WriteString("provider", "anthropic");
        ProviderExportMapper.WriteText(json, "model", model);
        ProviderExportMapper.WriteTimestamp(json, Str(line, "timestamp"));
        ProviderExportMapper.WriteCount(json, "input_tokens", record.Count("input_tokens"));
        ProviderExportMapper.WriteCount(json, "output_tokens", record.Count("output_tokens"));
        ProviderExportMapper.WriteCount(json, "cache_read_tokens", record.Count("cache_read_input_tokens"));
        // Claude Code splits cache writes by lifetime under cache_creation: the 1-hour share is priced higher,
        // the 5-minute one is the rest.
        var oneHour = record.Count("cache_creation.ephemeral_1h_input_tokens");
        var cacheWrite = record.Count("cache_creation_input_tokens");
        if (cacheWrite is (null, null) && oneHour.Raw is null && record.Count("cache_creation.ephemeral_5m_input_tokens") is { Number: { } fiveMinutes })
        {
            cacheWrite = (fiveMinutes + (oneHour.Number ?? 0), null);
        }

        ProviderExportMapper.WriteCount(json, "cache_write_tokens", cacheWrite);
        ProviderExportMapper.WriteCount(json, "cache_write_1h_tokens", oneHour);
        ProviderExportMapper.WriteText(json, "session_id", Str(line, "sessionId"));
        if (Str(line, "gitBranch") is { Length: > 0 } branch)
        {
            json.WriteStartObject("tags");
            json.WriteString("branch", branch);
            json.WriteEndObject();
        }

        // requestId is what Claude Code's OTLP records carry too: the same call from both is counted once.
        json.WriteString("idempotency_key", requestId is { Length: > 0 } ? "call:" + requestId : "claude-code-message:" + messageId);
        json.WriteEndObject();
        return LineKind.Usage;
    }

    public LineKind WriteCodex(Utf8JsonWriter json, JsonElement line)
    {
        if (line.ValueKind != JsonValueKind.Object || !line.TryGetProperty("payload", out var payload) || payload.ValueKind != JsonValueKind.Object)
        {
            return LineKind.Skipped;
        }

        switch (Str(line, "type"))
        {
            case "turn_context":
                _codexModel = Str(payload, "model") ?? _codexModel;
                return LineKind.Skipped;
            case "token_usage_record" when payload.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object:
                var responseId = Str(payload, "response_id");
                if (responseId is not null && !_seen.Add(responseId))
                {
                    return LineKind.Duplicate;
                }

                var record = UsageRecord.FromJson(usage);
                var input = record.Count("input_tokens");
                var cached = record.Count("cached_input_tokens");
                json.WriteStartObject();
                json.WriteString("agent_name", "codex");
                json.WriteString("provider", "openai");
                ProviderExportMapper.WriteText(json, "model", Str(payload, "model") ?? _codexModel);
                ProviderExportMapper.WriteTimestamp(json, Str(line, "timestamp"));
                // Codex counts cached tokens inside input, as OpenAI does.
                ProviderExportMapper.WriteCount(json, "input_tokens", input.Number is { } i && cached.Raw is null ? (Math.Max(0, i - (cached.Number ?? 0)), null) : input.Raw is not null ? input : cached);
                ProviderExportMapper.WriteCount(json, "cache_read_tokens", cached);
                ProviderExportMapper.WriteCount(json, "cache_write_tokens", record.Count("cache_write_input_tokens"));
                ProviderExportMapper.WriteCount(json, "output_tokens", record.Count("output_tokens"));
                ProviderExportMapper.WriteCount(json, "reasoning_tokens", record.Count("reasoning_output_tokens"));
                ProviderExportMapper.WriteText(json, "session_id", Str(payload, "session_id") ?? Str(payload, "thread_id"));
                json.WriteString("idempotency_key", responseId is not null ? "call:" + responseId : "codex:" + Str(line, "timestamp") + ":" + Str(line, "ordinal"));
                json.WriteEndObject();
                return LineKind.Usage;
            default:
                return LineKind.Skipped;
        }
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) ? v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number => v.GetRawText(),
            _ => null,
        } : null;
}
