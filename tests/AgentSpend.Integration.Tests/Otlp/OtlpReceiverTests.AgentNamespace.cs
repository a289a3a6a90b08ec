using AgentSpend.Core.Otlp.Proto;
using AgentSpend.Core.Storage;
using AgentSpend.Integration.Tests.Infrastructure;
using Google.Protobuf;

namespace AgentSpend.Integration.Tests.Otlp;

/// <summary>The agent.* attribute namespace, and the rule that prompt and response text is never stored.</summary>
public sealed partial class OtlpReceiverTests
{
    private const string Secret = "TOP-SECRET-PROMPT-7f3a";

    [Fact]
    public async Task Agent_attributes_become_dimensions_a_cost_breakdown_sums_to_the_cost_and_no_prompt_text_is_stored()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (workspace, key) = await app.CreateWorkspaceAsync(new { name = "agent-namespace" }, "ingest", "read");
        var span = new Span { Name = "chat", StartTimeUnixNano = NanosToday(9, 30) };
        foreach (var (name, value) in new (string, AnyValue)[]
                 {
                     ("gen_ai.provider.name", S("openai")), ("gen_ai.request.model", S("gpt-4.1")), ("gen_ai.response.id", S("resp-agent-1")),
                     ("gen_ai.usage.input_tokens", I(1_000)), ("gen_ai.usage.output_tokens", I(100)),
                     ("agent.user.id", S("dev@example.com")), ("agent.machine.id", S("laptop-7")), ("agent.session.id", S("sess-9")),
                     ("agent.workspace.repo", S("acme/api")), ("agent.workspace.branch", S("feature/x")), ("agent.workspace.is_ci", new AnyValue { BoolValue = true }),
                     ("agent.harness.name", S("my-harness")), ("agent.harness.version", S("1.2.3")),
                     ("agent.cost.input.usd", new AnyValue { DoubleValue = 0.002 }), ("agent.cost.output.usd", new AnyValue { DoubleValue = 0.0008 }),
                     ("agent.cost.cache_read.usd", new AnyValue { DoubleValue = 0 }), ("agent.cost.cache_write.usd", new AnyValue { DoubleValue = 0.0001 }),
                     ("gen_ai.input.messages", S($"[{{\"role\":\"user\",\"content\":\"{Secret}\"}}]")), ("gen_ai.output.messages", S(Secret)),
                 })
        {
            span.Attributes.Add(new KeyValue { Key = name, Value = value });
        }

        var traces = new ExportTraceServiceRequest();
        traces.ResourceSpans.Add(new ResourceSpans { Resource = new Resource(), ScopeSpans = { new ScopeSpans { Spans = { span } } } });
        // Claude Code's user_prompt event (with OTEL_LOG_USER_PROMPTS=1) carries the prompt itself.
        var prompt = new LogRecord { TimeUnixNano = NanosToday(9, 30), EventName = "user_prompt" };
        prompt.Attributes.Add(new KeyValue { Key = "event.name", Value = S("user_prompt") });
        prompt.Attributes.Add(new KeyValue { Key = "prompt", Value = S(Secret) });
        var logs = new ExportLogsServiceRequest();
        logs.ResourceLogs.Add(new ResourceLogs { Resource = new Resource(), ScopeLogs = { new ScopeLogs { LogRecords = { prompt } } } });

        Assert.Equal(200, (await PostAsync(app, "traces", traces.ToByteArray(), "application/x-protobuf", key)).Status);
        Assert.Equal(200, (await PostAsync(app, "logs", logs.ToByteArray(), "application/x-protobuf", key)).Status);
        var overview = await app.WaitForEventsAsync(1, Today, Today, key: key);
        var users = (await app.SendAsync("GET", $"/api/v1/metrics/breakdown?by=user&from={Today}&to={Today}", key: key)).Body!.Value;
        var agents = (await app.SendAsync("GET", $"/api/v1/metrics/breakdown?by=agent&from={Today}&to={Today}", key: key)).Body!.Value;

        Assert.Equal((1L, 0.0029m), (overview.Long("events"), overview.Dec("cost_usd"))); // 0.002 + 0.0008 + 0 + 0.0001
        Assert.Equal("dev@example.com", users.GetProperty("items")[0].Str("key"));
        Assert.Equal("my-harness", agents.GetProperty("items")[0].Str("key"));
        var rows = new List<string>();
        foreach (var table in StorageNames.Tables)
        {
            await foreach (var entity in app.Storage.GetTable(table).QueryAsync(null))
            {
                rows.Add(string.Join("\n", entity.Select(kv => kv.Value?.ToString())));
            }
        }

        Assert.DoesNotContain(rows, r => r.Contains(Secret, StringComparison.Ordinal));
        // The raw event is the one row with the session; the day's slice row carries the tags too, never the session.
        var raw = Assert.Single(rows, r => r.Contains("\"ses\":\"sess-9\"", StringComparison.Ordinal));
        Assert.Contains(rows, r => r != raw && r.Contains("laptop-7", StringComparison.Ordinal));
        foreach (var expected in new[] { "\"machine\":\"laptop-7\"", "\"repo\":\"acme/api\"", "\"branch\":\"feature/x\"", "\"ci\":\"true\"", "\"harness_version\":\"1.2.3\"", "\"ses\":\"sess-9\"" })
        {
            Assert.Contains(expected, raw, StringComparison.Ordinal);
        }

        static AnyValue S(string value) => new() { StringValue = value };
        static AnyValue I(long value) => new() { IntValue = value };
    }
}
