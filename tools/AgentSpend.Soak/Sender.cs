using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace AgentSpend.Soak;

/// <summary>An answer from an instance.</summary>
internal sealed record Reply(int Status, string Text, string? MediaType, TimeSpan? RetryAfter)
{
    public JsonElement? Json()
    {
        if (Text.Length == 0 || (Text[0] != '{' && Text[0] != '['))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(Text);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>How a request ended after its retries.</summary>
/// <param name="Reply">The answer that ended it (one of the expected statuses), or null.</param>
/// <param name="MayHaveArrived">Failed attempts that the app may have acted on before failing (a lost connection, a timeout, a 5xx, even a refused connection).</param>
/// <param name="Failure">Why it ended without an expected answer: an unexpected status, or retries running out.</param>
internal sealed record SendResult(Reply? Reply, int Attempts, int MayHaveArrived, string? Failure)
{
    public bool Ok => Reply is not null;
}

/// <summary>Counters of one kind of request.</summary>
internal sealed class KindStats
{
    public long Requests;
    public long Attempts;
    public long Refused;
    public long Lost;
    public long ServerErrors;
    public long RateLimited;
    public long GaveUp;
    public long Unexpected;

    public long Retries => Attempts - Requests;
}

/// <summary>
/// Sends a request until it gets an expected answer, as a careful client does: a refused connection (the instance
/// was just killed), a lost one or a timeout, a 5xx (storage outage) and a 429 are tried again with the same body,
/// on the other instance, after a short backoff (a 429's Retry-After), within a bounded number of attempts and time.
/// Any other status ends the request as a failure, with its answer.
/// </summary>
internal sealed partial class Sender : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(180);
    private const int MaxAttempts = 400;

    private readonly Cluster _cluster;
    private readonly ILogger _logger;
    private readonly HttpClient _http;
    private readonly Random _jitter;

    public Sender(Cluster cluster, int seed, ILogger logger)
    {
        _cluster = cluster;
        _logger = logger;
        _jitter = new Random(seed);
        _http = new HttpClient(new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(3),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionLifetime = TimeSpan.FromSeconds(30),
            MaxConnectionsPerServer = 32,
        })
        {
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public ConcurrentDictionary<string, KindStats> Stats { get; } = new(StringComparer.Ordinal);

    public Task<SendResult> PostJsonAsync(string kind, string key, string path, string json, params int[] expected) =>
        SendAsync(kind, key, HttpMethod.Post, path, Encoding.UTF8.GetBytes(json), "application/json", expected);

    /// <param name="final">An answer outside <paramref name="expected"/> that still ends the request (a check refused by its budget).</param>
    public async Task<SendResult> SendAsync(string kind, string key, HttpMethod method, string path, byte[]? body, string? contentType, int[] expected, Func<Reply, bool>? final = null)
    {
        var stats = Stats.GetOrAdd(kind, _ => new KindStats());
        Interlocked.Increment(ref stats.Requests);
        var instance = _cluster.NextInstance();
        var deadline = DateTime.UtcNow + Deadline;
        var mayHaveArrived = 0;
        for (var attempt = 1; ; attempt++)
        {
            Interlocked.Increment(ref stats.Attempts);
            using var request = new HttpRequestMessage(method, new Uri(_cluster.Address(instance), path));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            if (body is not null)
            {
                request.Content = new ByteArrayContent(body);
                request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType!);
            }

            string reason;
            TimeSpan? wait = null;
            try
            {
                using var response = await _http.SendAsync(request);
                var reply = new Reply((int)response.StatusCode, await response.Content.ReadAsStringAsync(),
                    response.Content.Headers.ContentType?.MediaType, response.Headers.RetryAfter?.Delta);
                if (expected.Contains(reply.Status) || final?.Invoke(reply) == true)
                {
                    return new SendResult(reply, attempt, mayHaveArrived, null);
                }

                if (reply.Status >= 500)
                {
                    Interlocked.Increment(ref stats.ServerErrors);
                    mayHaveArrived++;
                    reason = $"{reply.Status}";
                }
                else if (reply.Status == 429)
                {
                    Interlocked.Increment(ref stats.RateLimited);
                    wait = reply.RetryAfter is { } after ? TimeSpan.FromSeconds(Math.Clamp(after.TotalSeconds, 0.2, 5)) : TimeSpan.FromSeconds(1);
                    reason = "429";
                }
                else
                {
                    Interlocked.Increment(ref stats.Unexpected);
                    var text = reply.Text[..Math.Min(reply.Text.Length, 500)];
                    LogUnexpected(_logger, kind, method.Method, path, reply.Status, text);
                    return new SendResult(null, attempt, mayHaveArrived, $"{method} {path} answered {reply.Status}: {text}");
                }
            }
            catch (HttpRequestException ex) when (ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused })
            {
                // Not proof that nothing arrived: when a reused connection ends before the answer (the instance was
                // killed while working on the request), the handler sends the request again on a new connection by
                // itself, and only that second try's refusal is seen here.
                Interlocked.Increment(ref stats.Refused);
                mayHaveArrived++;
                reason = "connection refused";
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
            {
                // The request may have reached the app: it may have acted on it before the answer was lost.
                Interlocked.Increment(ref stats.Lost);
                mayHaveArrived++;
                reason = ex.GetType().Name + ": " + ex.Message;
            }

            if (attempt >= MaxAttempts || DateTime.UtcNow > deadline)
            {
                Interlocked.Increment(ref stats.GaveUp);
                LogGaveUp(_logger, kind, method.Method, path, attempt, reason);
                return new SendResult(null, attempt, mayHaveArrived, $"{method} {path}: gave up after {attempt} attempts (last: {reason})");
            }

            var instanceName = Cluster.Name(instance);
            LogRetry(_logger, kind, instanceName, attempt, reason);
            double jitter;
            lock (_jitter)
            {
                jitter = _jitter.NextDouble();
            }

            await Task.Delay(wait ?? TimeSpan.FromMilliseconds(Math.Min(2000, 100 * Math.Pow(2, Math.Min(attempt - 1, 5))) * (0.5 + jitter)));
            instance = (instance + 1) % Cluster.Size;
        }
    }

    /// <summary>A read: GET with the same retries.</summary>
    public async Task<JsonElement> GetJsonAsync(string kind, string key, string path)
    {
        var result = await SendAsync(kind, key, HttpMethod.Get, path, null, null, [200]);
        return result.Reply?.Json() ?? throw new InvalidOperationException(result.Failure ?? $"GET {path}: not JSON");
    }

    /// <summary>A read from one given instance, without retries (to compare what the two instances answer).</summary>
    public async Task<JsonElement> GetJsonFromAsync(int instance, string key, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_cluster.Address(instance), path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return response.StatusCode == HttpStatusCode.OK
            ? JsonDocument.Parse(text).RootElement.Clone()
            : throw new InvalidOperationException($"GET {path} on instance {Cluster.Name(instance)}: {(int)response.StatusCode} {text}");
    }

    public void Dispose() => _http.Dispose();

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Kind}: attempt {Attempt} on instance {Instance} failed ({Reason}); trying again")]
    private static partial void LogRetry(ILogger logger, string kind, string instance, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Kind}: {Method} {Path} gave up after {Attempts} attempts (last: {Reason})")]
    private static partial void LogGaveUp(ILogger logger, string kind, string method, string path, int attempts, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Kind}: {Method} {Path} answered {Status}: {Body}")]
    private static partial void LogUnexpected(ILogger logger, string kind, string method, string path, int status, string body);
}
