using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using AgentSpend.Core.Storage;
using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentSpend.Integration.Tests.Infrastructure;

/// <summary>An HTTP answer: status, JSON body (when JSON), raw text, media type and Retry-After.</summary>
public sealed record Reply(int Status, JsonElement? Body, string Text, string? MediaType, TimeSpan? RetryAfter);

/// <summary>The real app, composed as Program.cs composes it, on a free loopback port against a test Azurite.</summary>
public sealed class TestApp : IAsyncDisposable
{
    public const string AdminKey = "as_test_admin_key_0123456789abcdefghijklmnop";

    /// <summary>The key that encrypts stored secrets in every test app: fixed, so an app restarted on the same Azurite reads them.</summary>
    public const string SecretKey = "dGVzdC1zZWNyZXQta2V5LW9mLTMyLWJ5dGVzLWxvbmc=";

    private readonly WebApplication _app;

    private TestApp(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
        Client = CreateClient(AdminKey);
    }

    public Uri BaseAddress { get; }

    /// <summary>Every line the app logged at Information or above.</summary>
    public IReadOnlyCollection<string> LogLines { get; private init; } = [];

    public HttpClient Client { get; }

    public IServiceProvider Services => _app.Services;

    public IStorageProvider Storage => Services.GetRequiredService<IStorageProvider>();

    /// <param name="clock">The app's clock, when a test must move time (see <see cref="ShiftedClock"/>).</param>
    /// <param name="services">Replaces services after the app's own are registered (the last registration wins).</param>
    public static async Task<TestApp> StartAsync(
        AzuriteFixture azurite, IDictionary<string, string?>? settings = null, TimeProvider? clock = null, Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, EnvironmentName = "Testing" });
        var config = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["AGENTSPEND_ADMIN_KEY"] = AdminKey,
            ["AGENTSPEND_SECRET_KEY"] = SecretKey,
            ["AGENTSPEND_QUEUE_LEASE_SECONDS"] = "5",
            ["AGENTSPEND_WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = "true", // the tests' receivers listen on 127.0.0.1
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            config[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(config);
        builder.Logging.ClearProviders();
        var captured = new CapturingLoggerProvider();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter<Microsoft.Extensions.Logging.Console.ConsoleLoggerProvider>(null, LogLevel.Warning);
        builder.Logging.AddProvider(captured);
        builder.AddAgentSpend();
        if (clock is not null)
        {
            builder.Services.AddSingleton(clock);
        }

        services?.Invoke(builder.Services);

        // Port 0: Kestrel takes a free port as it binds, so parallel test apps cannot race for one.
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapAgentSpend();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new TestApp(app, new Uri(address)) { LogLines = captured.Lines };
    }

    public HttpClient CreateClient(string? apiKey)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await Client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path} answered {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    public async Task<JsonElement> IngestAsync(object body)
    {
        using var response = await Client.PostAsJsonAsync("/api/v1/ingest", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == 202, $"ingest answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Waits until the ingest queue is drained and the overview of [from, to] counts <paramref name="events"/> events.</summary>
    public Task<JsonElement> WaitForEventsAsync(long events, string from, string to, TimeSpan? timeout = null, string key = AdminKey) =>
        WaitForOverviewAsync(o => o.GetProperty("events").GetInt64() >= events, from, to, timeout, key);

    /// <summary>Waits until the ingest queue is drained and the overview of [from, to] satisfies <paramref name="done"/>; returns the last overview read.</summary>
    public async Task<JsonElement> WaitForOverviewAsync(Func<JsonElement, bool> done, string from, string to, TimeSpan? timeout = null, string key = AdminKey)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        JsonElement overview;
        do
        {
            var reply = await SendAsync("GET", $"/api/v1/metrics/overview?from={from}&to={to}", key: key);
            overview = reply.Body ?? throw new InvalidOperationException($"overview answered {reply.Status}: {reply.Text}");
            if (done(overview) && await Storage.GetQueue(StorageNames.IngestQueue).GetApproximateCountAsync() == 0)
            {
                return overview;
            }

            await Task.Delay(100);
        }
        while (DateTime.UtcNow < deadline);

        return overview;
    }

    /// <summary>Sends a request with the given key (none when null) and JSON body; returns the status and the parsed body (null when empty).</summary>
    public async Task<Reply> SendAsync(string method, string path, object? body = null, string? key = AdminKey)
    {
        using var client = CreateClient(key);
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is string raw)
        {
            request.Content = new StringContent(raw, System.Text.Encoding.UTF8, "application/json");
        }
        else if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return new Reply((int)response.StatusCode, text.Length == 0 || !(response.Content.Headers.ContentType?.MediaType?.Contains("json") ?? false) ? null : JsonDocument.Parse(text).RootElement.Clone(), text,
            response.Content.Headers.ContentType?.MediaType, response.Headers.RetryAfter?.Delta);
    }

    /// <summary>Creates a workspace as the instance admin and issues it an admin key.</summary>
    public async Task<(string Id, string AdminKey)> CreateWorkspaceAsync(object body, params string[] scopes)
    {
        var created = await SendAsync("POST", "/api/v1/workspaces", body);
        Assert.True(created.Status == 201, created.Text);
        var id = created.Body!.Value.Str("id")!;
        var key = await SendAsync("POST", $"/api/v1/workspaces/{id}/keys", new { name = "admin", scopes = scopes.Length == 0 ? ["admin"] : scopes });
        Assert.True(key.Status == 201, key.Text);
        return (id, key.Body!.Value.Str("key")!);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
