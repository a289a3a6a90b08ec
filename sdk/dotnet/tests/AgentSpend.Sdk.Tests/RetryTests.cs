using AgentSpend.Sdk;
using Xunit;

namespace AgentSpend.Sdk.Tests;

public class RetryTests
{
    private const string Accepted1 = "{\"accepted\":1,\"rejected\":0,\"errors\":[]}";

    [Fact]
    public async Task RetryAfterThenBackoffWithTheSameBodyAndKeys()
    {
        var time = new FakeTime { RandomValue = 0.5 };
        using var server = new FakeHandler((_, n) => n switch
        {
            1 => FakeHandler.Reply(503, "{\"reason\":\"queue_unavailable\"}", retryAfter: "7"),
            2 => FakeHandler.Reply(500),
            3 => throw new HttpRequestException("connection refused"),
            _ => FakeHandler.Reply(202, "{\"accepted\":2,\"rejected\":0,\"errors\":[]}"),
        });
        await using var client = TestClient.Create(server, o => o.InitialBackoff = TimeSpan.FromSeconds(1), time.Seams);
        client.Record(TestClient.Event(0));
        client.Record(TestClient.Event(1));

        await client.FlushAsync();

        Assert.Equal(4, server.Requests.Count);
        // Retry-After: 7 s; then full jitter (random 0.5) under caps of 1 s * 2^(n-1): the 2nd retry's cap is 2 s, the 3rd's 4 s.
        Assert.Equal(new[] { TimeSpan.FromSeconds(7), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2) }, time.Delays.ToArray());
        var bodies = server.Requests.Select(r => r.Text).Distinct().ToArray();
        Assert.Single(bodies);
        Assert.True(server.Requests.All(r => r.Raw.SequenceEqual(server.Requests[0].Raw)));
        var keys = server.Requests.Select(r => string.Join(",", r.Events.Select(e => e.GetProperty("idempotency_key").GetString()))).Distinct();
        Assert.Single(keys);
        Assert.Equal(3, client.Retries);
        Assert.Equal(2, client.Delivered);
        Assert.Equal(0, client.Dropped);
    }

    [Fact]
    public async Task RetryAfterAsAnHttpDate()
    {
        var time = new FakeTime();
        var at = (FakeTime.Start + TimeSpan.FromSeconds(30)).ToString("r");
        using var server = new FakeHandler((_, n) => n == 1
            ? FakeHandler.Reply(429, "{\"reason\":\"daily_limit\"}", retryAfter: at)
            : FakeHandler.Reply(202, Accepted1));
        await using var client = TestClient.Create(server, null, time.Seams);
        client.Record(TestClient.Event());
        await client.FlushAsync();

        Assert.Equal(new[] { TimeSpan.FromSeconds(30) }, time.Delays.ToArray());
        Assert.Equal(1, client.Delivered);
    }

    [Fact]
    public async Task BackoffCapsDoubleUpToTheMaximum()
    {
        var time = new FakeTime { RandomValue = 0.999 };
        using var server = new FakeHandler((_, n) => n <= 6 ? FakeHandler.Reply(502) : FakeHandler.Reply(202, Accepted1));
        await using var client = TestClient.Create(
            server,
            o =>
            {
                o.InitialBackoff = TimeSpan.FromMilliseconds(100);
                o.MaxBackoff = TimeSpan.FromMilliseconds(1000);
            },
            time.Seams);
        client.Record(TestClient.Event());
        await client.FlushAsync();

        Assert.Equal(new[] { 99, 199, 399, 799, 999, 999 }, time.Delays.Select(d => (int)d.TotalMilliseconds).ToArray());
        Assert.Equal(6, client.Retries);
    }

    [Fact]
    public async Task GivesUpWhenRetryingWouldPassMaxRetryTime()
    {
        var time = new FakeTime();
        var drops = new List<DroppedEvents>();
        using var server = new FakeHandler((_, n) => n == 1
            ? FakeHandler.Reply(503, "{\"reason\":\"storage_unavailable\"}", retryAfter: "5")
            : FakeHandler.Reply(503, "{\"reason\":\"storage_unavailable\"}", retryAfter: "60"));
        await using var client = TestClient.Create(
            server,
            o =>
            {
                o.MaxRetryTime = TimeSpan.FromSeconds(30);
                o.OnDropped = drops.Add;
            },
            time.Seams);
        client.Record(TestClient.Event());
        client.Record(TestClient.Event(1));
        await client.FlushAsync();

        Assert.Equal(2, server.Requests.Count);
        Assert.Equal(new[] { TimeSpan.FromSeconds(5) }, time.Delays.ToArray());
        var drop = Assert.Single(drops);
        Assert.Equal(DropReasons.GaveUp, drop.Reason);
        Assert.Equal(503, drop.Status);
        Assert.Equal("storage_unavailable", drop.Message);
        Assert.Equal(2, drop.Attempts);
        Assert.Equal(2, drop.Events.Count);
        Assert.Equal(2, client.Dropped);
        Assert.Equal(1, client.Retries);
    }

    [Theory]
    [InlineData(401)]
    [InlineData(403)]
    [InlineData(413)]
    public async Task OtherClientErrorsAreNotRetried(int status)
    {
        var time = new FakeTime();
        var drops = new List<DroppedEvents>();
        using var server = new FakeHandler((_, _) => FakeHandler.Reply(status, "{\"title\":\"no\"}"));
        await using var client = TestClient.Create(server, o => o.OnDropped = drops.Add, time.Seams);
        client.Record(TestClient.Event());
        await client.FlushAsync();

        Assert.Single(server.Requests);
        Assert.Empty(time.Delays);
        var drop = Assert.Single(drops);
        Assert.Equal(DropReasons.HttpError, drop.Reason);
        Assert.Equal(status, drop.Status);
        Assert.Equal("no", drop.Message);
        Assert.Equal(1, client.Dropped);
    }

    [Fact]
    public async Task PartlyRejectedBatchReportsTheRejectedAndKeepsTheRest()
    {
        var reports = new List<IReadOnlyList<RejectedEvent>>();
        using var server = new FakeHandler((_, _) => FakeHandler.Reply(
            202,
            "{\"accepted\":1,\"rejected\":2,\"errors\":[{\"index\":1,\"field\":\"model\",\"reason\":\"required\"},{\"index\":2,\"field\":\"timestamp\",\"reason\":\"too_old: older than 90 days\"},{\"index\":2,\"field\":\"tags\",\"reason\":\"too many\"},{\"index\":9,\"field\":\"x\",\"reason\":\"out of range\"}]}"));
        await using var client = TestClient.Create(server, o => o.OnRejected = reports.Add);
        client.Record(TestClient.Event(0));
        client.Record(TestClient.Event(1));
        client.Record(TestClient.Event(2));
        await client.FlushAsync();

        var rejected = Assert.Single(reports);
        Assert.Equal(2, rejected.Count);
        Assert.Equal(1, rejected[0].Index);
        Assert.Equal("model", rejected[0].Field);
        Assert.Equal("required", rejected[0].Reason);
        Assert.Equal(101, rejected[0].Event.InputTokens);
        Assert.Equal(202, rejected[0].Status);
        Assert.Equal(2, rejected[1].Index);
        Assert.Equal("timestamp", rejected[1].Field);
        Assert.Equal("too_old: older than 90 days; tags: too many", rejected[1].Reason);
        Assert.Equal(1, client.Delivered);
        Assert.Equal(2, client.Rejected);
        Assert.Equal(0, client.Dropped);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task WholeBatchRefusedReportsEveryEvent()
    {
        var reports = new List<IReadOnlyList<RejectedEvent>>();
        using var server = new FakeHandler((_, _) => FakeHandler.Reply(
            400,
            "{\"accepted\":0,\"rejected\":2,\"errors\":[{\"index\":0,\"field\":\"provider\",\"reason\":\"required\"},{\"index\":1,\"field\":\"provider\",\"reason\":\"required\"}]}"));
        await using var client = TestClient.Create(server, o => o.OnRejected = reports.Add);
        client.Record(new UsageEvent { Model = "m" });
        client.Record(new UsageEvent { Model = "n" });
        await client.FlushAsync();

        var rejected = Assert.Single(reports);
        Assert.Equal(new[] { 0, 1 }, rejected.Select(r => r.Index).ToArray());
        Assert.All(rejected, r => Assert.Equal("provider|required|400", $"{r.Field}|{r.Reason}|{r.Status}"));
        Assert.Equal(2, client.Rejected);
        Assert.Equal(0, client.Delivered);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task AServerWithoutGzipGetsPlainJsonFromThenOn()
    {
        var reports = new List<IReadOnlyList<RejectedEvent>>();
        using var server = new FakeHandler((c, _) => c.ContentEncoding == "gzip"
            ? FakeHandler.Reply(400, "{\"reason\":\"malformed JSON\"}")
            : FakeHandler.Reply(202, "{\"accepted\":1,\"rejected\":0,\"errors\":[]}"));
        await using var client = TestClient.Create(server, o => o.OnRejected = reports.Add);
        client.Record(TestClient.Event());
        await client.FlushAsync();
        client.Record(TestClient.Event(1));
        await client.FlushAsync();

        Assert.Equal(new[] { "gzip", null, null }, server.Requests.Select(r => r.ContentEncoding).ToArray());
        Assert.Equal(server.Requests[0].Text, server.Requests[1].Text);
        Assert.Equal(2, client.Delivered);
        Assert.Empty(reports);
    }

    [Fact]
    public async Task ARequestThatTimesOutIsRetried()
    {
        var time = new FakeTime();
        using var server = new FakeHandler(async (_, n, ct) =>
        {
            if (n == 1)
            {
                await Task.Delay(Timeout.Infinite, ct);
            }

            return FakeHandler.Reply(202, Accepted1);
        });
        await using var client = TestClient.Create(server, o => o.RequestTimeout = TimeSpan.FromMilliseconds(200), time.Seams);
        client.Record(TestClient.Event());
        await client.FlushAsync();

        Assert.Equal(2, server.Requests.Count);
        Assert.Equal(1, client.Retries);
        Assert.Equal(1, client.Delivered);
    }

    [Theory]
    [InlineData("7", 7000)]
    [InlineData(" 0 ", 0)]
    [InlineData("1.5", 1500)]
    [InlineData("Fri, 04 Dec 2026 12:00:45 GMT", 45000)]
    [InlineData("Fri, 04 Dec 2026 11:00:00 GMT", 0)]
    public void RetryAfterParses(string value, int expectedMs)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), RetryAfter.Parse(value, FakeTime.Start));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("soon")]
    [InlineData("-3")]
    public void RetryAfterIgnoresWhatItCannotRead(string? value)
    {
        Assert.Null(RetryAfter.Parse(value, FakeTime.Start));
    }
}
