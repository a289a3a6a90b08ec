using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Metrics;

/// <summary>Provider and model concentration: shares, the Herfindahl–Hirschman index and the over-reliance warning.</summary>
public sealed class ConcentrationTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly string Today = DateOnly.FromDateTime(DateTime.UtcNow).ToString("yyyy-MM-dd");

    private static object Call(string provider, string model, int i, decimal cost, int input, int output) => new
    {
        agent_name = "a", provider, model, timestamp = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O"), input_tokens = input, output_tokens = output, cost_usd = cost, idempotency_key = $"{model}-{i}",
    };

    /// <summary>Anthropic: 4 calls of $2 (3 Sonnet, 1 Haiku), 1,100 tokens each; OpenAI and Google one $1 call each, 500 and 100 tokens.</summary>
    private static readonly object[] Calls =
    [
        .. Enumerable.Range(0, 3).Select(i => Call("anthropic", "claude-sonnet-4-5", i, 2m, 1_000, 100)),
        Call("anthropic", "claude-haiku-4-5", 0, 2m, 1_000, 100),
        Call("openai", "gpt-4.1", 0, 1m, 500, 0),
        Call("google", "gemini-2.5-pro", 0, 1m, 100, 0),
    ];

    [Theory]
    [InlineData("UTC")]
    [InlineData("Asia/Kolkata")]
    public async Task Shares_and_HHI_are_exact_and_a_provider_at_the_threshold_is_warned_about(string timezone)
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "concentration-" + timezone.Replace('/', '-'), timezone }, "ingest", "read");
        Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new { events = Calls }, key)).Status);
        var localToday = Json.Day(DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow.AddMinutes(-1), TimeZoneInfo.FindSystemTimeZoneById(timezone)).DateTime));
        await app.WaitForEventsAsync(6, localToday, localToday, key: key);

        var reply = await app.SendAsync("GET", "/api/v1/metrics/concentration?range=today", key: key);

        Assert.Equal(200, reply.Status);
        var body = reply.Body!.Value;
        Assert.Equal(("today", 70L, 5L), (body.Str("range"), body.Long("threshold_pct"), body.Long("min_events")));
        var providers = body.GetProperty("providers");
        // Cost 8 / 1 / 1 of 10; tokens 4,400 / 500 / 100 of 5,000; calls 4 / 1 / 1 of 6.
        Assert.Equal(
            [("anthropic", 80m, 88m, 66.67m), ("google", 10m, 2m, 16.67m), ("openai", 10m, 10m, 16.67m)],
            providers.GetProperty("items").EnumerateArray().Select(i => (i.Str("key")!, i.Dec("cost_share_pct"), i.Dec("token_share_pct"), i.Dec("call_share_pct"))));
        var hhi = providers.GetProperty("hhi");
        Assert.Equal((6_600m, 7_848m, 5_000m), (hhi.Dec("cost"), hhi.Dec("tokens"), hhi.Dec("calls"))); // 80²+10²+10²; 88²+10²+2²; (200/3)²+2(50/3)²
        var modelHhi = body.GetProperty("models").GetProperty("hhi");
        Assert.Equal((4_200m, 4_944m), (modelHhi.Dec("cost"), modelHhi.Dec("tokens"))); // 60²+20²+10²+10²; 66²+22²+10²+2²
        Assert.Equal(
            [("anthropic", "cost", 80m), ("anthropic", "tokens", 88m)],
            body.GetProperty("warnings").EnumerateArray().Select(w => (w.Str("provider")!, w.Str("measure")!, w.Dec("share_pct"))));
    }

    [Fact]
    public async Task No_warning_below_the_configured_threshold_or_with_fewer_than_five_calls()
    {
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { ["AGENTSPEND_CONCENTRATION_THRESHOLD_PCT"] = "90" });
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "concentration-90" }, "ingest", "read");
        var (_, fewKey) = await app.CreateWorkspaceAsync(new { name = "concentration-few" }, "ingest", "read");
        Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new { events = Calls }, key)).Status);
        Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new { events = Calls.Take(4).ToArray() }, fewKey)).Status); // all Anthropic, 4 calls
        await app.WaitForEventsAsync(6, Today, Today, key: key);
        await app.WaitForEventsAsync(4, Today, Today, key: fewKey);

        var high = (await app.SendAsync("GET", "/api/v1/metrics/concentration?range=today", key: key)).Body!.Value;
        var few = (await app.SendAsync("GET", "/api/v1/metrics/concentration?range=today", key: fewKey)).Body!.Value;
        var bad = await app.SendAsync("GET", "/api/v1/metrics/concentration?range=fortnight", key: key);

        Assert.Equal((90L, 0), (high.Long("threshold_pct"), high.GetProperty("warnings").GetArrayLength()));
        Assert.Equal((10_000m, 0), (few.GetProperty("providers").GetProperty("hhi").Dec("cost"), few.GetProperty("warnings").GetArrayLength()));
        Assert.Equal((400, "range"), (bad.Status, bad.Body!.Value.GetProperty("errors")[0].Str("field")));
    }
}
