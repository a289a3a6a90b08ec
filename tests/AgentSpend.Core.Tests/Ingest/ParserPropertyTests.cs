using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using AgentSpend.Core.Domain;
using AgentSpend.Core.Ingest;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Workspaces;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AgentSpend.Core.Tests.Ingest;

/// <summary>
/// Property-based tests of the two places where untrusted bytes enter the system: the HTTP batch
/// parser and the queue-message codec. Each property runs <see cref="Cases"/> generated inputs.
/// </summary>
public class ParserPropertyTests
{
    private const int Cases = 500;

    private static readonly DateTimeOffset Now = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Earliest = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly IngestRequestParser Parser = new(new TestClock(Now));

    private static readonly Workspace[] Workspaces =
    [
        new(Workspace.DefaultId, TimeZoneInfo.Utc),
        new("kathmandu", TimeZoneInfo.FindSystemTimeZoneById("Asia/Kathmandu")),
        new("kiritimati", TimeZoneInfo.FindSystemTimeZoneById("Pacific/Kiritimati")),
        new("pago-pago", TimeZoneInfo.FindSystemTimeZoneById("Pacific/Pago_Pago")),
        new("los-angeles", TimeZoneInfo.FindSystemTimeZoneById("America/Los_Angeles")),
    ];

    private static readonly string[] EventFields =
    [
        "agent_name", "provider", "model", "timestamp", "input_tokens", "output_tokens", "cache_read_tokens",
        "cache_write_tokens", "reasoning_tokens", "cost_usd", "duration_ms", "run_id", "session_id", "user_id",
        "team", "framework", "task_type", "task_success", "idempotency_key", "tags",
    ];

    // ---------------------------------------------------------------- properties

    [Property(MaxTest = Cases)]
    public Property Parse_never_throws_on_arbitrary_bytes_and_its_counts_add_up() =>
        Prop.ForAll(Arb.From(Bodies), AnyWorkspace, (body, workspace) =>
        {
            var result = Parser.Parse(body.Bytes, workspace);
            AssertConsistent(result, body.Bytes, workspace);
        });

    [Property(MaxTest = Cases)]
    public Property Parse_never_throws_on_arbitrary_json_and_accepted_events_are_valid() =>
        Prop.ForAll(Arb.From(JsonBodies), AnyWorkspace, (body, workspace) =>
        {
            var result = Parser.Parse(body.Bytes, workspace);
            AssertConsistent(result, body.Bytes, workspace);

            // Whatever the parser accepts must also survive the queue.
            var unpacked = IngestMessageCodec.Pack(result.Accepted).SelectMany(m => IngestMessageCodec.Unpack(m).Events).ToArray();
            AssertSameEvents(result.Accepted, unpacked);
        });

    [Property(MaxTest = Cases)]
    public Property Unpack_returns_a_well_formed_message_or_throws_only_InvalidDataException() =>
        Prop.ForAll(Arb.From(QueueTexts), text =>
        {
            IngestMessage message;
            try
            {
                message = IngestMessageCodec.Unpack(text.Value);
            }
            catch (InvalidDataException ex)
            {
                Assert.False(string.IsNullOrWhiteSpace(ex.Message));
                return;
            }
            catch (Exception ex)
            {
                Assert.Fail($"Unpack leaked {ex.GetType().FullName}: {ex.Message}");
                return;
            }

            Assert.Equal(IngestMessage.CurrentVersion, message.Version);
            Assert.NotNull(message.Events);
            Assert.All(message.Events, e =>
            {
                Assert.NotNull(e);
                Assert.NotNull(e.Id);
                Assert.NotNull(e.WorkspaceId);
                Assert.NotNull(e.Day);
                Assert.NotNull(e.Agent);
                Assert.NotNull(e.Provider);
                Assert.NotNull(e.Model);
            });
        });

    [Property(MaxTest = Cases)]
    public Property Pack_then_Unpack_gives_back_the_same_events() =>
        Prop.ForAll(Arb.From(EventLists), events =>
        {
            var messages = IngestMessageCodec.Pack(events);

            Assert.Equal(events.Length == 0, messages.Count == 0);
            Assert.All(messages, m => Assert.True(m.Length <= IQueueStore.MaxMessageBytes, $"{m.Length} chars"));
            AssertSameEvents(events, messages.SelectMany(m => IngestMessageCodec.Unpack(m).Events).ToArray());
        });

    // ---------------------------------------------------------------- inputs the properties found

