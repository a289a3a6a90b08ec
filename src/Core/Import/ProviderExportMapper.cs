using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace AgentSpend.Core.Import;

/// <summary>
/// Maps one record of a provider usage export (Anthropic, OpenAI or Gemini, CSV or JSON) to a native
/// event. The provider is detected from the columns unless given: <c>input_tokens</c>/<c>output_tokens</c>
/// (Anthropic), <c>prompt_tokens</c>/<c>completion_tokens</c> (OpenAI, flat or under <c>usage</c>),
/// <c>prompt_token_count</c>/<c>candidates_token_count</c> (Gemini, flat or under <c>usageMetadata</c>).
/// OpenAI and Gemini count cached tokens inside the prompt; that share moves to cache reads.
/// </summary>
public static class ProviderExportMapper
{
    public const string Anthropic = "anthropic";
    public const string OpenAI = "openai";
    public const string Google = "google";

    private static readonly string[] Model = ["model", "model_name", "modelVersion", "model_version", "response.model"];
    private static readonly string[] Time = ["timestamp", "created_at", "time", "date", "start_time", "created", "createTime", "usage_date", "starting_at"];
    private static readonly string[] Id = ["request_id", "requestId", "response_id", "responseId", "id", "message_id"];
    private static readonly string[] Cost = ["cost_usd", "cost", "total_cost", "cost_in_usd", "amount"];

    /// <summary>The provider whose field names the record uses, or null when it has no usage columns.</summary>
    public static string? Detect(UsageRecord record) =>
        record.HasAny("prompt_tokens", "completion_tokens", "usage.prompt_tokens", "usage.completion_tokens", "n_context_tokens_total") ? OpenAI
        : record.HasAny("prompt_token_count", "candidates_token_count", "usageMetadata.promptTokenCount", "usage_metadata.prompt_token_count", "promptTokenCount") ? Google
        : record.HasAny("input_tokens", "output_tokens", "usage.input_tokens", "usage.output_tokens", "uncached_input_tokens") ? Anthropic
        : null;

    /// <summary>Writes the native event; false when the record carries no usage at all.</summary>
    public static bool Write(Utf8JsonWriter json, UsageRecord r, string? providerOverride, string agentName, string sourceLine)
    {
        var family = NormaliseFamily(providerOverride) ?? Detect(r);
        if (family is null)
        {
            return false;
        }

        json.WriteStartObject();
        json.WriteString("agent_name", r.Text("agent_name", "agent") ?? agentName);
        json.WriteString("provider", providerOverride ?? family);
        WriteText(json, "model", r.Text(Model));
        WriteTimestamp(json, r.Text(Time));
        switch (family)
        {
            case OpenAI:
                WriteSplit(json, r.Count("prompt_tokens", "usage.prompt_tokens", "input_tokens", "usage.input_tokens"),
                    r.Count("cached_tokens", "usage.prompt_tokens_details.cached_tokens", "prompt_tokens_details.cached_tokens", "usage.input_tokens_details.cached_tokens", "input_cached_tokens"));
                WriteCount(json, "output_tokens", r.Count("completion_tokens", "usage.completion_tokens", "output_tokens", "usage.output_tokens"));
                WriteCount(json, "reasoning_tokens", r.Count("reasoning_tokens", "usage.completion_tokens_details.reasoning_tokens", "completion_tokens_details.reasoning_tokens", "usage.output_tokens_details.reasoning_tokens"));
                break;
            case Google:
                WriteSplit(json, r.Count("prompt_token_count", "usageMetadata.promptTokenCount", "usage_metadata.prompt_token_count", "promptTokenCount"),
                    r.Count("cached_content_token_count", "usageMetadata.cachedContentTokenCount", "usage_metadata.cached_content_token_count", "cachedContentTokenCount"));
                var candidates = r.Count("candidates_token_count", "usageMetadata.candidatesTokenCount", "usage_metadata.candidates_token_count", "candidatesTokenCount");
                var thoughts = r.Count("thoughts_token_count", "usageMetadata.thoughtsTokenCount", "usage_metadata.thoughts_token_count", "thoughtsTokenCount");
                // Gemini bills thinking as output, but reports it apart from the candidates.
                WriteCount(json, "output_tokens", candidates.Raw is null && thoughts.Raw is null && (candidates.Number ?? thoughts.Number) is not null
                    ? ((candidates.Number ?? 0) + (thoughts.Number ?? 0), null)
                    : candidates.Raw is not null ? candidates : thoughts);
                WriteCount(json, "reasoning_tokens", thoughts);
                break;
            default:
                WriteCount(json, "input_tokens", r.Count("input_tokens", "usage.input_tokens", "uncached_input_tokens"));
                WriteCount(json, "output_tokens", r.Count("output_tokens", "usage.output_tokens"));
                WriteCount(json, "cache_read_tokens", r.Count("cache_read_input_tokens", "usage.cache_read_input_tokens", "cache_read_tokens"));
                WriteCount(json, "cache_write_tokens", r.Count("cache_creation_input_tokens", "usage.cache_creation_input_tokens", "cache_write_tokens", "cache_creation_tokens"));
                // The Messages API splits cache writes by lifetime; 1-hour writes cost more than 5-minute ones.
                WriteCount(json, "cache_write_1h_tokens", r.Count("cache_creation.ephemeral_1h_input_tokens", "usage.cache_creation.ephemeral_1h_input_tokens", "cache_write_1h_tokens"));
                break;
        }

        WriteNumberOrText(json, "cost_usd", r.Text(Cost));
        WriteText(json, "user_id", r.Text("user_id", "user", "user.id", "email", "api_key_name"));
        WriteText(json, "team", r.Text("team", "workspace_name", "project_name", "project_id"));
        WriteText(json, "session_id", r.Text("session_id", "sessionId", "conversation_id"));
        // The provider's id for the call matches the same call from any other channel; without one, the
        // record's own content keys it, so importing the same file again counts nothing twice.
        json.WriteString("idempotency_key", r.Text(Id) is { Length: > 0 } id ? "call:" + id : "import:" + ContentHash(sourceLine));
        json.WriteEndObject();
        return true;
    }

