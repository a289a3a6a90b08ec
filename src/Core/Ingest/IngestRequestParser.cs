using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using AgentSpend.Core.Domain;
using AgentSpend.Core.Pricing;
using AgentSpend.Core.Workspaces;

namespace AgentSpend.Core.Ingest;

/// <summary>Why one event of a batch was refused.</summary>
public sealed record IngestError(int Index, string Field, string Reason);

/// <summary>The outcome of reading a batch: either a request-level problem, or accepted events and per-event errors.</summary>
public sealed record IngestParseResult(IReadOnlyList<UsageEvent> Accepted, int Rejected, IReadOnlyList<IngestError> Errors, IngestProblem? Problem)
{
    public static IngestParseResult Failed(IngestProblem problem) => new([], 0, [], problem);
}

/// <summary>A problem with the request as a whole.</summary>
public sealed record IngestProblem(IngestProblemKind Kind, string Field, string Detail)
{
    /// <summary>For <see cref="IngestProblemKind.DailyLimit"/>: when the quota opens again; for <see cref="IngestProblemKind.Unavailable"/>: when to resend.</summary>
    public TimeSpan? RetryAfter { get; init; }
}

public enum IngestProblemKind
{
    MalformedBody,
    TooLarge,

    /// <summary>The workspace's events-per-day quota would be exceeded: 429.</summary>
    DailyLimit,

    /// <summary>Not every message of the batch could be queued: 503 with Retry-After; the whole request is to be sent again.</summary>
    Unavailable,
}

/// <summary>
/// Validates the native batch format, <c>{"events":[...]}</c>. Each event stands or falls on its own;
/// unknown fields are ignored so that newer SDKs keep working.
/// </summary>
public sealed partial class IngestRequestParser(TimeProvider clock, PriceCatalog? catalog = null)
{
    public const int MaxEvents = 1_000;
    public const int MaxBodyBytes = 1024 * 1024;
    public const int MaxNameLength = 256;
    public const int MaxTags = 32;
    public const int MaxTagKeyLength = 64;
    public const long MaxTokens = 1_000_000_000_000;
    public const long MaxDurationMs = 7L * 24 * 60 * 60 * 1000;

    private static readonly DateTimeOffset Earliest = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan FutureTolerance = TimeSpan.FromHours(24);

    private static readonly string[] TokenFields = ["input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens"];
    private const string CacheWrite1hField = "cache_write_1h_tokens";
    private static readonly string[] OptionalNames = ["run_id", "session_id", "user_id", "team", "framework", "task_type", "idempotency_key"];