    [Theory]
    [InlineData("{\"events\":[{\"agent_name\":\"\\ud800\",\"provider\":\"p\",\"model\":\"m\",\"timestamp\":\"2026-11-22T10:00:00Z\"}]}")]
    [InlineData("{\"events\":[{\"agent_name\":\"a\",\"provider\":\"p\",\"model\":\"m\",\"timestamp\":\"2026-11-22T10:00:00Z\",\"tags\":{\"\\udc00\":\"x\"}}]}")]
    [InlineData("{\"events\":[{\"agent_name\":\"a\",\"provider\":\"p\",\"model\":\"m\",\"timestamp\":\"\u0001\"}]}", 0xFE)]
    [InlineData("{\"events\":[{\"agent_name\":\"a\",\"provider\":\"p\",\"model\":\"m\",\"timestamp\":\"2026-11-22T10:00:00Z\",\"tags\":{\"\u0001\":\"x\"}}]}", 0xC0)]
    public void An_event_with_invalid_unicode_text_is_rejected_alone(string json, int rawByte = -1)
    {
        // \u0001 stands for one raw byte that is not UTF-8 on its own.
        var body = Encoding.UTF8.GetBytes(json);
        if (rawByte >= 0)
        {
            body[Array.IndexOf(body, (byte)1)] = (byte)rawByte;
        }

        var result = Parser.Parse(body, Workspaces[0]);

        Assert.Null(result.Problem);
        Assert.Empty(result.Accepted);
        Assert.Equal(1, result.Rejected);
        Assert.Contains(result.Errors, e => e.Reason.Contains("unpaired surrogate", StringComparison.Ordinal));
    }

    [Fact]
    public void A_body_with_an_unpaired_surrogate_escape_in_a_top_level_name_is_malformed()
    {
        var result = Parser.Parse(Encoding.UTF8.GetBytes("{\"\\ud800events\":[]}"), Workspaces[0]);

        Assert.Equal(IngestProblemKind.MalformedBody, result.Problem?.Kind);
    }

    [Theory]
    [InlineData("{\"v\":1,\"events\":[{", typeof(JsonException))]
    [InlineData("{\"v\":1,\"events\":[{\"id\":\"k:1\"}]}", typeof(JsonException))]
    [InlineData("{\"v\":1,\"events\":null}", null)]
    [InlineData("{\"v\":1,\"events\":[null]}", null)]
    [InlineData("{\"v\":1,\"events\":[{\"id\":null,\"ws\":\"w\",\"day\":\"d\",\"ts\":\"2026-11-22T10:00:00Z\",\"ag\":\"a\",\"pv\":\"p\",\"md\":\"m\"}]}", null)]
    public void A_message_that_is_not_an_ingest_batch_is_invalid_data(string json, Type? inner)
    {
        var text = "b1:" + Convert.ToBase64String(Brotli(Encoding.UTF8.GetBytes(json)));

        var ex = Assert.Throws<InvalidDataException>(() => IngestMessageCodec.Unpack(text));

        Assert.Equal(inner, ex.InnerException?.GetType());
    }

    [Fact]
    public void A_message_that_is_not_brotli_is_invalid_data()
    {
        var ex = Assert.Throws<InvalidDataException>(() => IngestMessageCodec.Unpack("b1:aGVsbG8gd29ybGQ="));

        Assert.IsType<InvalidOperationException>(ex.InnerException);
    }

    // ---------------------------------------------------------------- checks

    private static void AssertConsistent(IngestParseResult result, byte[] body, Workspace workspace)
    {
        Assert.NotNull(result);
        if (result.Problem is not null)
        {
            Assert.Empty(result.Accepted);
            Assert.Equal(0, result.Rejected);
            Assert.Empty(result.Errors);
            Assert.False(string.IsNullOrWhiteSpace(result.Problem.Detail));
            return;
        }

        // No problem: the body was a JSON object with an events array of at most MaxEvents.
        using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
        var count = document.RootElement.GetProperty("events"u8).GetArrayLength();
        Assert.InRange(count, 0, IngestRequestParser.MaxEvents);
        Assert.Equal(count, result.Accepted.Count + result.Rejected);

        // Every rejected event has at least one error, and no error points outside the batch.
        Assert.All(result.Errors, e => Assert.InRange(e.Index, 0, count - 1));
        Assert.Equal(result.Rejected, result.Errors.Select(e => e.Index).Distinct().Count());
        Assert.All(result.Errors, e => Assert.False(string.IsNullOrWhiteSpace(e.Reason)));

        var nowPlusTolerance = Now.AddHours(24);
        foreach (var e in result.Accepted)
        {
            AssertName(e.Agent, IngestRequestParser.MaxNameLength);
            AssertName(e.Provider, IngestRequestParser.MaxNameLength);
            AssertName(e.Model, IngestRequestParser.MaxNameLength);
            foreach (var optional in new[] { e.RunId, e.SessionId, e.UserId, e.Team, e.Framework, e.TaskType, e.IdempotencyKey })
            {
                if (optional is not null)
                {
                    AssertName(optional, IngestRequestParser.MaxNameLength);
                }
            }

            foreach (var tokens in new[] { e.InputTokens, e.OutputTokens, e.CacheReadTokens, e.CacheWriteTokens, e.ReasoningTokens })
            {
                Assert.InRange(tokens, 0, IngestRequestParser.MaxTokens);
            }

            Assert.True(e.CostNanos is null or >= 0, $"CostNanos {e.CostNanos}");
            Assert.True(e.CostNanos is null || e.CostNanos <= Money.ToNanos(Money.MaxEventCostUsd), $"CostNanos {e.CostNanos}");
            Assert.True(e.DurationMs is null or >= 0 and <= IngestRequestParser.MaxDurationMs, $"DurationMs {e.DurationMs}");
            Assert.InRange(e.Timestamp, Earliest, nowPlusTolerance);
            Assert.Equal(workspace.Id, e.WorkspaceId);
            Assert.Equal(Workspace.FormatDay(workspace.LocalDayOf(e.Timestamp)), e.Day);
            if (e.IdempotencyKey is null)
            {
                Assert.StartsWith("s:", e.Id, StringComparison.Ordinal);
            }
            else
            {
                Assert.Equal("k:" + e.IdempotencyKey, e.Id);
            }

            if (e.Tags is not null)
            {
                Assert.InRange(e.Tags.Count, 1, IngestRequestParser.MaxTags);
                foreach (var (key, value) in e.Tags)
                {
                    AssertName(key, IngestRequestParser.MaxTagKeyLength);
                    AssertName(value, IngestRequestParser.MaxNameLength);
                }
            }
        }
    }

