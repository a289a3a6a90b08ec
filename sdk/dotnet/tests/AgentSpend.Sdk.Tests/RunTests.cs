using System.Text.Json;
using AgentSpend.Sdk;
using Xunit;

namespace AgentSpend.Sdk.Tests;

public class RunTests
{
    [Fact]
    public async Task RunStampsItsEventsAndRecordsOneSummaryOnDispose()
    {
        var time = new FakeTime();
        using var server = FakeHandler.Accepting();
        await using var client = TestClient.Create(server, null, time.Seams);
        string runId;
        await using (var run = client.StartRun("triage", new RunOptions { Fields = new UsageEvent { SessionId = "s-42", Tags = new Dictionary<string, string> { ["env"] = "prod" } } }))
        {
            runId = run.Id;
            Assert.True(run.Record(new UsageEvent { Provider = "openai", Model = "gpt-4o-mini", InputTokens = 500, OutputTokens = 50 }));
            time.Now += TimeSpan.FromMilliseconds(400);
            Assert.True(run.Record(new UsageEvent { Provider = "anthropic", Model = "claude-sonnet-4-5", InputTokens = 900, OutputTokens = 120, TaskType = "sub-task" }));
            time.Now += TimeSpan.FromMilliseconds(834);
            run.Fail();
            Assert.Equal(2, run.Events);
        }

        await client.FlushAsync();
        var events = server.Requests.SelectMany(r => r.Events).ToArray();
        Assert.Equal(3, events.Length);
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-7", runId);
        Assert.All(events, e => Assert.Equal(runId, e.GetProperty("run_id").GetString()));
        Assert.All(events, e => Assert.Equal("s-42", e.GetProperty("session_id").GetString()));
        Assert.Equal("triage", events[0].GetProperty("task_type").GetString());
        Assert.Equal("sub-task", events[1].GetProperty("task_type").GetString());
        Assert.False(events[0].TryGetProperty("duration_ms", out _));
        Assert.False(events[0].TryGetProperty("task_success", out _));

        var summary = events[2];
        Assert.Equal("anthropic", summary.GetProperty("provider").GetString());
        Assert.Equal("claude-sonnet-4-5", summary.GetProperty("model").GetString());
        Assert.Equal("bot", summary.GetProperty("agent_name").GetString());
        Assert.Equal("triage", summary.GetProperty("task_type").GetString());
        Assert.Equal(1234, summary.GetProperty("duration_ms").GetInt64());
        Assert.False(summary.GetProperty("task_success").GetBoolean());
        Assert.Equal(0m, summary.GetProperty("cost_usd").GetDecimal());
        Assert.Equal("run_summary", summary.GetProperty("tags").GetProperty("agentspend.event").GetString());
        Assert.Equal("prod", summary.GetProperty("tags").GetProperty("env").GetString());
        foreach (var tokens in new[] { "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens" })
        {
            Assert.False(summary.TryGetProperty(tokens, out _), tokens);
        }

        Assert.NotEqual(events[0].GetProperty("idempotency_key").GetString(), summary.GetProperty("idempotency_key").GetString());
    }

    [Fact]
    public async Task RunWithoutEventsOrOutcome()
    {
        using var server = FakeHandler.Accepting();
        await using var client = TestClient.Create(server);
        var run = client.StartRun("nightly", new RunOptions { RunId = "run-7", AgentName = "batcher" });
        run.End();
        run.End(success: true);
        run.Dispose();
        await client.FlushAsync();

        var summary = Assert.Single(Assert.Single(server.Requests).Events);
        Assert.Equal("run-7", summary.GetProperty("run_id").GetString());
        Assert.Equal("batcher", summary.GetProperty("agent_name").GetString());
        Assert.Equal("agentspend", summary.GetProperty("provider").GetString());
        Assert.Equal("run", summary.GetProperty("model").GetString());
        Assert.False(summary.TryGetProperty("task_success", out _));
        Assert.True(run.Ended);
        Assert.Null(run.Outcome);
    }

    [Fact]
    public async Task WithoutARunOrClientAgentTheSummaryTakesTheLastEventsAgent()
    {
        using var server = FakeHandler.Accepting();
        await using var client = TestClient.Create(server, o => o.AgentName = null);
        await using (var run = client.StartRun("triage"))
        {
            run.Record(new UsageEvent { AgentName = "planner", Provider = "openai", Model = "gpt-4o", InputTokens = 1 });
            run.Record(new UsageEvent { AgentName = "coder", Provider = "openai", Model = "gpt-4o", InputTokens = 2 });
        }

        await client.FlushAsync();
        var events = server.Requests.SelectMany(r => r.Events).ToArray();
        Assert.Equal(["planner", "coder", "coder"], events.Select(e => e.GetProperty("agent_name").GetString()));
    }

    [Fact]
    public async Task RunWithSummaryOffRecordsNoSummary()
    {
        using var server = FakeHandler.Accepting();
        await using var client = TestClient.Create(server);
        await using (var run = client.StartRun("quiet", new RunOptions { Summary = false }))
        {
            run.Record(TestClient.Event());
            run.Succeed();
        }

        await client.FlushAsync();
        Assert.Single(Assert.Single(server.Requests).Events);
    }

    [Fact]
    public async Task RunAsyncSetsTheOutcomeFromTheBody()
    {
        using var server = FakeHandler.Accepting();
        await using var client = TestClient.Create(server);

        var answer = await client.RunAsync("ok", run =>
        {
            run.Record(TestClient.Event());
            return Task.FromResult(42);
        });
        Assert.Equal(42, answer);
        await Assert.ThrowsAsync<InvalidOperationException>(() => client.RunAsync("broken", _ => throw new InvalidOperationException("boom")));
        await client.RunAsync("overridden", run =>
        {
            run.Fail();
            return Task.CompletedTask;
        });
        await client.FlushAsync();

        var summaries = server.Requests.SelectMany(r => r.Events)
            .Where(e => e.TryGetProperty("tags", out var t) && t.TryGetProperty("agentspend.event", out _))
            .ToDictionary(e => e.GetProperty("task_type").GetString()!, e => e.GetProperty("task_success").GetBoolean());
        Assert.Equal(new Dictionary<string, bool> { ["ok"] = true, ["broken"] = false, ["overridden"] = false }, summaries);
    }

    [Fact]
    public async Task RunChecksCarryTheRunId()
    {
        using var server = new FakeHandler((_, _) => FakeHandler.Reply(200, "{\"allowed\":true,\"remaining\":{}}"));
        await using var client = TestClient.Create(server);
        var run = client.StartRun("triage", new RunOptions { RunId = "run-9", Fields = new UsageEvent { UserId = "u-1" } });
        await run.ReserveAsync(new CheckRequest { EstimatedCostUsd = 0.5m });

        Assert.Equal("{\"agent_name\":\"bot\",\"user_id\":\"u-1\",\"estimated_cost_usd\":0.5,\"run_id\":\"run-9\",\"reserve\":true}", Assert.Single(server.Requests).Text);
    }
}
