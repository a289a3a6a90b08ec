using System.Net;
using AgentSpend.Functions.Hosting;
using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Otlp;

/// <summary>An instance reads a bounded number of large uploads at once; a few more wait, the rest are told to come back.</summary>
public sealed class BodyHeavyLimitTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    /// <summary>A body that sends one byte, then waits until it is let go: its request holds its place meanwhile.</summary>
    private sealed class HeldBody(Task release) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync("{"u8.ToArray());
            await stream.FlushAsync();
            await release;
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    [Fact]
    public async Task Uploads_past_those_in_flight_and_waiting_get_503_busy_and_the_others_go_through()
    {
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" });
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "uploads" }, "ingest");
        var release = new TaskCompletionSource();
        // With Expect: 100-continue a body goes out only once the server starts reading it, as large uploads are sent:
        // a refused request gets its answer instead of a reset connection halfway through its body.
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 100, Expect100ContinueTimeout = TimeSpan.FromSeconds(30) })
        {
            BaseAddress = app.BaseAddress,
            Timeout = TimeSpan.FromSeconds(60),
        };
        client.DefaultRequestHeaders.Add("x-api-key", key);
        client.DefaultRequestHeaders.ExpectContinue = true;
        const int Extra = 3;
        var total = KeyRateLimiting.MaxBodyHeavyInFlight + KeyRateLimiting.MaxBodyHeavyWaiting + Extra;

        var uploads = Enumerable.Range(0, total).Select(_ =>
        {
            var content = new HeldBody(release.Task);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            return client.PostAsync("/api/otlp/v1/logs", content);
        }).ToArray();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (uploads.Count(u => u.IsCompleted) < Extra && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        var earlyTasks = uploads.Where(u => u.IsCompleted).ToArray();
        var early = earlyTasks.Select(u => u.Result).ToArray();
        var health = await app.SendAsync("GET", "/api/health", key: null); // small requests are not held up
        release.SetResult();
        var rest = await Task.WhenAll(uploads.Except(earlyTasks));

        Assert.Equal(Extra, early.Length);
        Assert.All(early, r => Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode));
        Assert.All(early, r => Assert.Equal(TimeSpan.FromSeconds(1), r.Headers.RetryAfter?.Delta));
        Assert.Contains("\"reason\":\"busy\"", await early[0].Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(200, health.Status);
        Assert.Equal(total - Extra, rest.Length);
        Assert.All(rest, r => Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode)); // read to the end, then refused as the broken JSON it is
    }
}
