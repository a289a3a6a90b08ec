using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Metrics;

/// <summary>Recent events: newest first over the range's local days, filtered, paged with opaque cursors.</summary>
public sealed class RecentEventTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Theory]
    [InlineData("Asia/Kathmandu")]
    [InlineData("UTC")]
    public async Task Pages_walk_every_matching_event_newest_first_exactly_once(string timezone)
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "recent-" + timezone.Replace('/', '-'), timezone }, "ingest", "read");
        var zone = TimeZoneInfo.FindSystemTimeZoneById(timezone);
        var now = DateTimeOffset.UtcNow;
        // Twenty calls 97 minutes apart (about 31 hours, so over two or three local days); the last two share a timestamp.
        var calls = Enumerable.Range(0, 20)
            .Select(i => (I: i, At: now.AddMinutes(-(i == 19 ? 18 : i) * 97 - 1), Agent: $"a{i % 2}"))
            .ToArray();
        Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new
        {
            events = calls.Select(c => new { agent_name = c.Agent, provider = "p", model = "m", timestamp = c.At.ToString("O"), input_tokens = 1000 + c.I, idempotency_key = $"re{c.I}" }).ToArray(),
        }, key)).Status);
        DateOnly LocalDay(DateTimeOffset at) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(at, zone).DateTime);
        var today = LocalDay(now);
        await app.WaitForEventsAsync(20, Json.Day(today.AddDays(-3)), Json.Day(today), key: key);

        async Task<List<(DateTimeOffset At, long Input)>> WalkAsync(string query, int limit)
        {
            var seen = new List<(DateTimeOffset, long)>();
            string? cursor = null;
            do
            {
                var reply = await app.SendAsync("GET", $"/api/v1/events?{query}&limit={limit}" + (cursor is null ? "" : $"&cursor={cursor}"), key: key);
                Assert.True(reply.Status == 200, reply.Text);
                var items = reply.Body!.Value.GetProperty("items").EnumerateArray().ToArray();
                Assert.InRange(items.Length, 1, limit);
                seen.AddRange(items.Select(e => (DateTimeOffset.Parse(e.Str("timestamp")!), e.Long("input_tokens"))));
                cursor = reply.Body.Value.GetProperty("next_cursor").GetString();
            }
            while (cursor is not null);
            return seen;
        }

        var all = await WalkAsync("range=7d", 3);
        Assert.Equal(calls.Select(c => 1000L + c.I).Order(), all.Select(e => e.Input).Order()); // each once
        Assert.Equal(all.OrderByDescending(e => e.At).Select(e => e.At), all.Select(e => e.At)); // newest first

        var a1 = await WalkAsync("range=7d&agent=a1", 4);
        Assert.Equal(calls.Where(c => c.Agent == "a1").Select(c => 1000L + c.I).Order(), a1.Select(e => e.Input).Order());

        var yesterday = await WalkAsync("range=yesterday", 50);
        Assert.Equal(calls.Where(c => LocalDay(c.At) == today.AddDays(-1)).Select(c => 1000L + c.I).Order(), yesterday.Select(e => e.Input).Order());

        var bad = await app.SendAsync("GET", "/api/v1/events?cursor=zz", key: key);
        Assert.Equal((400, "cursor"), (bad.Status, bad.Body!.Value.GetProperty("errors")[0].Str("field")));
        bad = await app.SendAsync("GET", "/api/v1/events?limit=501", key: key);
        Assert.Equal((400, "limit"), (bad.Status, bad.Body!.Value.GetProperty("errors")[0].Str("field")));
    }
}
