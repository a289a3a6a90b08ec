using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using AgentSpend.Core.Ingest;
using AgentSpend.Core.Storage;
using AgentSpend.Functions.Triggers;
using AgentSpend.Integration.Tests.Infrastructure;
using Cronos;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.CustomHandler;

/// <summary>
/// The app as the Functions host sees it: started with FUNCTIONS_CUSTOMHANDLER_PORT, HTTP requests forwarded
/// unchanged, queue and timer functions invoked as POST /{FunctionName}.
/// </summary>
public sealed class CustomHandlerContractTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>, IAsyncLifetime
{
    private TestApp _host = null!;

    private static readonly FunctionManifest Manifest = FunctionManifest.Load(AppContext.BaseDirectory);

    public async Task InitializeAsync() =>
        _host = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { ["FUNCTIONS_CUSTOMHANDLER_PORT"] = AzuriteFixture.FreePort().ToString() });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public void Every_function_json_is_valid_and_names_what_the_app_uses()
    {
        Assert.Equal(["Admin", "Agents", "AggregateUsage", "Alerts", "Audit", "BudgetPeriods", "Budgets", "Check", "Dashboard", "DeliverAlerts", "Events", "Health", "Import", "Ingest", "Keys", "Metrics", "OpenApi", "Otlp", "Pricing", "PurgeWorkspaces", "Retention", "RunCompletion", "RunEvents", "Runs", "Sessions", "Settings", "Tools", "Workspaces"], Manifest.Functions.Select(f => f.Name));
        // No host prefix: each function.json names its whole route, so /dashboard can sit beside /api.
        Assert.Equal("", Manifest.RoutePrefix);
        foreach (var function in Manifest.Functions)
        {
            var trigger = function.Trigger; // exactly one trigger binding, or this throws
            Assert.False(string.IsNullOrWhiteSpace(trigger.Name));
            switch (trigger.Type)
            {
                case "httpTrigger":
                    Assert.NotNull(trigger.Route);
                    Assert.NotEmpty(trigger.Methods);
                    Assert.Contains(function.Bindings, b => b is { Type: "http", Direction: "out" });
                    break;
                case "queueTrigger":
                    Assert.Contains(trigger.QueueName, StorageNames.Queues);
                    Assert.Contains(_host.Services.GetServices<IQueueFunction>(), f => f.Name == function.Name);
                    break;
                case "timerTrigger":
                    Assert.NotNull(CronExpression.Parse(trigger.Schedule!, CronFormat.IncludeSeconds).GetNextOccurrence(DateTime.UtcNow));
                    Assert.Contains(_host.Services.GetServices<ITimerFunction>(), f => f.Name == function.Name);
                    break;
                default:
                    Assert.Fail($"{function.Name}: unexpected trigger type {trigger.Type}");
                    break;
            }
        }

        Assert.Equal((32, 5), (Manifest.Queues.BatchSize, Manifest.Queues.MaxDequeueCount));
    }

    [Fact]
    public void Every_app_route_is_forwarded_by_a_function_and_every_http_function_reaches_the_app()
    {
        var functionRoutes = Manifest.Functions
            .Where(f => f.Trigger.Type == "httpTrigger")
            .Select(f => (f.Name, Pattern: RouteRegex(string.Join('/', ["", Manifest.RoutePrefix, f.Trigger.Route]).Replace("//", "/", StringComparison.Ordinal)), f.Trigger.Methods))
            .ToArray();
        var appRoutes = _host.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText!.StartsWith("/api/", StringComparison.Ordinal) || e.RoutePattern.RawText!.StartsWith("/dashboard/", StringComparison.Ordinal))
            .Select(e => (Path: Regex.Replace(e.RoutePattern.RawText!, @"\{[^}]+\}", "x"), Methods: e.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods))
            .ToArray();

        Assert.NotEmpty(appRoutes);
        foreach (var route in appRoutes)
        {
            Assert.True(
                functionRoutes.Any(f => f.Pattern.IsMatch(route.Path) && route.Methods.All(m => f.Methods.Contains(m))),
                $"{string.Join(',', route.Methods)} {route.Path} is served by the app but no function.json forwards it");
        }

        foreach (var function in functionRoutes)
        {
            Assert.True(appRoutes.Any(r => function.Pattern.IsMatch(r.Path)), $"function {function.Name} forwards a route the app does not serve");
        }
    }

    [Theory]
    [InlineData("GET", "/api/health", HttpStatusCode.OK)]
    [InlineData("GET", "/dashboard/assets/none-such.js", HttpStatusCode.NotFound)]
    [InlineData("POST", "/api/v1/ingest", HttpStatusCode.Unauthorized)]
    [InlineData("GET", "/api/v1/metrics/overview", HttpStatusCode.Unauthorized)]
    [InlineData("GET", "/api/v1/workspaces", HttpStatusCode.Unauthorized)]
    [InlineData("POST", "/api/v1/keys/abc/rotate", HttpStatusCode.Unauthorized)]
    [InlineData("GET", "/api/v1/audit", HttpStatusCode.Unauthorized)]
    [InlineData("PUT", "/api/v1/pricing/models/anthropic/claude-sonnet-4-5-20250929", HttpStatusCode.Unauthorized)]
    [InlineData("DELETE", "/api/v1/pricing/models/claude-sonnet-4-5", HttpStatusCode.Unauthorized)]
    public async Task Each_http_function_answers_on_the_custom_handler_port(string method, string path, HttpStatusCode expected)
    {
        using var client = _host.CreateClient(null);
        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(expected, response.StatusCode);
        if (expected == HttpStatusCode.OK)
        {
            var health = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("ok", health.Str("status"));
            Assert.Matches(@"^\d+\.\d+\.\d+", health.Str("version"));
        }
    }

    [Fact]
    public async Task A_host_shaped_AggregateUsage_invocation_counts_its_message()
    {
        var day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);
        var text = Assert.Single(IngestMessageCodec.Pack(Enumerable.Range(0, 40).Select(i => EventFactory.Queued(i, day, "s:host-")).ToArray()));

        using var response = await _host.CreateClient(null).PostAsJsonAsync("/AggregateUsage", new
        {
            Data = new { message = text },
            Metadata = new { DequeueCount = 1, Id = "msg-1", InsertionTime = DateTimeOffset.UtcNow },
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(JsonValueKind.Object, body.GetProperty("Outputs").ValueKind);
        Assert.Equal("AggregateUsage handled message msg-1", body.GetProperty("Logs")[0].GetString());
        var overview = await _host.GetJsonAsync($"/api/v1/metrics/overview?from={Json.Day(day)}&to={Json.Day(day)}");
        Assert.Equal(EventFactory.Expected(Enumerable.Range(0, 40)), EventFactory.Actual(overview));
    }

    [Fact]
    public async Task Forty_host_invocations_at_once_are_counted_in_a_few_passes_each_answering_for_its_own_message()
    {
        // As the host runs them: a message per invocation, up to batchSize + newBatchThreshold (32 + 8) at once. The
        // last message repeats the first one's events (a resend): counted once, and its invocation still succeeds.
        var day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-2);
        var messages = Enumerable.Range(0, 39)
            .Select(m => Assert.Single(IngestMessageCodec.Pack(Enumerable.Range(m * 25, 25).Select(i => EventFactory.Queued(i, day, "s:coalesced-")).ToArray())))
            .Append(Assert.Single(IngestMessageCodec.Pack(Enumerable.Range(0, 25).Select(i => EventFactory.Queued(i, day, "s:coalesced-")).ToArray())))
            .ToArray();
        var function = _host.Services.GetServices<IQueueFunction>().OfType<AgentSpend.Functions.AggregateUsage.AggregateUsageFunction>().Single();
        var passesBefore = function.Passes;
        using var client = _host.CreateClient(null);

        var responses = await Task.WhenAll(messages.Select((text, m) => client.PostAsJsonAsync("/AggregateUsage", new
        {
            Data = new { message = text },
            Metadata = new { DequeueCount = 1, Id = $"msg-{m}", InsertionTime = DateTimeOffset.UtcNow },
        })));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var logs = await Task.WhenAll(responses.Select(async r => JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("Logs")[0].GetString()));
        Assert.Equal(Enumerable.Range(0, 40).Select(m => $"AggregateUsage handled message msg-{m}"), logs);
        var overview = await _host.GetJsonAsync($"/api/v1/metrics/overview?from={Json.Day(day)}&to={Json.Day(day)}");
        Assert.Equal(EventFactory.Expected(Enumerable.Range(0, 39 * 25)), EventFactory.Actual(overview));
        Assert.InRange(function.Passes - passesBefore, 1, 10); // one pass per invocation would be 40
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task A_failing_invocation_answers_500_so_the_host_retries_it()
    {
        using var response = await _host.CreateClient(null).PostAsJsonAsync("/AggregateUsage", new { Data = new { message = "b1:not-base64!" }, Metadata = new { DequeueCount = 1 } });

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.StartsWith("AggregateUsage failed:", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("Logs")[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_host_shaped_DeliverAlerts_invocation_settles_its_alert_and_an_unreadable_message_answers_500()
    {
        var alert = Alerts.AlertTesting.BudgetAlert("default", DateTimeOffset.UtcNow);
        await _host.Services.GetRequiredService<Core.Alerts.AlertStore>().RaiseAsync(alert, CancellationToken.None);
        using var client = _host.CreateClient(null);

        using var delivered = await client.PostAsJsonAsync("/DeliverAlerts", new
        {
            Data = new { message = new Core.Alerts.AlertMessage("default", alert.Id).ToJson() },
            Metadata = new { DequeueCount = 1, Id = "alert-msg-1" },
        });
        using var unreadable = await client.PostAsJsonAsync("/DeliverAlerts", new { Data = new { message = "{\"AlertId\":" }, Metadata = new { DequeueCount = 1 } });

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.InternalServerError), (delivered.StatusCode, unreadable.StatusCode));
        Assert.Equal("DeliverAlerts handled message alert-msg-1", JsonDocument.Parse(await delivered.Content.ReadAsStringAsync()).RootElement.GetProperty("Logs")[0].GetString());
        var settled = await _host.GetJsonAsync($"/api/v1/alerts/{alert.Id}");
        Assert.Equal(("no_webhooks", 1L), (settled.Str("status"), settled.Long("attempts")));
    }

    [Fact]
    public async Task A_host_shaped_Retention_invocation_runs()
    {
        using var response = await _host.CreateClient(null).PostAsJsonAsync("/Retention", new { Data = new { timer = new { IsPastDue = false } }, Metadata = new { } });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Retention ran", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("Logs")[0].GetString());
    }

    // A catch-all {*rest} is optional and spans segments, as in the Functions host's (ASP.NET Core) routing.
    private static Regex RouteRegex(string template)
    {
        var escaped = Regex.Escape(Regex.Replace(template, @"/\{\*[^}]+\}", "\u0001")).Replace(@"\{", "{", StringComparison.Ordinal);
        return new("^" + Regex.Replace(escaped, @"\{[^}]+\}", "[^/]+").Replace("\u0001", "(/.*)?", StringComparison.Ordinal) + "$");
    }
}

/// <summary>Standalone mode: the local trigger runner, and no invocation endpoints for strangers.</summary>
public sealed class StandaloneTriggerTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Invocation_endpoints_are_not_served_without_a_functions_host()
    {
        await using var app = await TestApp.StartAsync(azurite);

        using var anonymous = await app.CreateClient(null).PostAsJsonAsync("/AggregateUsage", new { Data = new { message = "x" } });
        using var keyed = await app.CreateClient(TestApp.AdminKey).PostAsJsonAsync("/AggregateUsage", new { Data = new { message = "x" } });

        // Nothing serves the path: without a key that is 401, as for any path (deny by default); with one, 404.
        Assert.Equal((HttpStatusCode.Unauthorized, HttpStatusCode.NotFound), (anonymous.StatusCode, keyed.StatusCode));
    }

    [Fact]
    public async Task A_message_that_always_fails_lands_in_the_poison_queue_after_maxDequeueCount_tries()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var queue = app.Storage.GetQueue(StorageNames.IngestQueue);
        var poison = app.Storage.GetQueue(StorageNames.PoisonQueueOf(StorageNames.IngestQueue));
        await queue.SendAsync("b1:this is not an ingest message");

        var deadline = DateTime.UtcNow.AddSeconds(60);
        IReadOnlyList<PeekedMessage> poisoned = [];
        while (DateTime.UtcNow < deadline && poisoned.Count == 0)
        {
            await Task.Delay(250);
            poisoned = await poison.PeekAsync(32);
        }

        Assert.Equal("b1:this is not an ingest message", Assert.Single(poisoned).Text);
        Assert.Equal(0, await queue.GetApproximateCountAsync());
    }

    [Fact]
    public async Task The_listener_retries_a_failed_message_and_moves_it_only_on_the_last_try()
    {
        var queue = azurite.Storage.GetQueue("listener-" + Guid.NewGuid().ToString("N")[..8]);
        var poison = azurite.Storage.GetQueue(StorageNames.PoisonQueueOf(queue.Name));
        await queue.CreateIfNotExistsAsync();
        await poison.CreateIfNotExistsAsync();
        await queue.SendAsync("fails twice");
        var function = new FailingFunction(failures: 2);
        var listener = new QueueTriggerListener(function, queue, poison, new QueueTriggerSettings(32, 3, TimeSpan.Zero, TimeSpan.FromSeconds(1)), TimeSpan.FromSeconds(5),
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(1, await listener.PollOnceAsync(CancellationToken.None));
        }

        Assert.Equal([1L, 2L, 3L], function.DequeueCounts);
        Assert.Equal(0, await queue.GetApproximateCountAsync());
        Assert.Empty(await poison.PeekAsync(32)); // succeeded on its third and last allowed try
    }

    private sealed class FailingFunction(int failures) : IQueueFunction
    {
        public List<long> DequeueCounts { get; } = [];

        public string Name => "Failing";

        public Task<IReadOnlyList<Exception?>> RunAsync(IReadOnlyList<QueueInvocation> messages, CancellationToken cancellationToken)
        {
            DequeueCounts.AddRange(messages.Select(m => m.DequeueCount));
            return Task.FromResult<IReadOnlyList<Exception?>>(messages.Select(_ => DequeueCounts.Count <= failures ? new InvalidOperationException("boom") : null).ToArray());
        }
    }
}
