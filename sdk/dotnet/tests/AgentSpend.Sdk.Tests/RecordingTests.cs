using System.Diagnostics;
using System.Text.Json;
using AgentSpend.Sdk;
using Xunit;

namespace AgentSpend.Sdk.Tests;

public class RecordingTests
{
    [Fact]
    public async Task RecordBuffersUntilFlushThenSendsOneGzipBatch()
    {
        using var server = FakeHandler.Accepting();
        await using var client = TestClient.Create(server);

        Assert.True(client.Record(TestClient.Event(0)));
        Assert.True(client.Record(TestClient.Event(1)));
        Assert.True(client.Record(new UsageEvent { Provider = "anthropic", Model = "claude-sonnet-4-5", AgentName = "other", IdempotencyKey = "k-1", Tags = new Dictionary<string, string> { ["feature"] = "search" } }));
        await Task.Delay(100);
        Assert.Empty(server.Requests);
        Assert.Equal(3, client.Pending);

        await client.FlushAsync();

        var request = Assert.Single(server.Requests);
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("http://agentspend.test/api/v1/ingest", request.Uri.ToString());
        Assert.Equal("Bearer " + TestClient.Key, request.Authorization);
        Assert.Matches(@"^\d+\.\d+\.\d+$", AgentSpendClient.Version);
        Assert.Equal("agentspend-dotnet/" + AgentSpendClient.Version, request.UserAgent);
        Assert.Equal("application/json", request.ContentType);
        Assert.Equal("gzip", request.ContentEncoding);
        Assert.Equal(new byte[] { 0x1f, 0x8b }, request.Raw.Take(2).ToArray());

        var events = request.Events;
        Assert.Equal(3, events.Length);
        Assert.Equal("bot", events[0].GetProperty("agent_name").GetString());
        Assert.Equal("openai", events[0].GetProperty("provider").GetString());
        Assert.Equal(100, events[0].GetProperty("input_tokens").GetInt64());
        Assert.Equal(101, events[1].GetProperty("input_tokens").GetInt64());
        Assert.Equal("2026-12-04T12:00:00.000+00:00", events[0].GetProperty("timestamp").GetString());
        Assert.False(events[0].TryGetProperty("cache_read_tokens", out _));
        Assert.False(events[0].TryGetProperty("tags", out _));
        Assert.Equal("other", events[2].GetProperty("agent_name").GetString());
        Assert.Equal("k-1", events[2].GetProperty("idempotency_key").GetString());
        Assert.Equal("search", events[2].GetProperty("tags").GetProperty("feature").GetString());
        var key0 = events[0].GetProperty("idempotency_key").GetString()!;
        var key1 = events[1].GetProperty("idempotency_key").GetString()!;
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", key0);
        Assert.NotEqual(key0, key1);
        Assert.Equal(3, client.Delivered);
        Assert.Equal(0, client.Pending);
    }

    [Fact]
    public async Task GzipOffSendsPlainJson()
    {
        using var server = FakeHandler.Accepting();
        await using var client = TestClient.Create(server, o => o.Gzip = false);
        client.Record(TestClient.Event());
        await client.FlushAsync();

        var request = Assert.Single(server.Requests);
        Assert.Null(request.ContentEncoding);
        Assert.Equal((byte)'{', request.Raw[0]);
        Assert.StartsWith("{\"events\":[{\"agent_name\":\"bot\",\"provider\":\"openai\",\"model\":\"gpt-4o\",\"timestamp\":", request.Text);
    }

    [Fact]
    public async Task RecordDoesNotChangeTheCallersEvent()
    {
        using var server = FakeHandler.Accepting();
        await using var client = TestClient.Create(server, o => o.Defaults = new UsageEvent { Team = "ops", Tags = new Dictionary<string, string> { ["env"] = "prod", ["feature"] = "x" } });
        var e = new UsageEvent { Provider = "openai", Model = "m", Tags = new Dictionary<string, string> { ["feature"] = "search" } };
        client.Record(e);
        await client.FlushAsync();

        Assert.Null(e.AgentName);
        Assert.Null(e.IdempotencyKey);
        Assert.Single(e.Tags!);
        var sent = Assert.Single(server.Requests).Events[0];
        Assert.Equal("ops", sent.GetProperty("team").GetString());
        Assert.Equal("prod", sent.GetProperty("tags").GetProperty("env").GetString());
        Assert.Equal("search", sent.GetProperty("tags").GetProperty("feature").GetString());
    }