    private static void AssertName(string text, int maxLength)
    {
        Assert.False(string.IsNullOrWhiteSpace(text), "empty name");
        Assert.True(text.Length <= maxLength, $"name of {text.Length} characters");
        Assert.False(text.Any(char.IsControl), $"control character in {Show(text)}");
        Assert.True(IsWellFormedUtf16(text), $"unpaired surrogate in {Show(text)}");
    }

    private static bool IsWellFormedUtf16(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static void AssertSameEvents(IReadOnlyList<UsageEvent> expected, UsageEvent[] actual)
    {
        Assert.Equal(expected.Count, actual.Length);
        for (var i = 0; i < expected.Count; i++)
        {
            var (x, y) = (expected[i], actual[i]);
            Assert.Equal(x.Id, y.Id);
            Assert.Equal(x.WorkspaceId, y.WorkspaceId);
            Assert.Equal(x.Day, y.Day);
            Assert.Equal(x.Timestamp, y.Timestamp);
            Assert.Equal(x.Timestamp.Offset, y.Timestamp.Offset);
            Assert.Equal(x.Agent, y.Agent);
            Assert.Equal(x.Provider, y.Provider);
            Assert.Equal(x.Model, y.Model);
            Assert.Equal(
                (x.InputTokens, x.OutputTokens, x.CacheReadTokens, x.CacheWriteTokens, x.ReasoningTokens),
                (y.InputTokens, y.OutputTokens, y.CacheReadTokens, y.CacheWriteTokens, y.ReasoningTokens));
            Assert.Equal(x.CostNanos, y.CostNanos);
            Assert.Equal(x.DurationMs, y.DurationMs);
            Assert.Equal(
                (x.RunId, x.SessionId, x.UserId, x.Team, x.Framework, x.TaskType, x.TaskSuccess, x.IdempotencyKey),
                (y.RunId, y.SessionId, y.UserId, y.Team, y.Framework, y.TaskType, y.TaskSuccess, y.IdempotencyKey));
            Assert.Equal(
                (x.Tags ?? new Dictionary<string, string>()).OrderBy(t => t.Key, StringComparer.Ordinal),
                (y.Tags ?? new Dictionary<string, string>()).OrderBy(t => t.Key, StringComparer.Ordinal));
        }
    }

    // ---------------------------------------------------------------- inputs

    /// <summary>A request body; printed readably when a property fails.</summary>
    public sealed record Body(byte[] Bytes)
    {
        public override string ToString()
        {
            // Valid UTF-8 as text, any other byte as \xNN.
            var text = new StringBuilder();
            var rest = Bytes.AsSpan();
            while (!rest.IsEmpty && text.Length < 2000)
            {
                if (Rune.DecodeFromUtf8(rest, out var rune, out var consumed) == System.Buffers.OperationStatus.Done)
                {
                    text.Append(rune.ToString());
                }
                else
                {
                    text.Append("\\x").Append(rest[..consumed].ToArray().Select(b => b.ToString("x2", CultureInfo.InvariantCulture)).Aggregate((a, b) => a + "\\x" + b));
                }

                rest = rest[consumed..];
            }

            return $"{Bytes.Length} bytes: {Show(text.ToString())}";
        }
    }

    /// <summary>A queue message text; printed readably when a property fails.</summary>
    public sealed record QueueText(string Value)
    {
        public override string ToString() => Show(Value);
    }

    private static string Show(string text)
    {
        var shown = new StringBuilder();
        foreach (var c in text.Length > 600 ? text[..600] : text)
        {
            shown.Append(c is >= ' ' and < '\u007f' ? c.ToString() : $"\\u{(int)c:x4}");
        }

        return text.Length > 600 ? $"{shown}... ({text.Length} chars)" : shown.ToString();
    }

    private static Arbitrary<Workspace> AnyWorkspace => Arb.From(Gen.Elements(Workspaces));

    // ---------------------------------------------------------------- generators: bytes

    private static Gen<byte> AnyByte => Gen.Choose(0, 255).Select(b => (byte)b);

    private static readonly byte[][] InvalidUtf8 =
    [
        [0xFF], [0xFE], [0xC0, 0x80], [0xC3], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF],
        [0xF4, 0x90, 0x80, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0x80], [0xEF, 0xBB, 0xBF],
    ];

