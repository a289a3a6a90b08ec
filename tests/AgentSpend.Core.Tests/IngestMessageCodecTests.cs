using AgentSpend.Core.Domain;
using AgentSpend.Core.Ingest;
using AgentSpend.Core.Storage;

namespace AgentSpend.Core.Tests;

public class IngestMessageCodecTests
{
    private static UsageEvent Event(int i, string? tagValue = null) => new()
    {
        Id = $"k:event-{i}",
        WorkspaceId = "default",
        Day = "2026-11-22",
        Timestamp = new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero).AddSeconds(i),
        Agent = $"agent-{i % 50}",
        Provider = "anthropic",
        Model = "claude-sonnet-4-5",
        InputTokens = i,
        OutputTokens = 2 * i,
        CostNanos = i % 10 == 0 ? null : 1_000L * i,
        TaskSuccess = i % 3 == 0,
        Tags = tagValue is null ? null : new Dictionary<string, string> { ["blob"] = tagValue },
    };

    [Fact]
    public void A_thousand_typical_events_fit_one_message_and_round_trip()
    {
        var events = Enumerable.Range(0, 1000).Select(i => Event(i)).ToArray();

        var messages = IngestMessageCodec.Pack(events);

        var message = Assert.Single(messages);
        Assert.True(message.Length <= IQueueStore.MaxMessageBytes);
        Assert.Equal(events, IngestMessageCodec.Unpack(message).Events, new EventEquality());
    }

    [Fact]
    public void Incompressible_events_are_split_into_messages_that_each_fit()
    {
        var random = new Random(7);
        var events = Enumerable.Range(0, 400)
            .Select(i => Event(i, new string(Enumerable.Range(0, 256).Select(_ => (char)random.Next(33, 127)).ToArray())))
            .ToArray();

        var messages = IngestMessageCodec.Pack(events);

        Assert.True(messages.Count > 1, $"expected a split, got {messages.Count} message");
        Assert.All(messages, m => Assert.True(m.Length <= IQueueStore.MaxMessageBytes, $"{m.Length} chars"));
        Assert.Equal(events, messages.SelectMany(m => IngestMessageCodec.Unpack(m).Events), new EventEquality());
    }

    [Fact]
    public void The_compressed_limit_keeps_the_text_within_64_KiB()
    {
        Assert.True(IngestMessageCodec.TextLength(IngestMessageCodec.MaxCompressedBytes) <= IQueueStore.MaxMessageBytes);
        Assert.True(IngestMessageCodec.TextLength(IngestMessageCodec.MaxCompressedBytes + 3) > IQueueStore.MaxMessageBytes - 4);
    }

    [Theory]
    [InlineData("hello")]
    [InlineData("b1:not base64!")]
    [InlineData("b1:aGVsbG8=")]
    public void Garbage_is_refused_as_invalid_data(string text)
    {
        Assert.Throws<InvalidDataException>(() => IngestMessageCodec.Unpack(text));
    }

    private sealed class EventEquality : IEqualityComparer<UsageEvent>
    {
        public bool Equals(UsageEvent? x, UsageEvent? y) =>
            x is not null && y is not null
            && x with { Tags = null } == y with { Tags = null }
            && (x.Tags ?? new Dictionary<string, string>()).SequenceEqual(y.Tags ?? new Dictionary<string, string>());

        public int GetHashCode(UsageEvent obj) => obj.Id.GetHashCode(StringComparison.Ordinal);
    }
}