    [Fact]
    public async Task FullBatchIsSentWithoutFlushAndSplitByCount()
    {
        using var server = FakeHandler.Accepting();
        await using var client = TestClient.Create(server, o => o.MaxBatchEvents = 3);
        for (var i = 0; i < 7; i++)
        {
            Assert.True(client.Record(TestClient.Event(i)));
        }

        await server.WaitForAsync(2);
        await Task.Delay(100);
        Assert.Equal(new[] { 3, 3 }, server.Requests.Select(r => r.Events.Length).ToArray());

        await client.FlushAsync();
        Assert.Equal(new[] { 3, 3, 1 }, server.Requests.Select(r => r.Events.Length).ToArray());
        Assert.Equal(Enumerable.Range(100, 7).Select(i => (long)i).ToArray(), server.Requests.SelectMany(r => r.Events).Select(e => e.GetProperty("input_tokens").GetInt64()).ToArray());
    }

    [Fact]
    public async Task BatchesAreSplitByBytes()
    {
        using var server = FakeHandler.Accepting();
        var probe = Json.Serialize(PreparedEvent());
        // Room for exactly two events: the 13 bytes around them, two events and one comma.
        var limit = 13 + (2 * probe.Length) + 1;
        await using var client = TestClient.Create(server, o => o.MaxBatchBytes = limit);
        for (var i = 0; i < 5; i++)
        {
            client.Record(PreparedEvent());
        }

        await client.FlushAsync();
        Assert.Equal(new[] { 2, 2, 1 }, server.Requests.Select(r => r.Events.Length).ToArray());
        Assert.All(server.Requests, r => Assert.True(r.Text.Length <= limit));
        Assert.Equal(limit, server.Requests[0].Text.Length);
    }

    [Fact]
    public async Task BufferIsSentWhenTheFlushIntervalPasses()
    {
        using var server = FakeHandler.Accepting();
        await using var client = TestClient.Create(server, o => o.FlushInterval = TimeSpan.FromMilliseconds(300));
        var watch = Stopwatch.StartNew();
        client.Record(TestClient.Event());
        client.Record(TestClient.Event(1));

        await server.WaitForAsync(1);
        Assert.True(watch.ElapsedMilliseconds >= 250, $"sent after {watch.ElapsedMilliseconds} ms");
        Assert.Equal(2, server.Requests[0].Events.Length);

        client.Record(TestClient.Event(2));
        await server.WaitForAsync(2);
        Assert.Single(server.Requests[1].Events);
    }

    [Fact]
    public async Task FullBufferDropsAndCountsWithoutThrowing()
    {
        using var server = FakeHandler.Accepting();
        var drops = new List<DroppedEvents>();
        await using var client = TestClient.Create(server, o =>
        {
            o.BufferCapacity = 2;
            o.OnDropped = drops.Add;
        });

        Assert.True(client.Record(TestClient.Event(0)));
        Assert.True(client.Record(TestClient.Event(1)));
        Assert.False(client.Record(TestClient.Event(2)));
        Assert.False(client.Record(TestClient.Event(3)));

        Assert.Equal(2, client.Dropped);
        Assert.Equal(new[] { DropReasons.BufferFull, DropReasons.BufferFull }, drops.Select(d => d.Reason).ToArray());
        Assert.Equal(102, drops[0].Events.Single().InputTokens);
        Assert.Equal(0, drops[0].Attempts);

        await client.FlushAsync();
        Assert.Equal(2, Assert.Single(server.Requests).Events.Length);
        Assert.True(client.Record(TestClient.Event(4)));
    }

