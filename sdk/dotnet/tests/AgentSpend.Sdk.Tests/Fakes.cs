using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json;
using AgentSpend.Sdk;

namespace AgentSpend.Sdk.Tests;

/// <summary>One request as the fake server saw it.</summary>
internal sealed class Captured
{
    public required HttpMethod Method { get; init; }
    public required Uri Uri { get; init; }
    public string? Authorization { get; init; }
    public string? UserAgent { get; init; }
    public string? ContentType { get; init; }
    public string? ContentEncoding { get; init; }
    public required byte[] Raw { get; init; }

    /// <summary>The body as text (gunzipped when it was sent gzip-compressed).</summary>
    public string Text => Encoding.UTF8.GetString(ContentEncoding == "gzip" ? Gunzip(Raw) : Raw);

    public JsonElement Json => JsonDocument.Parse(Text).RootElement.Clone();

    public JsonElement[] Events => Json.GetProperty("events").EnumerateArray().ToArray();

    public static byte[] Gunzip(byte[] data)
    {
        using var input = new GZipStream(new MemoryStream(data), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }
}

/// <summary>A fake AgentSpend server: answers each request with <c>respond(request, n)</c> (n counts from 1).</summary>
internal sealed class FakeHandler : HttpMessageHandler
{
    private readonly Func<Captured, int, CancellationToken, Task<HttpResponseMessage>> respond;
    private readonly List<Captured> requests = new();
    private readonly SemaphoreSlim arrived = new(0);

    public FakeHandler(Func<Captured, int, CancellationToken, Task<HttpResponseMessage>> respond) => this.respond = respond;

    public FakeHandler(Func<Captured, int, HttpResponseMessage> respond)
        : this((c, n, _) => Task.FromResult(respond(c, n)))
    {
    }

    /// <summary>Answers every request 202 with everything accepted.</summary>
    public static FakeHandler Accepting() => new((c, _) => c.Uri.AbsolutePath == "/api/v1/ingest"
        ? Reply(202, $"{{\"accepted\":{c.Events.Length},\"rejected\":0,\"errors\":[]}}")
        : Reply(200, "{\"allowed\":true,\"remaining\":{}}"));

    public IReadOnlyList<Captured> Requests
    {
        get
        {
            lock (requests)
            {
                return requests.ToList();
            }
        }
    }

    public static HttpResponseMessage Reply(int status, string? json = null, string? retryAfter = null)
    {
        var response = new HttpResponseMessage((HttpStatusCode)status);
        if (json is not null)
        {
            response.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        if (retryAfter is not null)
        {
            response.Headers.TryAddWithoutValidation("Retry-After", retryAfter);
        }

        return response;
    }

    /// <summary>Waits until <paramref name="count"/> requests have arrived (fails after 10 s).</summary>
    public async Task WaitForAsync(int count, int timeoutMs = 10_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (Requests.Count < count)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"{Requests.Count} requests arrived, {count} expected");
            }

            await arrived.WaitAsync(left);
        }
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var raw = request.Content is null ? Array.Empty<byte>() : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        var captured = new Captured
        {
            Method = request.Method,
            Uri = request.RequestUri!,
            Authorization = request.Headers.Authorization?.ToString(),
            UserAgent = request.Headers.TryGetValues("User-Agent", out var ua) ? string.Join(" ", ua) : null,
            ContentType = request.Content?.Headers.ContentType?.ToString(),
            ContentEncoding = request.Content is null ? null : string.Join(",", request.Content.Headers.ContentEncoding) is { Length: > 0 } enc ? enc : null,
            Raw = raw,
        };
        int n;
        lock (requests)
        {
            requests.Add(captured);
            n = requests.Count;
        }

        arrived.Release();
        return await respond(captured, n, cancellationToken);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            arrived.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>A clock that moves only when the client waits (or the test moves it).</summary>
internal sealed class FakeTime
{
    public static readonly DateTimeOffset Start = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    public TimeSpan Now { get; set; }

    public List<TimeSpan> Delays { get; } = new();

    public double RandomValue { get; set; } = 0.5;

    public Seams Seams => new()
    {
        Elapsed = () => Now,
        UtcNow = () => Start + Now,
        Random = () => RandomValue,
        Delay = (d, ct) =>
        {
            ct.ThrowIfCancellationRequested();
            lock (Delays)
            {
                Delays.Add(d);
            }

            Now += d;
            return Task.CompletedTask;
        },
    };
}

internal static class TestClient
{
    public const string Key = "as_test_secret_key_123";

    public static AgentSpendClient Create(HttpMessageHandler handler, Action<AgentSpendOptions>? configure = null, Seams? seams = null)
    {
        var options = new AgentSpendOptions
        {
            BaseUrl = "http://agentspend.test/",
            ApiKey = Key,
            AgentName = "bot",
            FlushInterval = TimeSpan.FromHours(1),
        };
        configure?.Invoke(options);
        return new AgentSpendClient(options, () => new HttpClient(handler, disposeHandler: false), null, seams ?? new FakeTime().Seams);
    }

    public static UsageEvent Event(int i = 0) => new() { Provider = "openai", Model = "gpt-4o", InputTokens = 100 + i, OutputTokens = 10 };
}
