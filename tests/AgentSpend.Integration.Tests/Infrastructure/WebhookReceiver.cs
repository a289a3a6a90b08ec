using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentSpend.Integration.Tests.Infrastructure;

/// <summary>One request a <see cref="WebhookReceiver"/> received, and when (on a monotonic clock).</summary>
public sealed record ReceivedPost(string Path, IReadOnlyDictionary<string, string> Headers, string? ContentType, byte[] Body, TimeSpan At, int AnsweredWith);

/// <summary>
/// A webhook endpoint on 127.0.0.1 (a free port) that records every request and answers each path with the status
/// <c>answer(path, n)</c> gives for its n-th request (1-based).
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ConcurrentQueue<ReceivedPost> _posts = new();
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);

    private WebhookReceiver(Func<string, int, int> answer)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.Run(async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            var path = context.Request.Path.Value ?? "";
            var status = answer(path, _counts.AddOrUpdate(path, 1, (_, n) => n + 1));
            _posts.Enqueue(new ReceivedPost(
                path,
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
                context.Request.ContentType,
                body.ToArray(),
                _clock.Elapsed,
                status));
            context.Response.StatusCode = status;
        });
    }

    public Uri BaseAddress { get; private set; } = null!;

    public IReadOnlyList<ReceivedPost> Posts => [.. _posts];

    public IReadOnlyList<ReceivedPost> PostsTo(string path) => [.. _posts.Where(p => p.Path == path)];

    public string Url(string path) => new Uri(BaseAddress, path).ToString();

    public static async Task<WebhookReceiver> StartAsync(Func<string, int, int> answer)
    {
        var receiver = new WebhookReceiver(answer);
        await receiver._app.StartAsync();
        receiver.BaseAddress = new Uri(receiver._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
