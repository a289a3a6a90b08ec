using System.Text;
using System.Text.Json;
using AgentSpend.Core.Domain;
using AgentSpend.Core.Ingest;
using AgentSpend.Core.Workspaces;

namespace AgentSpend.Core.Tests;

public class IngestRequestParserTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private static readonly Workspace Utc = new(Workspace.DefaultId, TimeZoneInfo.Utc);
    private readonly IngestRequestParser _parser = new(new TestClock(Now));

    private static Dictionary<string, object?> ValidEvent(Action<Dictionary<string, object?>>? change = null)
    {
        var e = new Dictionary<string, object?>
        {
            ["agent_name"] = "reviewer",
            ["provider"] = "anthropic",
            ["model"] = "claude-sonnet-4-5",
            ["timestamp"] = "2026-11-22T10:15:00Z",
        };
        change?.Invoke(e);
        return e;
    }

    private IngestParseResult Parse(params object[] events) =>
        _parser.Parse(JsonSerializer.SerializeToUtf8Bytes(new { events }), Utc);

    [Fact]
    public void A_full_event_is_normalised_with_every_field()
    {
        var result = Parse(ValidEvent(e =>
        {
            e["input_tokens"] = 1200;
            e["output_tokens"] = 340;
            e["cache_read_tokens"] = 5000;
            e["cache_write_tokens"] = 800;
            e["reasoning_tokens"] = 64;
            e["cost_usd"] = 0.0123456789m;
            e["duration_ms"] = 4200;
            e["run_id"] = "run-1";
            e["session_id"] = "s-1";
            e["user_id"] = "ana";
            e["team"] = "platform";
            e["framework"] = "langchain";
            e["task_type"] = "review";
            e["task_success"] = true;
            e["idempotency_key"] = "req-42";
            e["tags"] = new Dictionary<string, string> { ["env"] = "prod" };
            e["some_future_field"] = "ignored";
        }));

        Assert.Null(result.Problem);
        Assert.Empty(result.Errors);
        var e = Assert.Single(result.Accepted);
        Assert.Equal("k:req-42", e.Id);
        Assert.Equal("2026-11-22", e.Day);
        Assert.Equal(new DateTimeOffset(2026, 11, 22, 10, 15, 0, TimeSpan.Zero), e.Timestamp);
        Assert.Equal((1200, 340, 5000, 800, 64), (e.InputTokens, e.OutputTokens, e.CacheReadTokens, e.CacheWriteTokens, e.ReasoningTokens));
        Assert.Equal(12_345_679L, e.CostNanos); // 0.0123456789 USD rounded to whole nano-dollars
        Assert.Equal(4200L, e.DurationMs);
        Assert.Equal(("run-1", "s-1", "ana", "platform", "langchain", "review"), (e.RunId, e.SessionId, e.UserId, e.Team, e.Framework, e.TaskType));
        Assert.True(e.TaskSuccess);
        Assert.Equal("prod", e.Tags!["env"]);
    }

    [Fact]
    public void Events_without_idempotency_key_get_distinct_server_ids_and_no_cost_means_unpriced()
    {
        var result = Parse(ValidEvent(), ValidEvent());

        Assert.Equal(2, result.Accepted.Count);
        Assert.All(result.Accepted, e => Assert.StartsWith("s:", e.Id, StringComparison.Ordinal));
        Assert.NotEqual(result.Accepted[0].Id, result.Accepted[1].Id);
        Assert.All(result.Accepted, e => Assert.Null(e.CostNanos));
    }

    [Fact]
    public void Server_ids_come_from_the_key_the_body_and_the_index_so_a_resent_body_gets_the_same_ones()
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new { events = new object[] { ValidEvent(), ValidEvent(e => e["idempotency_key"] = "mine"), ValidEvent() } });
        var otherBody = JsonSerializer.SerializeToUtf8Bytes(new { events = new object[] { ValidEvent(), ValidEvent(e => e["idempotency_key"] = "mine"), ValidEvent(e => e["input_tokens"] = 1) } });

        var first = _parser.Parse(body, Utc, keyId: "key1").Accepted.Select(e => e.Id).ToArray();
        var resent = _parser.Parse(body, Utc, keyId: "key1").Accepted.Select(e => e.Id).ToArray();
        var otherKey = _parser.Parse(body, Utc, keyId: "key2").Accepted.Select(e => e.Id).ToArray();
        var changed = _parser.Parse(otherBody, Utc, keyId: "key1").Accepted.Select(e => e.Id).ToArray();

        Assert.Equal([ExpectedServerId("key1", body, 0), "k:mine", ExpectedServerId("key1", body, 2)], first);
        Assert.Equal(first, resent);
        Assert.Equal([ExpectedServerId("key2", body, 0), "k:mine", ExpectedServerId("key2", body, 2)], otherKey);
        Assert.Empty(first.Where(id => id.StartsWith("s:", StringComparison.Ordinal)).Intersect(otherKey));
        Assert.Empty(first.Where(id => id.StartsWith("s:", StringComparison.Ordinal)).Intersect(changed.Where(id => id.StartsWith("s:", StringComparison.Ordinal))));
    }

    /// <summary>The documented rule, computed independently: s: + the first 16 bytes of SHA-256(key id, newline, SHA-256(body), index as 4 big-endian bytes), in hex.</summary>
    private static string ExpectedServerId(string keyId, byte[] body, int index)
    {
        var input = Encoding.UTF8.GetBytes(keyId).Append((byte)'\n').Concat(System.Security.Cryptography.SHA256.HashData(body))
            .Concat(new[] { (byte)(index >> 24), (byte)(index >> 16), (byte)(index >> 8), (byte)index }).ToArray();
        return "s:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(input))[..32];
    }

    [Fact]
    public void An_event_that_would_not_fit_its_stored_row_is_refused_as_too_large_at_exactly_the_limit()
    {
        // 32 tags of one character: the base size, then escaped characters (6 bytes stored each: '<' is written \u003C)
        // and plain ones (1 byte) added to the tag values until the event takes exactly the limit.
        static Dictionary<string, string> Tags(int escaped, int plain)
        {
            var values = Enumerable.Range(0, IngestRequestParser.MaxTags).Select(_ => new StringBuilder("x")).ToArray();
            for (var i = 0; i < escaped; i++)
            {
                values[i % values.Length].Append('<');
            }

            for (var i = 0; i < plain; i++)
            {
                values[(escaped + i) % values.Length].Append('a');
            }

            return values.Select((v, i) => (Key: $"t{i:D2}", Value: v.ToString())).ToDictionary(t => t.Key, t => t.Value);
        }

        var baseSize = StoredBytes(Assert.Single(Parse(ValidEvent(e => e["tags"] = Tags(0, 0))).Accepted));
        var missing = UsageEvent.MaxSerializedBytes - baseSize;
        var (escaped, plain) = (missing / 6, missing % 6);

        var result = Parse(ValidEvent(e => e["tags"] = Tags(escaped, plain)), ValidEvent(e => e["tags"] = Tags(escaped, plain + 1)), ValidEvent());

        Assert.Equal(2, result.Accepted.Count);
        Assert.Equal(UsageEvent.MaxSerializedBytes, StoredBytes(result.Accepted[0]));
        Assert.Equal(2, result.Accepted[1].SourceIndex);
        Assert.Equal(1, result.Rejected);
        Assert.Equal(new IngestError(1, "tags",
            $"too_large: the event takes {UsageEvent.MaxSerializedBytes + 1} bytes stored and at most {UsageEvent.MaxSerializedBytes} fit; stored as JSON, quotes, <, >, &, ' and non-ASCII characters take 6 bytes each."),
            Assert.Single(result.Errors));

        // What the aggregator stores: a string property within Azure's 32,768 characters, and the event fits one queue message.
        Assert.True(JsonSerializer.Serialize(result.Accepted[0], CoreJsonContext.Default.UsageEvent).Length <= UsageEvent.MaxSerializedBytes);
        Assert.Single(IngestMessageCodec.Pack([result.Accepted[0]]));
    }

    [Fact]
    public void Long_plain_tags_fit_while_the_same_lengths_of_escaped_characters_do_not()
    {
        var plain = Enumerable.Range(0, IngestRequestParser.MaxTags).ToDictionary(i => $"tag{i:D2}", _ => new string('a', IngestRequestParser.MaxNameLength));
        var accented = Enumerable.Range(0, IngestRequestParser.MaxTags).ToDictionary(i => $"tag{i:D2}", _ => new string('\u00e9', IngestRequestParser.MaxNameLength));

        var result = Parse(ValidEvent(e => e["tags"] = plain), ValidEvent(e => e["tags"] = accented));

        Assert.Equal(0, Assert.Single(result.Accepted).SourceIndex);
        Assert.Equal((1, "tags"), (result.Errors[0].Index, result.Errors[0].Field));
        Assert.StartsWith("too_large: ", result.Errors[0].Reason, StringComparison.Ordinal);
    }

    private static int StoredBytes(UsageEvent e) => JsonSerializer.SerializeToUtf8Bytes(e, CoreJsonContext.Default.UsageEvent).Length;

    [Theory]
    [InlineData("agent_name", null, "agent_name", "is required.")]
    [InlineData("agent_name", "", "agent_name", "must not be empty.")]
    [InlineData("provider", 12, "provider", "must be a string.")]
    [InlineData("model", null, "model", "is required.")]
    [InlineData("timestamp", "2026-11-22 10:15:00", "timestamp", "must be an ISO 8601 date-time with a UTC offset, e.g. 2026-11-22T14:05:00Z or 2026-11-22T15:05:00+01:00.")]
    [InlineData("timestamp", "2026-11-22T10:15:00", "timestamp", "must be an ISO 8601 date-time with a UTC offset, e.g. 2026-11-22T14:05:00Z or 2026-11-22T15:05:00+01:00.")]
    [InlineData("timestamp", "2026-11-24T10:15:00Z", "timestamp", "must not be more than 24 hours in the future.")]
    [InlineData("timestamp", "1999-12-31T23:59:59Z", "timestamp", "must not be before 2000-01-01.")]
    [InlineData("input_tokens", -1, "input_tokens", "must not be negative.")]
    [InlineData("output_tokens", 1.5, "output_tokens", "must be a whole number.")]
    [InlineData("cache_read_tokens", "100", "cache_read_tokens", "must be a whole number.")]
    [InlineData("reasoning_tokens", 1_000_000_000_001L, "reasoning_tokens", "must be at most 1000000000000.")]
    [InlineData("cost_usd", -0.01, "cost_usd", "must not be negative.")]
    [InlineData("cost_usd", "0.5", "cost_usd", "must be a number.")]
    [InlineData("task_success", "yes", "task_success", "must be true or false.")]
    [InlineData("duration_ms", -5, "duration_ms", "must not be negative.")]
    [InlineData("run_id", "bad\u0001id", "run_id", "must not contain control characters.")]
    public void An_invalid_field_rejects_that_event_alone_and_names_the_field(string field, object? value, string expectedField, string expectedReason)
    {
        var bad = ValidEvent(e =>
        {
            if (value is null)
            {
                e.Remove(field);
            }
            else
            {
                e[field] = value;
            }
        });

        var result = Parse(ValidEvent(), bad, ValidEvent());

        Assert.Equal(2, result.Accepted.Count);
        Assert.Equal(1, result.Rejected);
        var error = Assert.Single(result.Errors);
        Assert.Equal(new IngestError(1, expectedField, expectedReason), error);
    }

    [Fact]
    public void Several_errors_in_one_event_are_all_reported_and_count_one_rejection()
    {
        var result = Parse(new { agent_name = "", provider = "p", model = "m", timestamp = "x", input_tokens = -3 });

        Assert.Empty(result.Accepted);
        Assert.Equal(1, result.Rejected);
        Assert.Equal(["agent_name", "timestamp", "input_tokens"], result.Errors.Select(e => e.Field));
    }

    [Fact]
    public void A_non_object_event_and_bad_tags_are_rejected()
    {
        var tooMany = Enumerable.Range(0, 33).ToDictionary(i => $"k{i}", i => "v");
        var result = Parse(42, ValidEvent(e => e["tags"] = new { env = 3 }), ValidEvent(e => e["tags"] = tooMany));

        Assert.Equal(3, result.Rejected);
        Assert.Equal(
            [new IngestError(0, "", "An event must be a JSON object."), new IngestError(1, "tags.env", "must be a string."), new IngestError(2, "tags", "must hold at most 32 tags.")],
            result.Errors);
    }

    [Theory]
    [InlineData("{\"events\":[", IngestProblemKind.MalformedBody, "body")]
    [InlineData("[1,2]", IngestProblemKind.MalformedBody, "body")]
    [InlineData("{\"evts\":[]}", IngestProblemKind.MalformedBody, "events")]
    [InlineData("{\"events\":{}}", IngestProblemKind.MalformedBody, "events")]
    public void A_malformed_body_is_a_request_problem(string body, IngestProblemKind kind, string field)
    {
        var result = _parser.Parse(Encoding.UTF8.GetBytes(body), Utc);

        Assert.Equal(kind, result.Problem?.Kind);
        Assert.Equal(field, result.Problem?.Field);
        Assert.Empty(result.Accepted);
    }

    [Fact]
    public void More_than_1000_events_is_too_large()
    {
        var result = Parse(Enumerable.Range(0, 1001).Select(_ => (object)ValidEvent()).ToArray());

        Assert.Equal(IngestProblemKind.TooLarge, result.Problem?.Kind);
        Assert.Equal("events", result.Problem?.Field);
        Assert.Empty(result.Accepted);
    }

    [Fact]
    public void Exactly_1000_events_are_accepted()
    {
        Assert.Equal(1000, Parse(Enumerable.Range(0, 1000).Select(_ => (object)ValidEvent()).ToArray()).Accepted.Count);
    }

    [Theory]
    [InlineData("2026-11-22T10:15:00.123456789Z", 2026, 11, 22, 10, 15, 0, 1234567)]
    [InlineData("2026-11-22T10:15:00.5+05:30", 2026, 11, 22, 4, 45, 0, 5000000)]
    [InlineData("2026-11-22T10:15Z", 2026, 11, 22, 10, 15, 0, 0)]
    public void Timestamps_keep_up_to_seven_fractional_digits_and_honour_offsets(string text, int y, int mo, int d, int h, int mi, int s, int ticks)
    {
        Assert.True(IngestRequestParser.TryParseTimestamp(text, out var parsed));
        Assert.Equal(new DateTimeOffset(y, mo, d, h, mi, s, TimeSpan.Zero).AddTicks(ticks), parsed.ToUniversalTime());
    }

    [Theory]
    [InlineData("Asia/Kolkata", "2026-11-21T18:29:59Z", "2026-11-21")]
    [InlineData("Asia/Kolkata", "2026-11-21T18:30:00Z", "2026-11-22")]
    [InlineData("Asia/Kathmandu", "2026-11-21T18:15:00Z", "2026-11-22")]
    [InlineData("America/Los_Angeles", "2026-11-22T07:59:00Z", "2026-11-21")]
    public void The_day_is_the_workspace_local_day(string timezone, string timestamp, string day)
    {
        var workspace = new Workspace(Workspace.DefaultId, TimeZoneInfo.FindSystemTimeZoneById(timezone));
        var result = _parser.Parse(JsonSerializer.SerializeToUtf8Bytes(new { events = new[] { ValidEvent(e => e["timestamp"] = timestamp) } }), workspace);

        Assert.Equal(day, Assert.Single(result.Accepted).Day);
    }

    [Fact]
    public void Costs_are_exact_in_nano_dollars()
    {
        Assert.Equal(1L, Money.ToNanos(0.000000001m));
        Assert.Equal(0.1m + 0.2m, Money.ToUsd(Money.ToNanos(0.1m) + Money.ToNanos(0.2m)));
    }
}