    private static readonly string[] Tokens =
    [
        "{", "}", "[", "]", ":", ",", "\"", "\\", "\"events\"", "\"agent_name\"", "\"timestamp\"", "\"tags\"", "null",
        "true", "1", "-0", "1e400", "\"\\ud800\"", "\"\\u0000\"", " ", "\n", "\"2026-11-22T10:00:00Z\"", "\"x\"",
    ];

    private static Gen<Body> Bodies => Gen.Frequency(
        (1, Gen.Constant(new Body([]))),
        (4, AnyByte.ArrayOf().Select(b => new Body(b))),
        (3, Gen.Elements(Tokens).Select(t => Encoding.UTF8.GetBytes(t)).Or(Gen.Elements(InvalidUtf8)).ListOf()
            .Select(parts => new Body(parts.SelectMany(p => p).ToArray()))),
        (2, NestedBrackets),
        (4, JsonBodies.SelectMany(body => Gen.Choose(0, body.Bytes.Length).SelectMany(at => Gen.Elements(InvalidUtf8).Select(bad =>
            new Body([.. body.Bytes.Take(at), .. bad, .. body.Bytes.Skip(at)]))))),
        (2, JsonBodies.SelectMany(body => Gen.Choose(0, body.Bytes.Length).Select(cut => new Body(body.Bytes[..cut])))),
        (2, JsonBodies.SelectMany(body => QuoteInside(body.Bytes))),
        (2, JsonBodies.SelectMany(body => Gen.Choose(0, Math.Max(0, body.Bytes.Length - 1)).SelectMany(at => AnyByte.Select(b =>
            new Body(body.Bytes.Length == 0 ? [b] : [.. body.Bytes[..at], b, .. body.Bytes[(at + 1)..]]))))));

    /// <summary>Invalid UTF-8 right after a random quote, which is inside a string about half the time.</summary>
    private static Gen<Body> QuoteInside(byte[] json)
    {
        var quotes = Enumerable.Range(0, json.Length).Where(i => json[i] == (byte)'"').ToArray();
        return quotes.Length == 0
            ? Gen.Constant(new Body(json))
            : Gen.Elements(quotes).SelectMany(q => Gen.Elements(InvalidUtf8).Select(bad =>
                new Body([.. json[..(q + 1)], .. bad, .. json[(q + 1)..]])));
    }

    private static Gen<Body> NestedBrackets =>
        from depth in Gen.Frequency((3, Gen.Choose(1, 40)), (1, Gen.Choose(1, 200_000)))
        from open in Gen.Elements("[", "{\"a\":", "[{\"events\":", "{\"events\":[")
        from prefix in Gen.Elements("", "{\"events\":", "{\"events\":[")
        from closed in Gen.Elements(true, false)
        let opened = prefix + string.Concat(Enumerable.Repeat(open, depth))
        select new Body(Encoding.UTF8.GetBytes(opened + "1" + (closed ? Closing(opened) : "")));

    /// <summary>The brackets that close everything <paramref name="opened"/> opened (it has none inside strings).</summary>
    private static string Closing(string opened) =>
        new(opened.Reverse().Where(c => c is '[' or '{').Select(c => c == '[' ? ']' : '}').ToArray());

    // ---------------------------------------------------------------- generators: JSON

    private static Gen<Body> JsonBodies => Gen.Frequency(
        (1, Gen.Sized(size => JsonValue(Math.Min(20, 1 + size / 5)))),
        (1, DeepChain),
        (6, Batch)).Select(text => new Body(Encoding.UTF8.GetBytes(text)));

    /// <summary>Defers building a recursive generator until a value is drawn.</summary>
    private static Gen<T> Defer<T>(Func<Gen<T>> make) => Gen.Constant(0).SelectMany(_ => make());

    private static Gen<string> JsonValue(int depth) => depth <= 0
        ? Scalar
        : Gen.Frequency(
            (4, Scalar),
            (1, Defer(() => JsonArray(JsonValue(depth - 1)))),
            (1, Defer(() => JsonObject(AnyKey, JsonValue(depth - 1)))));

    private static Gen<string> JsonArray(Gen<string> item) =>
        Gen.Choose(0, 4).SelectMany(n => item.ArrayOf(n)).Select(items => "[" + string.Join(",", items) + "]");

    private static Gen<string> JsonObject(Gen<string> key, Gen<string> value) =>
        Gen.Choose(0, 4).SelectMany(n => key.Zip(value).ArrayOf(n))
            .Select(members => "{" + string.Join(",", members.Select(m => m.Item1 + ":" + m.Item2)) + "}");

    /// <summary>One value wrapped in 0 to 22 arrays or objects, either side of the parser's depth limit.</summary>
    private static Gen<string> DeepChain =>
        from depth in Gen.Choose(0, 22)
        from kinds in Gen.Elements(true, false).ArrayOf(depth)
        from inner in Scalar
        from inBatch in Gen.Elements(true, false)
        let nested = kinds.Aggregate(inner, (acc, isArray) => isArray ? "[" + acc + "]" : "{\"k\":" + acc + "}")
        select inBatch ? "{\"events\":[" + nested + "]}" : nested;