    /// <param name="keyId">The API key the batch came with, recorded on every event (key budgets and the <c>key</c> dimension).</param>
    public IngestParseResult Parse(ReadOnlyMemory<byte> body, Workspace workspace, IngestChannel channel = IngestChannel.Api, string? keyId = null)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException ex)
        {
            return IngestParseResult.Failed(new IngestProblem(IngestProblemKind.MalformedBody, "body", $"The body is not valid JSON: {ex.Message}"));
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return IngestParseResult.Failed(new IngestProblem(IngestProblemKind.MalformedBody, "body", "The body must be a JSON object with an 'events' array."));
            }

            JsonElement events;
            try
            {
                root.TryGetProperty("events", out events);
            }
            catch (InvalidOperationException)
            {
                // Looking a name up unescapes the others, which throws when one holds an unpaired surrogate escape.
                return IngestParseResult.Failed(new IngestProblem(IngestProblemKind.MalformedBody, "body", $"The body contains {InvalidText}"));
            }

            if (events.ValueKind != JsonValueKind.Array)
            {
                return IngestParseResult.Failed(new IngestProblem(IngestProblemKind.MalformedBody, "events", "'events' must be an array of events."));
            }

            var count = events.GetArrayLength();
            if (count > MaxEvents)
            {
                return IngestParseResult.Failed(new IngestProblem(IngestProblemKind.TooLarge, "events", $"A batch holds at most {MaxEvents} events; this one has {count}."));
            }

            var accepted = new List<UsageEvent>(count);
            var errors = new List<IngestError>();
            var rejected = 0;
            var now = clock.GetUtcNow();
            var ids = new ServerIds(body, keyId);
            using var sizes = new StoredSize();
            var index = 0;
            foreach (var element in events.EnumerateArray())
            {
                var before = errors.Count;
                UsageEvent? parsed;
                try
                {
                    parsed = ParseEvent(element, index, workspace, keyId, ids, now, errors, catalog ?? PriceCatalog.Shipped);
                    if (parsed is not null && errors.Count == before)
                    {
                        parsed = channel.Mark(parsed);
                        if (sizes.Of(parsed) is var size and > UsageEvent.MaxSerializedBytes)
                        {
                            errors.Add(new IngestError(index, StoredSize.LargestField(parsed),
                                $"too_large: the event takes {size} bytes stored and at most {UsageEvent.MaxSerializedBytes} fit; stored as JSON, quotes, <, >, &, ' and non-ASCII characters take 6 bytes each."));
                        }
                    }
                }
                catch (InvalidOperationException)
                {
                    // JsonDocument accepts invalid UTF-8 and unpaired \uD800-style escapes in strings, then throws reading them.
                    errors.Add(new IngestError(index, "", $"An event must not contain {InvalidText}"));
                    parsed = null;
                }

                if (parsed is not null && errors.Count == before)
                {
                    accepted.Add(parsed);
                }
                else
                {
                    rejected++;
                }

                index++;
            }

            return new IngestParseResult(accepted, rejected, errors, null);
        }
    }

    private const string InvalidText = "invalid UTF-8 or unpaired surrogate escapes such as \\uD800.";

    private static UsageEvent? ParseEvent(JsonElement e, int index, Workspace workspace, string? keyId, ServerIds ids, DateTimeOffset now, List<IngestError> errors, PriceCatalog catalog)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new IngestError(index, "", "An event must be a JSON object."));
            return null;
        }

        void Fail(string field, string reason) => errors.Add(new IngestError(index, field, reason));

        // Optimisation SDKs send run events: model_name, framework, tokens_after (all the run used,
        // not split by kind) and tokens_before (the baseline). They map onto the native fields.
        var runShaped = TryGetPresent(e, "tokens_after", out _) || (TryGetPresent(e, "model_name", out _) && !TryGetPresent(e, "model", out _));
        var model = ReadString(e, TryGetPresent(e, "model", out _) || !runShaped ? "model" : "model_name", Fail, required: true);
        var agent = ReadString(e, TryGetPresent(e, "agent_name", out _) || !runShaped ? "agent_name" : "framework", Fail, required: true);
        var provider = TryGetPresent(e, "provider", out _) || !runShaped
            ? ReadString(e, "provider", Fail, required: true)
            : model is null ? null : catalog.Find(model)?.Provider ?? "unknown";
        var required = new[] { agent, provider, model };

        var timestamp = ReadTimestamp(e, now, workspace.RetentionDays, Fail);
        var tokens = new long[TokenFields.Length];
        for (var i = 0; i < TokenFields.Length; i++)
        {
            tokens[i] = ReadInteger(e, TokenFields[i], MaxTokens, Fail) ?? 0;
        }

        var cacheWrite1h = ReadInteger(e, CacheWrite1hField, MaxTokens, Fail);
        if (cacheWrite1h > tokens[3] && !errors.Exists(x => x.Index == index && x.Field == TokenFields[3]))
        {
            Fail(CacheWrite1hField, $"must not exceed cache_write_tokens ({tokens[3]}): it is the share of them that were 1-hour cache writes.");
        }

        var tokensAfter = runShaped ? ReadInteger(e, "tokens_after", MaxTokens, Fail) : null;
        var baseline = ReadInteger(e, "tokens_before", MaxTokens, Fail);
        if (tokensAfter is { } used)
        {
            tokens[0] += used;
        }

        var costNanos = ReadCost(e, Fail);
        var durationMs = ReadInteger(e, "duration_ms", MaxDurationMs, Fail);
        var optional = new string?[OptionalNames.Length];
        for (var i = 0; i < OptionalNames.Length; i++)
        {
            optional[i] = ReadString(e, OptionalNames[i], Fail, required: false);
        }

        var success = ReadBool(e, "task_success", Fail);
        var tags = ReadTags(e, Fail);

        if (timestamp is null || required.Any(r => r is null))
        {
            return null;
        }

        var idempotencyKey = optional[6];
        return new UsageEvent
        {
            Id = idempotencyKey is null ? ids.For(index) : "k:" + idempotencyKey,
            SourceIndex = index,
            WorkspaceId = workspace.Id,
            KeyId = keyId,
            Day = Workspace.FormatDay(workspace.LocalDayOf(timestamp.Value)),
            Timestamp = timestamp.Value,
            Agent = required[0]!,
            Provider = required[1]!,
            Model = required[2]!,
            InputTokens = tokens[0],
            OutputTokens = tokens[1],
            CacheReadTokens = tokens[2],
            CacheWriteTokens = tokens[3],
            CacheWrite1hTokens = cacheWrite1h,
            ReasoningTokens = tokens[4],
            CostNanos = costNanos,
            DurationMs = durationMs,
            RunId = optional[0],
            SessionId = optional[1],
            UserId = optional[2],
            Team = optional[3],
            Framework = optional[4],
            TaskType = optional[5],
            TaskSuccess = success,
            IdempotencyKey = idempotencyKey,
            Tags = tags,
            BaselineTokens = baseline,
            UnsplitTokens = tokensAfter is not null,
        };
    }

    private static bool TryGetPresent(JsonElement e, string name, out JsonElement value) =>
        e.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;

    private static string? ReadString(JsonElement e, string name, Action<string, string> fail, bool required)
    {
        if (!TryGetPresent(e, name, out var value))
        {
            if (required)
            {
                fail(name, "is required.");
            }

            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            fail(name, "must be a string.");
            return null;
        }

        var text = value.GetString()!;
        var problem = CheckName(text, MaxNameLength);
        if (problem is not null)
        {
            fail(name, problem);
            return null;
        }

        return text;
    }

    private static string? CheckName(string text, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return "must not be empty.";
        }

        if (text.Length > maxLength)
        {
            return $"must be at most {maxLength} characters.";
        }

        return text.Any(char.IsControl) ? "must not contain control characters." : null;
    }

    private static DateTimeOffset? ReadTimestamp(JsonElement e, DateTimeOffset now, int retentionDays, Action<string, string> fail)
    {
        const string field = "timestamp";
        if (!TryGetPresent(e, field, out var value))
        {
            fail(field, "is required.");
            return null;
        }

        if (value.ValueKind != JsonValueKind.String || !TryParseTimestamp(value.GetString()!, out var timestamp))
        {
            fail(field, "must be an ISO 8601 date-time with a UTC offset, e.g. 2026-11-22T14:05:00Z or 2026-11-22T15:05:00+01:00.");
            return null;
        }

        if (timestamp < Earliest)
        {
            fail(field, "must not be before 2000-01-01.");
            return null;
        }

        // Older than the raw events are kept, it would be deleted as it is stored; and it would stretch a run's span,
        // and every read of the run, across years.
        if (timestamp < now.AddDays(-retentionDays))
        {
            fail(field, $"too_old: the workspace keeps raw events {retentionDays} days, so none from before {now.AddDays(-retentionDays):yyyy-MM-ddTHH:mm:ssZ} is accepted.");
            return null;
        }

        if (timestamp > now + FutureTolerance)
        {
            fail(field, "must not be more than 24 hours in the future.");
            return null;
        }

        return timestamp;
    }

    internal static bool TryParseTimestamp(string text, out DateTimeOffset timestamp)
    {
        timestamp = default;
        var match = TimestampPattern().Match(text);
        if (!match.Success)
        {
            return false;
        }

        // .NET reads at most 7 fractional digits; clients send up to 9 (nanoseconds).
        var fraction = match.Groups["fraction"].Value;
        var normalised = fraction.Length > 8 ? text.Replace(fraction, fraction[..8], StringComparison.Ordinal) : text;
        return DateTimeOffset.TryParse(normalised, CultureInfo.InvariantCulture, DateTimeStyles.None, out timestamp);
    }

    private static long? ReadInteger(JsonElement e, string name, long max, Action<string, string> fail)
    {
        if (!TryGetPresent(e, name, out var value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var number))
        {
            fail(name, "must be a whole number.");
            return null;
        }

        if (number < 0)
        {
            fail(name, "must not be negative.");
            return null;
        }

        if (number > max)
        {
            fail(name, $"must be at most {max}.");
            return null;
        }

        return number;
    }

    private static long? ReadCost(JsonElement e, Action<string, string> fail)
    {
        // "cost" is what older SDKs send; "cost_usd" wins when both are there.
        var field = TryGetPresent(e, "cost_usd", out _) ? "cost_usd" : "cost";
        if (!TryGetPresent(e, field, out var value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDecimal(out var usd))
        {
            fail(field, "must be a number.");
            return null;
        }

        if (usd < 0)
        {
            fail(field, "must not be negative.");
            return null;
        }

        if (usd > Money.MaxEventCostUsd)
        {
            fail(field, $"must be at most {Money.MaxEventCostUsd} for one event.");
            return null;
        }

        return Money.ToNanos(usd);
    }

    private static bool? ReadBool(JsonElement e, string name, Action<string, string> fail)
    {
        if (!TryGetPresent(e, name, out var value))
        {
            return null;
        }

        if (value.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return value.GetBoolean();
        }

        fail(name, "must be true or false.");
        return null;
    }

    private static Dictionary<string, string>? ReadTags(JsonElement e, Action<string, string> fail)
    {
        if (!TryGetPresent(e, "tags", out var value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            fail("tags", "must be an object of string values.");
            return null;
        }

        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in value.EnumerateObject())
        {
            var field = "tags." + property.Name;
            if (tags.Count == MaxTags)
            {
                fail("tags", $"must hold at most {MaxTags} tags.");
                return null;
            }

            if (CheckName(property.Name, MaxTagKeyLength) is { } keyProblem)
            {
                fail(field, "key " + keyProblem);
                return null;
            }

            if (property.Value.ValueKind != JsonValueKind.String)
            {
                fail(field, "must be a string.");
                return null;
            }

            if (CheckName(property.Value.GetString()!, MaxNameLength) is { } valueProblem)
            {
                fail(field, valueProblem);
                return null;
            }

            tags[property.Name] = property.Value.GetString()!;
        }

        return tags.Count == 0 ? null : tags;
    }

    /// <summary>
    /// Ids of events sent without an idempotency key: <c>s:</c> and a hash of the API key's id, the SHA-256 of the
    /// request body and the event's index in the batch. A client that resends the same body with the same key (after
    /// a timeout, a 503, a lost answer) sends the same events again, and the aggregator drops the ones it has counted;
    /// any other body or key gives other ids. The body is hashed only when some event needs it.
    /// </summary>
    internal sealed class ServerIds(ReadOnlyMemory<byte> body, string? keyId)
    {
        private byte[]? _prefix;

        public string For(int index)
        {
            _prefix ??= Prefix(body.Span, keyId);
            Span<byte> input = stackalloc byte[_prefix.Length + sizeof(int)];
            _prefix.CopyTo(input);
            BinaryPrimitives.WriteInt32BigEndian(input[_prefix.Length..], index);
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(input, hash);
            return "s:" + Convert.ToHexStringLower(hash[..16]);
        }

        private static byte[] Prefix(ReadOnlySpan<byte> body, string? keyId)
        {
            // Key id, a separator no key id holds, then the body's hash: no two (key, body) pairs share a prefix.
            var key = Encoding.UTF8.GetBytes(keyId ?? "");
            var prefix = new byte[key.Length + 1 + SHA256.HashSizeInBytes];
            key.CopyTo(prefix, 0);
            prefix[key.Length] = (byte)'\n';
            SHA256.HashData(body, prefix.AsSpan(key.Length + 1));
            return prefix;
        }
    }

    /// <summary>Measures events as the aggregator stores them: UTF-8 JSON of <see cref="CoreJsonContext"/>, one buffer reused per batch.</summary>
    internal sealed class StoredSize : IDisposable
    {
        private readonly ArrayBufferWriter<byte> _buffer = new(4096);
        private Utf8JsonWriter? _writer;

        public int Of(UsageEvent e)
        {
            _buffer.ResetWrittenCount();
            if (_writer is null)
            {
                _writer = new Utf8JsonWriter(_buffer);
            }
            else
            {
                _writer.Reset(_buffer);
            }

            JsonSerializer.Serialize(_writer, e, CoreJsonContext.Default.UsageEvent);
            _writer.Flush();
            return _buffer.WrittenCount;
        }

        /// <summary>The field (as the client names it) that takes the most room once stored: what to cut.</summary>
        public static string LargestField(UsageEvent e)
        {
            var fields = new (string Name, string? Value)[]
            {
                ("agent_name", e.Agent), ("provider", e.Provider), ("model", e.Model), ("run_id", e.RunId), ("session_id", e.SessionId),
                ("user_id", e.UserId), ("team", e.Team), ("framework", e.Framework), ("task_type", e.TaskType), ("idempotency_key", e.IdempotencyKey),
            };
            var largest = fields.MaxBy(f => Encoded(f.Value));
            var tags = e.Tags?.Sum(t => Encoded(t.Key) + Encoded(t.Value)) ?? 0;
            return tags >= Encoded(largest.Value) ? "tags" : largest.Name;
        }

        public void Dispose() => _writer?.Dispose();

        private static int Encoded(string? value) => value is null ? 0 : JsonEncodedText.Encode(value).EncodedUtf8Bytes.Length;
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(?<fraction>\.\d{1,9})?)?(Z|z|[+-]\d{2}:\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex TimestampPattern();
}