    [Fact]
    public async Task AnEventLargerThanABatchIsDropped()
    {
        using var server = FakeHandler.Accepting();
        var drops = new List<DroppedEvents>();
        await using var client = TestClient.Create(server, o =>
        {
            o.MaxBatchBytes = 300;
            o.OnDropped = drops.Add;
        });
        var big = TestClient.Event();
        big.Tags = new Dictionary<string, string> { ["note"] = new string('x', 400) };

        Assert.False(client.Record(big));
        Assert.Equal(1, client.Dropped);
        Assert.Equal(DropReasons.TooLarge, Assert.Single(drops).Reason);
        Assert.False(client.Record(null!));
        Assert.Equal(2, client.Dropped);
        await client.FlushAsync();
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task DisposeFlushesAndLaterRecordsAreDropped()
    {
        using var server = FakeHandler.Accepting();
        var drops = new List<DroppedEvents>();
        var client = TestClient.Create(server, o => o.OnDropped = drops.Add);
        client.Record(TestClient.Event());
        client.Record(TestClient.Event(1));

        await client.DisposeAsync();

        Assert.Equal(2, Assert.Single(server.Requests).Events.Length);
        Assert.Equal(2, client.Delivered);
        Assert.False(client.Record(TestClient.Event(2)));
        Assert.Equal(DropReasons.Closed, Assert.Single(drops).Reason);
        await client.DisposeAsync();
        client.Dispose();
    }

    [Fact]
    public async Task DisposeGivesUpAtTheShutdownDeadline()
    {
        // A server that never answers: the request hangs until the client abandons it.
        using var server = new FakeHandler(async (_, _, ct) =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return FakeHandler.Reply(202);
        });
        var drops = new List<DroppedEvents>();
        var client = new AgentSpendClient(
            new AgentSpendOptions
            {
                BaseUrl = "http://agentspend.test",
                ApiKey = TestClient.Key,
                AgentName = "bot",
                MaxBatchEvents = 2,
                FlushInterval = TimeSpan.FromHours(1),
                ShutdownTimeout = TimeSpan.FromMilliseconds(300),
                OnDropped = d =>
                {
                    lock (drops)
                    {
                        drops.Add(d);
                    }
                },
            },
            () => new HttpClient(server, disposeHandler: false),
            null,
            null);
        for (var i = 0; i < 5; i++)
        {
            client.Record(TestClient.Event(i));
        }

        await server.WaitForAsync(1);
        var watch = Stopwatch.StartNew();
        await client.DisposeAsync();
        Assert.True(watch.ElapsedMilliseconds < 3000, $"dispose took {watch.ElapsedMilliseconds} ms");

        Assert.Equal(5, client.Dropped);
        Assert.Equal(0, client.Delivered);
        Assert.All(drops, d => Assert.Equal(DropReasons.Deadline, d.Reason));
        Assert.Equal(5, drops.Sum(d => d.Events.Count));
        Assert.Equal(0, client.Pending);
    }

    [Fact]
    public async Task FlushWaitCanBeCancelled()
    {
        var gate = new TaskCompletionSource<bool>();
        using var server = new FakeHandler(async (_, _, _) =>
        {
            await gate.Task;
            return FakeHandler.Reply(202, "{\"accepted\":1,\"rejected\":0,\"errors\":[]}");
        });
        await using var client = TestClient.Create(server);
        client.Record(TestClient.Event());
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.FlushAsync(cts.Token));
        gate.SetResult(true);
        await client.FlushAsync();
        Assert.Equal(1, client.Delivered);
    }

    [Fact]
    public void TheKeyIsNeverShown()
    {
        using var server = FakeHandler.Accepting();
        var options = new AgentSpendOptions { BaseUrl = "http://agentspend.test", ApiKey = TestClient.Key };
        using var client = TestClient.Create(server);
        Assert.DoesNotContain(TestClient.Key, options.ToString(), StringComparison.Ordinal);
        Assert.Contains("***", options.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(TestClient.Key, client.ToString(), StringComparison.Ordinal);
        Assert.Equal("AgentSpendClient { BaseUrl = http://agentspend.test, AgentName = bot, ApiKey = *** }", client.ToString());
    }

    [Fact]
    public void ConfigurationErrorsThrowWhenTheClientIsMade()
    {
        Environment.SetEnvironmentVariable("AGENTSPEND_URL", null);
        Environment.SetEnvironmentVariable("AGENTSPEND_KEY", null);
        var noUrl = Assert.Throws<AgentSpendException>(() => new AgentSpendClient(new AgentSpendOptions { ApiKey = "k" }));
        Assert.Contains("AGENTSPEND_URL", noUrl.Message, StringComparison.Ordinal);
        var noKey = Assert.Throws<AgentSpendException>(() => new AgentSpendClient(new AgentSpendOptions { BaseUrl = "http://x" }));
        Assert.Contains("AGENTSPEND_KEY", noKey.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new AgentSpendClient(new AgentSpendOptions { BaseUrl = "http://x", ApiKey = "k", MaxBatchEvents = 1001 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AgentSpendClient(new AgentSpendOptions { BaseUrl = "http://x", ApiKey = "k", MaxBatchBytes = 2 * 1024 * 1024 }));
    }

    private static UsageEvent PreparedEvent() => new()
    {
        AgentName = "bot",
        Provider = "openai",
        Model = "gpt-4o",
        InputTokens = 100,
        Timestamp = FakeTime.Start,
        IdempotencyKey = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
    };
}