    private static Gen<string> Scalar => Gen.Frequency(
        (3, AnyString),
        (3, AnyNumber),
        (1, Gen.Elements("true", "false", "null")));

    private static Gen<string> AnyKey => Gen.Frequency(
        (3, Gen.Elements(EventFields).Select(f => Quote(f, escapeAll: false))),
        (1, Gen.Elements(EventFields).Select(f => Quote(f, escapeAll: true))),
        (1, Gen.Elements("\"events\"", "\"\\u0065vents\"", "\"v\"", "\"id\"", "\"\"")),
        (2, AnyString));

    private static readonly string[] SpecialNumbers =
    [
        "0", "-0", "0.0", "-0.0", "1", "-1", "0.5", "1.0", "1E3", "1e2", "1e-400", "1e400", "-1e400", "1E+308", "1e309",
        "18446744073709551616", "-18446744073709551616", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
        "-9223372036854775809", "1000000000000", "1000000000001", "604800000", "604800001", "1000000", "1000000.0000000001",
        "1000000.000000000499", "0.0000000005", "0.0000000015", "79228162514264337593543950335", "79228162514264337593543950336",
        "0.12345678901234567890123456789012345678901234567890", "123456789012345678901234567890.5",
        "1" + new string('0', 400), "0." + new string('0', 400) + "1",
    ];

    /// <summary>Not JSON: a body holding one must be refused as malformed.</summary>
    private static readonly string[] BrokenNumbers = ["01", "1.", ".5", "+1", "NaN", "Infinity", "-", "0x10", "1e", "1e+"];

    private static Gen<string> AnyNumber => Gen.Frequency(
        (30, Gen.Elements(SpecialNumbers)),
        (1, Gen.Elements(BrokenNumbers)),
        (20, Gen.Choose(-1000, 1_000_000).Select(i => i.ToString(CultureInfo.InvariantCulture))),
        (10, Gen.Choose(0, int.MaxValue).Zip(Gen.Choose(0, int.MaxValue))
            .Select(p => ((long)p.Item1 * p.Item2).ToString(CultureInfo.InvariantCulture))),
        (10, Gen.Choose(0, 99_999_999).Zip(Gen.Choose(-12, 12))
            .Select(p => (p.Item1 * (decimal)Math.Pow(10, p.Item2)).ToString(CultureInfo.InvariantCulture))));

    private static readonly string[] OddPieces =
    [
        "\u0000", "\t", "\n", "\r", "\u001f", "\u007f", "\u0085", "\u009f", "\u00a0", "\u2028", "\u2029", "\u200b", "\ufeff",
        "\ufffd", "\uffff", "é", "ß", "中文", "\u0660\u0661", "😀", "\ud83d\ude00\ud83d", "\ud800", "\udfff", "\"", "\\", "/",
        "</script>", " ", "\u3000",
    ];

    private static Gen<string> Piece => Gen.Frequency(
        (10, Gen.Choose(0x20, 0x7e).Select(i => ((char)i).ToString())),
        (3, Gen.Elements(OddPieces)),
        (1, Gen.Choose(0x80, 0xffff).Select(i => ((char)i).ToString())),
        (1, Gen.Choose(0x10000, 0x10ffff).Select(char.ConvertFromUtf32)));

    /// <summary>Arbitrary text, including control characters, unpaired surrogates and lengths around the limits.</summary>
    private static Gen<string> AnyText => Gen.Frequency(
        (6, Piece.ListOf().Select(string.Concat)),
        (2, Gen.Elements("reviewer", "anthropic", "claude-sonnet-4-5", "gpt-4o", "agent 7", "Ägent", "模型", "🤖 bot")),
        (1, Gen.Elements("", " ", "\t", "\u3000", "\n")),
        (1, Gen.Elements(63, 64, 65, 255, 256, 257).SelectMany(n => Gen.Elements("a", "é", "\t").Select(c => string.Concat(Enumerable.Repeat(c, n))))),
        (1, Gen.Elements(255, 256).Select(n => new string('a', n - 1) + "😀")));

    private static Gen<string> AnyString =>
        AnyText.Zip(Gen.Frequency((5, Gen.Constant(false)), (1, Gen.Constant(true)))).Select(p => Quote(p.Item1, p.Item2));