    internal static string ContentHash(string text) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..32];

    internal static void WriteText(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }

    /// <summary>ISO 8601 as sent; Unix seconds (or milliseconds, when that large) as ISO 8601 UTC.</summary>
    internal static void WriteTimestamp(Utf8JsonWriter json, string? value)
    {
        if (value is null)
        {
            return;
        }

        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var unix) && unix is > 0 and < 1e14)
        {
            var ms = unix > 1e11 ? unix : unix * 1000;
            json.WriteString("timestamp", DateTimeOffset.FromUnixTimeMilliseconds((long)ms).ToString("O", CultureInfo.InvariantCulture));
            return;
        }

        // A date alone is a day's usage line in some exports: count it at the start of that day, UTC.
        json.WriteString("timestamp", value.Length == 10 && DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _) ? value + "T00:00:00Z" : value);
    }

    internal static void WriteCount(Utf8JsonWriter json, string name, (long? Number, string? Raw) value)
    {
        if (value.Number is { } n)
        {
            json.WriteNumber(name, n);
        }
        else if (value.Raw is not null)
        {
            json.WriteString(name, value.Raw); // the ingest validation refuses it, naming the field
        }
    }

    private static void WriteSplit(Utf8JsonWriter json, (long? Number, string? Raw) prompt, (long? Number, string? Raw) cached)
    {
        if (prompt.Number is { } p && cached.Raw is null)
        {
            var c = cached.Number ?? 0;
            json.WriteNumber("input_tokens", Math.Max(0, p - c));
            if (cached.Number is not null)
            {
                json.WriteNumber("cache_read_tokens", c);
            }
        }
        else
        {
            WriteCount(json, "input_tokens", prompt.Raw is not null ? prompt : cached);
        }
    }

    private static void WriteNumberOrText(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            return;
        }

        if (decimal.TryParse(value.TrimStart('$'), NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            json.WriteNumber(name, number);
        }
        else
        {
            json.WriteString(name, value);
        }
    }

    private static string? NormaliseFamily(string? provider) => provider?.ToLowerInvariant() switch
    {
        null => null,
        "anthropic" or "claude" => Anthropic,
        "openai" or "azure-openai" or "azure_openai" => OpenAI,
        "google" or "gemini" or "vertex" or "vertex_ai" => Google,
        _ => null,
    };
}
