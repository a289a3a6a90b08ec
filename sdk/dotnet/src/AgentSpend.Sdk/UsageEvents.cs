using System;
using System.Text.Json;

namespace AgentSpend.Sdk;

/// <summary>
/// Usage events from provider responses (their JSON: the official .NET SDKs' objects serialize to these shapes, e.g.
/// <c>ModelReaderWriter.Write(completion).ToString()</c> for OpenAI's). Token kinds follow the rule of docs/pricing.md:
/// <c>input_tokens</c> excludes cache reads and writes (OpenAI counts its cached tokens inside the input, so they are
/// subtracted), <c>reasoning_tokens</c> are part of <c>output_tokens</c>, <c>cache_write_1h_tokens</c> is the 1-hour
/// share of <c>cache_write_tokens</c>.
/// </summary>
/// <remarks>
/// A token field whose source is absent from the response is left out (not 0); a source present with 0 gives 0. The
/// response <c>id</c> becomes the <c>idempotency_key</c>, so one call recorded twice is counted once. Nothing of the
/// prompt or the output is read. Set further fields (<c>AgentName</c>, <c>DurationMs</c>, <c>Provider</c> for Azure
/// OpenAI …) on the returned event.
/// </remarks>
public static class UsageEvents
{
    /// <summary>An OpenAI Chat Completions response (<c>object: "chat.completion"</c>, or a stream's last chunk with <c>usage</c>).</summary>
    /// <exception cref="ArgumentException">Not a JSON object, or no <c>usage</c>.</exception>
    public static UsageEvent FromOpenAIChatCompletion(JsonElement response) =>
        OpenAI(response, "prompt_tokens", "completion_tokens", "prompt_tokens_details", "completion_tokens_details");

    /// <inheritdoc cref="FromOpenAIChatCompletion(JsonElement)"/>
    public static UsageEvent FromOpenAIChatCompletion(string json) => WithDocument(json, FromOpenAIChatCompletion);

    /// <summary>An OpenAI Responses API response (<c>object: "response"</c>).</summary>
    /// <exception cref="ArgumentException">Not a JSON object, or no <c>usage</c>.</exception>
    public static UsageEvent FromOpenAIResponse(JsonElement response) =>
        OpenAI(response, "input_tokens", "output_tokens", "input_tokens_details", "output_tokens_details");

    /// <inheritdoc cref="FromOpenAIResponse(JsonElement)"/>
    public static UsageEvent FromOpenAIResponse(string json) => WithDocument(json, FromOpenAIResponse);

    /// <summary>An Anthropic Messages response (<c>type: "message"</c>).</summary>
    /// <exception cref="ArgumentException">Not a JSON object, or no <c>usage</c>.</exception>
    public static UsageEvent FromAnthropicMessage(JsonElement response)
    {
        var usage = Usage(response);
        var e = new UsageEvent
        {
            Provider = "anthropic",
            Model = Text(response, "model"),
            IdempotencyKey = Text(response, "id"),
            InputTokens = Count(usage, "input_tokens"),
            OutputTokens = Count(usage, "output_tokens"),
            CacheReadTokens = Count(usage, "cache_read_input_tokens"),
            CacheWriteTokens = Count(usage, "cache_creation_input_tokens"),
        };
        if (Json.Prop(usage, "cache_creation") is { ValueKind: JsonValueKind.Object } creation && Count(creation, "ephemeral_1h_input_tokens") is long oneHour)
        {
            e.CacheWriteTokens ??= oneHour + (Count(creation, "ephemeral_5m_input_tokens") ?? 0);
            e.CacheWrite1hTokens = Math.Min(oneHour, e.CacheWriteTokens.Value);
        }

        return e;
    }

    /// <inheritdoc cref="FromAnthropicMessage(JsonElement)"/>
    public static UsageEvent FromAnthropicMessage(string json) => WithDocument(json, FromAnthropicMessage);

    /// <summary>
    /// Any of the three, told apart by shape: Anthropic (<c>type: "message"</c>, or <c>cache_read_input_tokens</c> /
    /// <c>cache_creation_input_tokens</c> in usage), OpenAI Responses (<c>object: "response"</c>, or <c>input_tokens</c>
    /// in usage), OpenAI Chat Completions (<c>object: "chat.completion…"</c>, or <c>prompt_tokens</c> in usage).
    /// </summary>
    /// <exception cref="ArgumentException">None of them.</exception>
    public static UsageEvent FromResponse(JsonElement response)
    {
        var usage = Usage(response);
        if (Text(response, "type") == "message" || Json.Prop(usage, "cache_read_input_tokens") is not null || Json.Prop(usage, "cache_creation_input_tokens") is not null)
        {
            return FromAnthropicMessage(response);
        }

        if (Text(response, "object") == "response" || Json.Prop(usage, "input_tokens") is not null)
        {
            return FromOpenAIResponse(response);
        }

        if ((Text(response, "object") ?? string.Empty).StartsWith("chat.completion", StringComparison.Ordinal) || Json.Prop(usage, "prompt_tokens") is not null)
        {
            return FromOpenAIChatCompletion(response);
        }

        throw new ArgumentException("AgentSpend: not an OpenAI or Anthropic response with usage", nameof(response));
    }

    /// <inheritdoc cref="FromResponse(JsonElement)"/>
    public static UsageEvent FromResponse(string json) => WithDocument(json, FromResponse);

    private static UsageEvent OpenAI(JsonElement response, string input, string output, string inputDetails, string outputDetails)
    {
        var usage = Usage(response);
        var total = Count(usage, input);
        var cached = Count(Json.Prop(usage, inputDetails), "cached_tokens");
        return new UsageEvent
        {
            Provider = "openai",
            Model = Text(response, "model"),
            IdempotencyKey = Text(response, "id"),
            InputTokens = total is long t ? Math.Max(0, t - (cached ?? 0)) : null,
            OutputTokens = Count(usage, output),
            CacheReadTokens = cached,
            ReasoningTokens = Count(Json.Prop(usage, outputDetails), "reasoning_tokens"),
        };
    }

    private static JsonElement Usage(JsonElement response)
    {
        if (response.ValueKind != JsonValueKind.Object)
        {
            throw new ArgumentException("AgentSpend: expected a response object (JSON)", nameof(response));
        }

        return Json.Prop(response, "usage") is { ValueKind: JsonValueKind.Object } usage
            ? usage
            : throw new ArgumentException("AgentSpend: the response has no usage", nameof(response));
    }

    private static long? Count(JsonElement? obj, string name)
    {
        if (Json.Prop(obj, name) is not { ValueKind: JsonValueKind.Number } v)
        {
            return null;
        }

        if (v.TryGetInt64(out var n))
        {
            return Math.Max(0, n);
        }

        var d = v.GetDouble();
        return double.IsNaN(d) || double.IsInfinity(d) ? null : Math.Max(0, (long)Math.Round(d));
    }

    private static string? Text(JsonElement obj, string name) => Json.String(obj, name) is { Length: > 0 } s ? s : null;

    private static UsageEvent WithDocument(string json, Func<JsonElement, UsageEvent> read)
    {
        if (json is null)
        {
            throw new ArgumentNullException(nameof(json));
        }

        using var doc = JsonDocument.Parse(json);
        return read(doc.RootElement);
    }
}