    /// <summary>A JSON string literal; unpaired surrogates can only be written as escapes.</summary>
    private static string Quote(string text, bool escapeAll)
    {
        var json = new StringBuilder("\"");
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            var pair = char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]);
            if (pair && !escapeAll)
            {
                json.Append(c).Append(text[++i]);
            }
            else if (escapeAll || c < ' ' || c == '"' || c == '\\' || char.IsSurrogate(c))
            {
                json.Append(c switch
                {
                    '"' when !escapeAll => "\\\"",
                    '\\' when !escapeAll => "\\\\",
                    '\n' when !escapeAll => "\\n",
                    _ => $"\\u{(int)c:x4}",
                });
            }
            else
            {
                json.Append(c);
            }
        }

        return json.Append('"').ToString();
    }

    // ---------------------------------------------------------------- generators: batches

    private static Gen<string> Batch => Gen.Frequency(
        (12, Events.Select(events => "{\"events\":" + events + "}")),
        (1, Events.Zip(AnyKey.Zip(Scalar).ArrayOf()).Select(p =>
            "{" + string.Concat(p.Item2.Select(m => m.Item1 + ":" + m.Item2 + ",")) + "\"events\":" + p.Item1 + "}")),
        (1, Events.Zip(Events).Select(p => "{\"events\":" + p.Item1 + ",\"events\":" + p.Item2 + "}")),
        (1, Events.Select(events => "{\"\\u0065vents\":" + events + "}")),
        (1, Gen.Elements(1000, 1001).Select(n => "{\"events\":[" + string.Join(",", Enumerable.Repeat("{}", n)) + "]}")),
        (1, Scalar.Select(value => "{\"events\":" + value + "}")));

    private static Gen<string> Events => Gen.Sized(size =>
        Gen.Choose(0, Math.Max(3, size / 5)).SelectMany(n => Gen.Frequency((12, Event), (1, JsonValue(2))).ArrayOf(n)))
        .Select(events => "[" + string.Join(",", events) + "]");

    /// <summary>
    /// An event with the real field names. Its noise level decides how often a field is missing or holds an
    /// arbitrary value instead of a plausible one, so that batches range from all-valid to garbage.
    /// </summary>
    private static Gen<string> Event =>
        from noise in Gen.Elements(0, 0, 2, 10, 40)
        from present in Gen.CollectToArray(EventFields, name => Gen.Frequency(
            (100 - noise, Gen.Constant(IsRequired(name) || name.Length % 2 == 0)),
            (noise + 1, Gen.Elements(true, false))))
        from values in Gen.CollectToArray(EventFields, name => noise == 0
            ? FieldValue(name)
            : Gen.Frequency((100 - noise, FieldValue(name)), (noise, JsonValue(2))))
        from keyEscaped in Gen.Frequency((20, Gen.Constant(false)), (1, Gen.Constant(true))).ArrayOf(EventFields.Length)
        from extra in Gen.Frequency((4, Gen.Constant(Array.Empty<(string, string)>())), (1, AnyKey.Zip(Scalar).ArrayOf()))
        let chosen = EventFields.Select((name, i) => (name, i)).Where(f => present[f.i])
        select "{" + string.Join(",", chosen.Select(f => Quote(f.name, keyEscaped[f.i]) + ":" + values[f.i])
            .Concat(extra.Select(m => m.Item1 + ":" + m.Item2))) + "}";

    private static bool IsRequired(string field) => field is "agent_name" or "provider" or "model" or "timestamp";

    private static Gen<string> Names => Gen.Frequency((50, NameText.Select(n => Quote(n, false))), (1, AnyString));

    /// <summary>A plausible value for a field: usually valid, sometimes on or just past a limit.</summary>
    private static Gen<string> FieldValue(string field) => field switch
    {
        "timestamp" => Timestamp.Select(t => Quote(t, false)),
        "input_tokens" or "output_tokens" or "cache_read_tokens" or "cache_write_tokens" or "reasoning_tokens" or "duration_ms" =>
            Gen.Frequency(
                (40, Gen.Choose(0, 100_000).Select(i => i.ToString(CultureInfo.InvariantCulture))),
                (1, Gen.Elements("0", "-0", "1000000000000", "1000000000001", "604800000", "604800001", "-1", "1.0", "1e3", "\"5\"")),
                (1, AnyNumber)),
        "cost_usd" => Gen.Frequency(
            (40, Gen.Choose(0, 9_999_999).Select(i => (i / 1_000_000m).ToString(CultureInfo.InvariantCulture))),
            (1, Gen.Elements("0", "-0", "1e-400", "1000000", "1000000.0000000001", "0.0000000005", "0.0000000015", "1E2", "-0.01")),
            (1, AnyNumber)),
        "task_success" => Gen.Frequency((40, Gen.Elements("true", "false", "null")), (1, Gen.Elements("\"yes\"", "1", "\"true\""))),
        "tags" => Gen.Frequency(
            (20, JsonObject(Names, Names)),
            (1, Gen.Elements(32, 33).Select(n => "{" + string.Join(",", Enumerable.Range(0, n).Select(i => $"\"k{i}\":\"v\"")) + "}")),
            (1, JsonObject(AnyString, Scalar)),
            (1, JsonValue(2))),
        _ => Names,
    };

    /// <summary>Valid names: printable ASCII and some unicode, up to 40 characters, rarely blank.</summary>
    private static Gen<string> NameText =>
        Gen.Choose(1, 40).SelectMany(n => Gen.Frequency(
                (12, Gen.Choose(0x21, 0x7e).Select(i => ((char)i).ToString())),
                (1, Gen.Elements("é", "中", "😀", " ")))
            .ArrayOf(n))
        .Select(string.Concat);

    private static Gen<string> Timestamp => Gen.Frequency(
        (30, from seconds in Gen.Choose(-900_000_000, 100_000)
            from offsetMinutes in Gen.Elements(0, 0, 60, -300, 330, 345, 840, -720, -840)
            from format in Gen.Elements("yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mmK", "yyyy-MM-dd'T'HH:mm:ss.fffffffK", "yyyy-MM-dd'T'HH:mm:ss.fK")
            select Now.AddSeconds(seconds).ToOffset(TimeSpan.FromMinutes(offsetMinutes)).ToString(format, CultureInfo.InvariantCulture)),
        (2, Gen.Elements(
            "2000-01-01T00:00:00Z", "1999-12-31T23:59:59Z", "2000-01-01T00:30:00+01:00", "2026-11-23T12:00:00Z",
            "2026-11-23T12:00:01Z", "2026-11-22T10:15:00.123456789Z", "2026-11-22T10:15:00.1234567891Z",
            "2026-11-22T10:10:10.101010101Z", "2026-02-30T00:00:00Z", "2026-11-22T24:00:00Z", "2026-11-22T10:00:00+14:00",
            "2026-11-22T10:00:00+99:99", "2026-11-22T10:00:00-23:59", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
            "2026-11-22t10:00:00z", "2026-11-22T10:00:00Z\n", " 2026-11-22T10:00:00Z", "2026-11-22T10:00:00",
            "\u0662\u0660\u0662\u0666-\u0661\u0661-\u0662\u0662T\u0661\u0660:\u0660\u0660:\u0660\u0660Z", "", "now")),
        (1, AnyText));

    // ---------------------------------------------------------------- generators: queue messages

    private static readonly string[] EventShortNames =
        ["id", "ws", "day", "ts", "ag", "pv", "md", "in", "out", "cr", "cw", "rs", "cost", "dur", "run", "ok", "ik", "tags"];

    private static Gen<QueueText> QueueTexts => Gen.Frequency(
        (2, AnyText),
        (2, Gen.Elements("b1:", "b1", "B1:", " b1:", "b2:")
            .Zip(Gen.Elements("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n*".ToCharArray()).ListOf())
            .Select(p => p.Item1 + string.Concat(p.Item2))),
        (2, AnyByte.ArrayOf().Select(b => "b1:" + Convert.ToBase64String(b))),
        (2, AnyByte.ArrayOf().Select(b => "b1:" + Convert.ToBase64String(Brotli(b)))),
        (1, JsonBodies.Select(b => "b1:" + Convert.ToBase64String(Brotli(b.Bytes)))),
        (6, MessageJson.Select(json => "b1:" + Convert.ToBase64String(Brotli(Encoding.UTF8.GetBytes(json))))),
        (2, from events in EventLists
            from damage in Gen.Choose(0, 3)
            from at in Gen.Choose(0, 10_000)
            from value in AnyByte
            let packed = IngestMessageCodec.Pack(events.Length == 0 ? [TypicalEvent] : events)[0]
            let compressed = Convert.FromBase64String(packed[3..])
            let i = at % compressed.Length
            select "b1:" + Convert.ToBase64String(damage switch
            {
                0 => compressed,
                1 => compressed[..i],
                2 => [.. compressed[..i], value, .. compressed[(i + 1)..]],
                _ => [.. compressed, value],
            })))
        .Select(t => new QueueText(t));

    /// <summary>JSON shaped like an ingest message, with random values for its real field names.</summary>
    private static Gen<string> MessageJson =>
        from version in Gen.Frequency((4, Gen.Constant("1")), (1, Scalar))
        from events in Gen.Frequency(
            (6, JsonArray(Gen.Frequency((8, MessageEvent), (1, Gen.Constant("null"))))),
            (1, Gen.Constant("null")),
            (1, Scalar),
            (1, JsonArray(Scalar)))
        from omit in Gen.Choose(0, 5)
        select omit switch
        {
            0 => "{\"events\":" + events + "}",
            1 => "{\"v\":" + version + "}",
            _ => "{\"v\":" + version + ",\"events\":" + events + "}",
        };

    /// <summary>An event as the codec writes it: valid, valid but for one null, or with random values and gaps.</summary>
    private static Gen<string> MessageEvent =>
        from mode in Gen.Choose(0, 2)
        from nulled in Gen.Choose(0, 6) // id, ws, day, ts, ag, pv, md
        from valid in Gen.CollectToArray(EventShortNames, ValidShortValue)
        from noisy in Gen.CollectToArray(EventShortNames, name => Gen.Frequency((10, ValidShortValue(name)), (1, Gen.Constant("null")), (1, Scalar)))
        from present in Gen.Frequency((10, Gen.Constant(true)), (1, Gen.Constant(false))).ArrayOf(EventShortNames.Length)
        let fields = EventShortNames.Select((name, i) => mode switch
        {
            0 => (name, value: valid[i], present: true),
            1 => (name, value: i == nulled ? "null" : valid[i], present: true),
            _ => (name, value: noisy[i], present: present[i]),
        })
        select "{" + string.Join(",", fields.Where(f => f.present).Select(f => "\"" + f.name + "\":" + f.value)) + "}";

    private static Gen<string> ValidShortValue(string name) => name switch
    {
        "ts" => Gen.Elements("\"2026-11-22T10:00:00+00:00\"", "\"2026-11-22T10:00:00.1234567-05:00\""),
        "day" => Gen.Constant("\"2026-11-22\""),
        "in" or "out" or "cr" or "cw" or "rs" or "cost" or "dur" => Gen.Choose(0, 1000).Select(i => i.ToString(CultureInfo.InvariantCulture)),
        "ok" => Gen.Elements("true", "false"),
        "tags" => Gen.Constant("{\"env\":\"prod\"}"),
        _ => NameText.Select(n => Quote(n, false)),
    };

    private static byte[] Brotli(byte[] bytes)
    {
        var output = new MemoryStream();
        using (var brotli = new BrotliStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            brotli.Write(bytes);
        }

        return output.ToArray();
    }

    // ---------------------------------------------------------------- generators: events

    private static readonly UsageEvent TypicalEvent = new()
    {
        Id = "k:typical",
        WorkspaceId = Workspace.DefaultId,
        Day = "2026-11-22",
        Timestamp = Now,
        Agent = "reviewer",
        Provider = "anthropic",
        Model = "claude-sonnet-4-5",
    };

    /// <summary>A valid name as the parser would accept it: not blank, within the limit, no control characters.</summary>
    private static Gen<string> ValidName(int maxLength) =>
        AnyText.Select(t => new string(t.Where(c => !char.IsControl(c)).ToArray()))
            .Select(t => t.Length > maxLength ? t[..maxLength] : t)
            .Where(t => !string.IsNullOrWhiteSpace(t) && IsWellFormedUtf16(t));

    private static Gen<string?> Optional(Gen<string> gen) => Gen.Frequency((1, Gen.Constant<string?>(null)), (2, gen.Select(s => (string?)s)));

    private static Gen<long> Tokens64 => Gen.Frequency(
        (4, Gen.Choose(0, 1_000_000).Select(i => (long)i)),
        (1, Gen.Elements(0L, IngestRequestParser.MaxTokens, long.MaxValue)));

    private static Gen<UsageEvent> ValidEvent =>
        from ik in Optional(ValidName(IngestRequestParser.MaxNameLength))
        from serverId in Gen.Choose(0, int.MaxValue)
        from workspace in Gen.Elements(Workspaces)
        from seconds in Gen.Choose(-800_000_000, 86_400)
        from offsetMinutes in Gen.Elements(0, 330, 345, -480, 840, -720)
        from ticks in Gen.Choose(0, 9_999_999)
        let timestamp = Now.AddSeconds(seconds).AddTicks(ticks).ToOffset(TimeSpan.FromMinutes(offsetMinutes))
        from names in ValidName(IngestRequestParser.MaxNameLength).ArrayOf(3)
        from tokens in Tokens64.ArrayOf(5)
        from cost in Gen.Frequency((1, Gen.Constant<long?>(null)), (3, Gen.Choose(0, int.MaxValue).Select(c => (long?)c)),
            (1, Gen.Constant<long?>(Money.ToNanos(Money.MaxEventCostUsd))))
        from duration in Gen.Frequency((1, Gen.Constant<long?>(null)), (2, Gen.Choose(0, int.MaxValue).Select(d => (long?)d)))
        from optional in Optional(ValidName(IngestRequestParser.MaxNameLength)).ArrayOf(6)
        from success in Gen.Elements<bool?>(null, true, false)
        from tags in Gen.Frequency((8, Gen.Choose(0, 3)), (1, Gen.Choose(0, IngestRequestParser.MaxTags))).SelectMany(n =>
            ValidName(IngestRequestParser.MaxTagKeyLength).Zip(ValidName(IngestRequestParser.MaxNameLength)).ArrayOf(n))
        select new UsageEvent
        {
            Id = ik is null ? "s:" + serverId.ToString("x8", CultureInfo.InvariantCulture) : "k:" + ik,
            WorkspaceId = workspace.Id,
            Day = Workspace.FormatDay(workspace.LocalDayOf(timestamp)),
            Timestamp = timestamp,
            Agent = names[0],
            Provider = names[1],
            Model = names[2],
            InputTokens = tokens[0],
            OutputTokens = tokens[1],
            CacheReadTokens = tokens[2],
            CacheWriteTokens = tokens[3],
            ReasoningTokens = tokens[4],
            CostNanos = cost,
            DurationMs = duration,
            RunId = optional[0],
            SessionId = optional[1],
            UserId = optional[2],
            Team = optional[3],
            Framework = optional[4],
            TaskType = optional[5],
            TaskSuccess = success,
            IdempotencyKey = ik,
            Tags = tags.Length == 0 ? null : tags.GroupBy(t => t.Item1, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Item2, StringComparer.Ordinal),
        };

    /// <summary>Usually a small batch; sometimes one large and incompressible enough to need several messages.</summary>
    private static Gen<UsageEvent[]> EventLists => Gen.Frequency(
        (12, Gen.Sized(size => Gen.Choose(0, size).SelectMany(n => ValidEvent.ArrayOf(n)))),
        (1, Gen.Choose(100, 400).SelectMany(n => ValidEvent.ArrayOf(n))));
}
