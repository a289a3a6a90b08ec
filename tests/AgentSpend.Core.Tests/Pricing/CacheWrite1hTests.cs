using System.Text;
using System.Text.Json;
using AgentSpend.Core.Import;
using AgentSpend.Core.Ingest;
using AgentSpend.Core.Workspaces;

namespace AgentSpend.Core.Tests.Pricing;

/// <summary>cache_write_1h_tokens: how it enters through the API and the Claude Code session importer.</summary>
public sealed class CacheWrite1hTests
{
    private static readonly IngestRequestParser Parser = new(new TestClock(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero)));
    private static readonly Workspace Utc = new(Workspace.DefaultId, TimeZoneInfo.Utc);

    private static IngestParseResult Parse(string extraFields) =>
        Parser.Parse(Encoding.UTF8.GetBytes(
            $$"""{"events":[{"agent_name":"a","provider":"anthropic","model":"claude-opus-4-8","timestamp":"2026-11-22T10:00:00Z"{{extraFields}}}]}"""), Utc);

    [Fact]
    public void A_1h_share_within_the_cache_writes_is_kept()
    {
        var e = Assert.Single(Parse(""","cache_write_tokens":900,"cache_write_1h_tokens":600""").Accepted);
        var absent = Assert.Single(Parse(""","cache_write_tokens":900""").Accepted);
        var all = Assert.Single(Parse(""","cache_write_tokens":900,"cache_write_1h_tokens":900""").Accepted);

        Assert.Equal((900L, 600L), (e.CacheWriteTokens, e.CacheWrite1hTokens));
        Assert.Null(absent.CacheWrite1hTokens);
        Assert.Equal(900L, all.CacheWrite1hTokens);
    }

    [Theory]
    [InlineData(""","cache_write_tokens":900,"cache_write_1h_tokens":901""", "must not exceed cache_write_tokens (900): it is the share of them that were 1-hour cache writes.")]
    [InlineData(""","cache_write_1h_tokens":5""", "must not exceed cache_write_tokens (0): it is the share of them that were 1-hour cache writes.")]
    [InlineData(""","cache_write_tokens":900,"cache_write_1h_tokens":-1""", "must not be negative.")]
    [InlineData(""","cache_write_tokens":900,"cache_write_1h_tokens":1.5""", "must be a whole number.")]
    [InlineData(""","cache_write_tokens":900,"cache_write_1h_tokens":"600" """, "must be a whole number.")]
    public void A_bad_1h_count_rejects_the_event_naming_the_field(string fields, string reason)
    {
        var result = Parse(fields);

        Assert.Empty(result.Accepted);
        Assert.Equal(new IngestError(0, "cache_write_1h_tokens", reason), Assert.Single(result.Errors));
    }

    [Fact]
    public void A_bad_cache_write_count_is_named_alone_not_again_through_the_1h_share()
    {
        var result = Parse(""","cache_write_tokens":-3,"cache_write_1h_tokens":5""");

        Assert.Equal(["cache_write_tokens"], result.Errors.Select(e => e.Field));
    }

    [Fact]
    public void The_1h_share_survives_the_queue_message()
    {
        var e = Assert.Single(Parse(""","cache_write_tokens":900,"cache_write_1h_tokens":600""").Accepted);

        var back = Assert.Single(IngestMessageCodec.Unpack(Assert.Single(IngestMessageCodec.Pack([e]))).Events);

        Assert.Equal((900L, 600L), (back.CacheWriteTokens, back.CacheWrite1hTokens));
    }

    [Theory]
    [InlineData("""{"input_tokens":10,"cache_creation_input_tokens":789,"cache_creation":{"ephemeral_1h_input_tokens":500,"ephemeral_5m_input_tokens":289},"output_tokens":5}""", 789L, 500L)]
    [InlineData("""{"input_tokens":10,"cache_creation_input_tokens":789,"cache_creation":{"ephemeral_1h_input_tokens":0,"ephemeral_5m_input_tokens":789},"output_tokens":5}""", 789L, 0L)]
    [InlineData("""{"input_tokens":10,"cache_creation_input_tokens":789,"output_tokens":5}""", 789L, null)]
    [InlineData("""{"input_tokens":10,"cache_creation":{"ephemeral_1h_input_tokens":500,"ephemeral_5m_input_tokens":289},"output_tokens":5}""", 789L, 500L)]
    public void A_Claude_Code_session_line_carries_its_1h_cache_writes(string usage, long cacheWrite, long? oneHour)
    {
        var line = JsonDocument.Parse($$$"""
            {"type":"assistant","requestId":"req_1","sessionId":"s","timestamp":"2026-11-22T10:00:00Z",
             "message":{"id":"msg_1","model":"claude-opus-4-8","usage":{{{usage}}}}}
            """).RootElement;
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("events");
            Assert.Equal(LineKind.Usage, new SessionFileMapper().WriteClaudeCode(json, line));
            json.WriteEndArray();
            json.WriteEndObject();
        }

        var e = Assert.Single(Parser.Parse(buffer.ToArray(), Utc).Accepted);

        Assert.Equal((cacheWrite, oneHour), (e.CacheWriteTokens, e.CacheWrite1hTokens));
    }
}
