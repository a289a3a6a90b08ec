using System.Text.Json;
using AgentSpend.Sdk;
using Xunit;

namespace AgentSpend.Sdk.Tests;

/// <summary>The shared fixtures (sdk/fixtures) against the expected events of sdk/fixtures/README.md.</summary>
public class ResponseTests
{
    private static string Fixture(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", name));

    [Fact]
    public void AnthropicMessage()
    {
        var e = UsageEvents.FromAnthropicMessage(Fixture("anthropic-messages.json"));
        AssertEvent(e, "anthropic", "claude-opus-4-8", input: 1234, output: 56, cacheRead: 4321, cacheWrite: 789, cacheWrite1h: 0, reasoning: null, key: "msg_mock_4fc6cdc7_0002");
    }

    [Fact]
    public void OpenAIChatCompletion()
    {
        var e = UsageEvents.FromOpenAIChatCompletion(Fixture("openai-chat-completion.json"));
        AssertEvent(e, "openai", "o4-mini-2025-04-16", input: 614, output: 930, cacheRead: 1536, cacheWrite: null, cacheWrite1h: null, reasoning: 640, key: "chatcmpl-fixture0001");
    }

    [Fact]
    public void OpenAIResponse()
    {
        var e = UsageEvents.FromOpenAIResponse(Fixture("openai-responses.json"));
        AssertEvent(e, "openai", "gpt-5-mini-2025-08-07", input: 1152, output: 1480, cacheRead: 2048, cacheWrite: null, cacheWrite1h: null, reasoning: 1216, key: "resp_fixture0001");
    }

    [Theory]
    [InlineData("anthropic-messages.json", "anthropic", 1234L)]
    [InlineData("openai-chat-completion.json", "openai", 614L)]
    [InlineData("openai-responses.json", "openai", 1152L)]
    public void FromResponseTellsThemApart(string file, string provider, long input)
    {
        using var doc = JsonDocument.Parse(Fixture(file));
        var e = UsageEvents.FromResponse(doc.RootElement);
        Assert.Equal(provider, e.Provider);
        Assert.Equal(input, e.InputTokens);
    }

    [Fact]
    public void AbsentSourcesAreLeftOut()
    {
        var chat = UsageEvents.FromOpenAIChatCompletion("{\"id\":\"c1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o\",\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":5}}");
        Assert.Equal(20, chat.InputTokens);
        Assert.Equal(5, chat.OutputTokens);
        Assert.Null(chat.CacheReadTokens);
        Assert.Null(chat.ReasoningTokens);

        var anthropic = UsageEvents.FromAnthropicMessage("{\"type\":\"message\",\"model\":\"claude\",\"usage\":{\"input_tokens\":3,\"output_tokens\":0,\"cache_creation\":{\"ephemeral_1h_input_tokens\":70,\"ephemeral_5m_input_tokens\":30}}}");
        Assert.Equal(3, anthropic.InputTokens);
        Assert.Equal(0, anthropic.OutputTokens);
        Assert.Null(anthropic.CacheReadTokens);
        Assert.Equal(100, anthropic.CacheWriteTokens);
        Assert.Equal(70, anthropic.CacheWrite1hTokens);
        Assert.Null(anthropic.IdempotencyKey);

        Assert.Throws<ArgumentException>(() => UsageEvents.FromOpenAIResponse("{\"id\":\"x\",\"object\":\"response\"}"));
        Assert.Throws<ArgumentException>(() => UsageEvents.FromResponse("[1]"));
    }

    [Fact]
    public async Task RecordedResponseKeepsItsIdAsIdempotencyKey()
    {
        using var server = FakeHandler.Accepting();
        await using var client = TestClient.Create(server);
        var e = UsageEvents.FromOpenAIResponse(Fixture("openai-responses.json"));
        e.AgentName = "researcher";
        client.Record(e);
        await client.FlushAsync();

        var sent = Assert.Single(Assert.Single(server.Requests).Events);
        Assert.Equal(
            "{\"agent_name\":\"researcher\",\"provider\":\"openai\",\"model\":\"gpt-5-mini-2025-08-07\",\"timestamp\":\"2026-12-04T12:00:00.000+00:00\",\"input_tokens\":1152,\"output_tokens\":1480,\"cache_read_tokens\":2048,\"reasoning_tokens\":1216,\"idempotency_key\":\"resp_fixture0001\"}",
            sent.GetRawText());
    }

    private static void AssertEvent(UsageEvent e, string provider, string model, long? input, long? output, long? cacheRead, long? cacheWrite, long? cacheWrite1h, long? reasoning, string key)
    {
        Assert.Equal(provider, e.Provider);
        Assert.Equal(model, e.Model);
        Assert.Equal(input, e.InputTokens);
        Assert.Equal(output, e.OutputTokens);
        Assert.Equal(cacheRead, e.CacheReadTokens);
        Assert.Equal(cacheWrite, e.CacheWriteTokens);
        Assert.Equal(cacheWrite1h, e.CacheWrite1hTokens);
        Assert.Equal(reasoning, e.ReasoningTokens);
        Assert.Equal(key, e.IdempotencyKey);
        Assert.Null(e.AgentName);
        Assert.Null(e.Timestamp);
        Assert.Null(e.CostUsd);
    }
}
