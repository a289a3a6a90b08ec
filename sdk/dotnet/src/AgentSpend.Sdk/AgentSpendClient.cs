using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Reflection;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentSpend.Sdk;

/// <summary>
/// A client of one AgentSpend service: records usage events (buffered, sent in the background in gzip-compressed
/// batches, retried with the same idempotency keys), groups them in runs, and asks before spending
/// (<see cref="CheckAsync"/>, <see cref="ReserveAsync"/>, <see cref="ReleaseAsync(string, CancellationToken)"/>).
/// </summary>
/// <remarks>
/// <see cref="Record"/> never blocks and never throws. Dispose the client (or call <see cref="FlushAsync"/>) before the
/// process exits: disposing delivers what is buffered within <see cref="AgentSpendOptions.ShutdownTimeout"/>.
/// One client per process is enough; it is thread-safe.
/// </remarks>
public sealed partial class AgentSpendClient : IAsyncDisposable, IDisposable
{
    /// <summary>The name of the <see cref="HttpClient"/> that <c>AddAgentSpend</c> registers with <c>IHttpClientFactory</c>.</summary>
    public const string HttpClientName = "AgentSpend";

    /// <summary><c>{"events":[</c> and <c>]}</c>: the bytes a request body adds around its events.</summary>
    private const int BodyOverhead = 13;

    private static readonly Stopwatch IntervalClock = Stopwatch.StartNew();
    private const string JsonMediaType = "application/json";

    private readonly string key;
    private readonly Uri ingestUri;
    private readonly Uri checkUri;
    private readonly Func<HttpClient> http;
    private readonly HttpClient? ownedHttp;
    private readonly ILogger logger;
    private readonly Seams seams;
    private readonly UsageEvent? defaults;
    private readonly TimeSpan flushInterval;
    private readonly int maxBatchEvents;
    private readonly int maxBatchBytes;
    private readonly int bufferCapacity;
    private readonly TimeSpan maxRetryTime;
    private readonly TimeSpan initialBackoff;
    private readonly TimeSpan maxBackoff;
    private readonly TimeSpan requestTimeout;
    private readonly TimeSpan checkTimeout;
    private readonly TimeSpan shutdownTimeout;
    private readonly bool failOpen;
    private readonly Action<IReadOnlyList<RejectedEvent>>? onRejected;
    private readonly Action<DroppedEvents>? onDropped;
    private volatile bool gzip;

    private readonly object gate = new();
    private readonly Queue<Item> queue = new();
    private readonly List<Waiter> waiters = new();
    private readonly CancellationTokenSource abort = new();
    private long queueBytes;
    private long seq;
    private long settled;
    private long flushUpTo;
    private TimeSpan oldest;
    private bool closed;
    private Task? sender;
    private Task? closing;
    private TaskCompletionSource<bool> wake = NewSignal();

    private long dropped;
    private long delivered;
    private long rejected;
    private long retries;

    /// <summary>A client configured from the environment (<c>AGENTSPEND_URL</c>, <c>AGENTSPEND_KEY</c>, <c>AGENTSPEND_AGENT</c>).</summary>
    public AgentSpendClient()
        : this(new AgentSpendOptions())
    {
    }

    /// <summary>A client with these options; <paramref name="httpClient"/> (not disposed by the client) or one of its own.</summary>
    /// <exception cref="AgentSpendException">No base URL or API key (neither in the options nor in the environment).</exception>
    /// <exception cref="ArgumentOutOfRangeException">A limit out of its range.</exception>
    public AgentSpendClient(AgentSpendOptions options, HttpClient? httpClient = null, ILogger<AgentSpendClient>? logger = null)
        : this(options, httpClient is null ? null : () => httpClient, logger, null)
    {
    }

    internal AgentSpendClient(AgentSpendOptions options, Func<HttpClient>? httpFactory, ILogger? logger, Seams? seams)
    {
        if (options is null)
        {
            throw new ArgumentNullException(nameof(options));
        }

        var baseUrl = NonEmpty(options.BaseUrl) ?? NonEmpty(Environment.GetEnvironmentVariable("AGENTSPEND_URL"))
            ?? throw new AgentSpendException("AgentSpend: no base URL (set AgentSpendOptions.BaseUrl or AGENTSPEND_URL)");
        key = NonEmpty(options.ApiKey) ?? NonEmpty(Environment.GetEnvironmentVariable("AGENTSPEND_KEY"))
            ?? throw new AgentSpendException("AgentSpend: no API key (set AgentSpendOptions.ApiKey or AGENTSPEND_KEY)");
        baseUrl = baseUrl.TrimEnd('/');
        if (!Uri.TryCreate(baseUrl, UriKind.Absolute, out var baseUri) || (baseUri.Scheme != Uri.UriSchemeHttp && baseUri.Scheme != Uri.UriSchemeHttps))
        {
            throw new AgentSpendException("AgentSpend: the base URL is not an absolute http(s) URL: " + baseUrl);
        }

        BaseUrl = baseUrl;
        ingestUri = new Uri(baseUrl + "/api/v1/ingest");
        checkUri = new Uri(baseUrl + "/api/v1/check");
        AgentName = NonEmpty(options.AgentName) ?? NonEmpty(Environment.GetEnvironmentVariable("AGENTSPEND_AGENT"));
        defaults = options.Defaults?.Clone();
        flushInterval = Positive(options.FlushInterval, nameof(options.FlushInterval));
        maxBatchEvents = InRange(options.MaxBatchEvents, 1, 1000, nameof(options.MaxBatchEvents));
        maxBatchBytes = InRange(options.MaxBatchBytes, BodyOverhead + 2, 1024 * 1024, nameof(options.MaxBatchBytes));
        bufferCapacity = InRange(options.BufferCapacity, 1, int.MaxValue, nameof(options.BufferCapacity));
        maxRetryTime = NotNegative(options.MaxRetryTime, nameof(options.MaxRetryTime));
        initialBackoff = Positive(options.InitialBackoff, nameof(options.InitialBackoff));
        maxBackoff = Positive(options.MaxBackoff, nameof(options.MaxBackoff));
        requestTimeout = Positive(options.RequestTimeout, nameof(options.RequestTimeout));
        checkTimeout = Positive(options.CheckTimeout, nameof(options.CheckTimeout));
        shutdownTimeout = NotNegative(options.ShutdownTimeout, nameof(options.ShutdownTimeout));
        failOpen = options.FailOpen;
        gzip = options.Gzip;
        onRejected = options.OnRejected;
        onDropped = options.OnDropped;
        this.logger = logger ?? NullLogger.Instance;
        this.seams = seams ?? new Seams();
        if (httpFactory is null)
        {
            var own = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
            ownedHttp = own;
            http = () => own;
        }
        else
        {
            http = httpFactory;
        }
    }

    /// <summary>The SDK's version (sent as <c>User-Agent: agentspend-dotnet/&lt;version&gt;</c>).</summary>
    public static string Version { get; } = ReadVersion();

    /// <summary>The service's base URL, without a trailing slash.</summary>
    public string BaseUrl { get; }

    /// <summary>The default <c>agent_name</c> of events and checks.</summary>
    public string? AgentName { get; }

    /// <summary>Events dropped: buffer full, client closed, too large, retries given up, refused request, shutdown deadline.</summary>
    public long Dropped => Interlocked.Read(ref dropped);

    /// <summary>Events the server accepted.</summary>
    public long Delivered => Interlocked.Read(ref delivered);

    /// <summary>Events the server refused (reported through <see cref="AgentSpendOptions.OnRejected"/>).</summary>
    public long Rejected => Interlocked.Read(ref rejected);

    /// <summary>Requests retried (each retry counts once).</summary>
    public long Retries => Interlocked.Read(ref retries);

    /// <summary>Events recorded and not settled yet (buffered or being sent).</summary>
    public long Pending
    {
        get
        {
            lock (gate)
            {
                return seq - settled;
            }
        }
    }

    /// <summary>
    /// Buffers one event and returns at once; never throws. The event is copied; the copy gets the client's
    /// <see cref="AgentName"/>, the <see cref="AgentSpendOptions.Defaults"/>, <c>timestamp</c> (now) and an
    /// <c>idempotency_key</c> (a UUIDv7) where it has none.
    /// </summary>
    /// <returns>False when the event was dropped (buffer full, client disposed, too large): see <see cref="Dropped"/>.</returns>
    public bool Record(UsageEvent usageEvent)
    {
        UsageEvent? e = null;
        try
        {
            if (usageEvent is null)
            {
                Drop(Array.Empty<UsageEvent>(), DropReasons.Invalid, null, "null event", 0, log: false);
                return false;
            }

            e = Prepare(usageEvent);
            var json = Json.Serialize(e);
            if (json.Length + BodyOverhead > maxBatchBytes)
            {
                Drop(new[] { e }, DropReasons.TooLarge, null, json.Length + " bytes of JSON, more than a request may carry", 0, log: true);
                return false;
            }

            string? refused = null;
            lock (gate)
            {
                if (closed)
                {
                    refused = DropReasons.Closed;
                }
                else if (queue.Count >= bufferCapacity)
                {
                    refused = DropReasons.BufferFull;
                }
                else
                {
                    if (queue.Count == 0)
                    {
                        oldest = IntervalClock.Elapsed;
                        wake.TrySetResult(true);
                    }

                    queue.Enqueue(new Item(++seq, e, json));
                    queueBytes += json.Length;
                    if (IsFull())
                    {
                        wake.TrySetResult(true);
                    }

                    sender ??= Task.Run(() => SendLoopAsync());
                }
            }

            if (refused is not null)
            {
                Drop(new[] { e }, refused, null, null, 0, log: false);
                return false;
            }

            return true;
        }
#pragma warning disable CA1031 // Recording never throws into the agent.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Drop(e is null ? Array.Empty<UsageEvent>() : new[] { e }, DropReasons.Invalid, null, ex.Message, 0, log: true);
            return false;
        }
    }

    /// <summary>
    /// Sends everything recorded so far and completes once each of those events is settled: delivered, rejected
    /// (<see cref="AgentSpendOptions.OnRejected"/>) or dropped (<see cref="AgentSpendOptions.OnDropped"/>).
    /// Cancelling stops the wait, not the sending.
    /// </summary>
    public Task FlushAsync(CancellationToken cancellationToken = default)
    {
        TaskCompletionSource<bool> signal;
        lock (gate)
        {
            var target = seq;
            if (settled >= target)
            {
                return Task.CompletedTask;
            }

            flushUpTo = Math.Max(flushUpTo, target);
            signal = NewSignal();
            waiters.Add(new Waiter(target, signal));
            wake.TrySetResult(true);
        }

        return WaitAsync(signal, cancellationToken);
    }

    /// <summary>Starts a run: events recorded with <see cref="AgentSpendRun.Record"/> carry its <c>run_id</c>; ending it records its summary.</summary>
    public AgentSpendRun StartRun(string name, RunOptions? options = null) =>
        new(this, name ?? throw new ArgumentNullException(nameof(name)), options ?? new RunOptions(), seams.Elapsed, Uuid7.NewString());

    /// <summary>
    /// Runs <paramref name="body"/> as one run: its outcome (<c>task_success</c>) is true when the body completes and
    /// false when it throws (unless it called <see cref="AgentSpendRun.Succeed"/> or <see cref="AgentSpendRun.Fail"/>),
    /// and the summary is recorded when it ends. Returns what the body returns; rethrows what it throws.
    /// </summary>
    public async Task<T> RunAsync<T>(string name, Func<AgentSpendRun, Task<T>> body, RunOptions? options = null)
    {
        if (body is null)
        {
            throw new ArgumentNullException(nameof(body));
        }

        var run = StartRun(name, options);
        T value;
        try
        {
            value = await body(run).ConfigureAwait(false);
        }
        catch
        {
            run.End(run.Outcome ?? false);
            throw;
        }

        run.End(run.Outcome ?? true);
        return value;
    }

    /// <summary><see cref="RunAsync{T}(string, Func{AgentSpendRun, Task{T}}, RunOptions?)"/> for a body without a result.</summary>
    public Task RunAsync(string name, Func<AgentSpendRun, Task> body, RunOptions? options = null)
    {
        if (body is null)
        {
            throw new ArgumentNullException(nameof(body));
        }

        return RunAsync<bool>(
            name,
            async run =>
            {
                await body(run).ConfigureAwait(false);
                return true;
            },
            options);
    }

    /// <summary>Stops taking events, delivers what is buffered within <see cref="AgentSpendOptions.ShutdownTimeout"/>, drops the rest.</summary>
    public ValueTask DisposeAsync()
    {
        Task task;
        lock (gate)
        {
            closing ??= CloseAsync();
            task = closing;
        }

        return new ValueTask(task);
    }

    /// <summary>Blocks while <see cref="DisposeAsync"/> runs (at most about <see cref="AgentSpendOptions.ShutdownTimeout"/>).</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <inheritdoc />
    public override string ToString() => $"AgentSpendClient {{ BaseUrl = {BaseUrl}, AgentName = {AgentName}, ApiKey = *** }}";

    // ---- recording internals ---------------------------------------------------------------------------------

    private UsageEvent Prepare(UsageEvent usageEvent)
    {
        var e = usageEvent.Clone();
        e.FillFrom(defaults);
        e.AgentName ??= AgentName;
        e.Timestamp ??= seams.UtcNow();
        if (string.IsNullOrEmpty(e.IdempotencyKey))
        {
            e.IdempotencyKey = Uuid7.NewString();
        }

        return e;
    }

    private bool IsFull() =>
        queue.Count >= maxBatchEvents || BodyOverhead + queueBytes + Math.Max(0, queue.Count - 1) >= maxBatchBytes;

    private bool Ready() =>
        queue.Count > 0 && (closed || flushUpTo > settled || IsFull() || IntervalClock.Elapsed - oldest >= flushInterval);

    private async Task SendLoopAsync()
    {
        while (true)
        {
            Batch? batch = null;
            TimeSpan? wait = null;
            Task woken;
            lock (gate)
            {
                if (wake.Task.IsCompleted)
                {
                    wake = NewSignal();
                }

                if (abort.IsCancellationRequested)
                {
                    return;
                }

                if (Ready())
                {
                    batch = Take();
                }
                else if (closed && queue.Count == 0)
                {
                    return;
                }
                else if (queue.Count > 0)
                {
                    wait = flushInterval - (IntervalClock.Elapsed - oldest);
                }

                woken = wake.Task;
            }

            if (batch is null)
            {
                await SleepUntilAsync(woken, wait).ConfigureAwait(false);
                continue;
            }

            await SendBatchAsync(batch).ConfigureAwait(false);
            Settle(batch.LastSeq);
        }
    }

    private static async Task SleepUntilAsync(Task woken, TimeSpan? wait)
    {
        if (wait is null)
        {
            await woken.ConfigureAwait(false);
            return;
        }

        if (wait.Value <= TimeSpan.Zero)
        {
            return;
        }

        using var cts = new CancellationTokenSource();
        await Task.WhenAny(woken, Task.Delay(wait.Value, cts.Token)).ConfigureAwait(false);
        cts.Cancel();
    }

    private Batch Take()
    {
        var items = new List<Item>();
        long bytes = BodyOverhead;
        while (queue.Count > 0 && items.Count < maxBatchEvents)
        {
            var next = queue.Peek();
            var extra = next.Json.Length + (items.Count > 0 ? 1 : 0);
            if (items.Count > 0 && bytes + extra > maxBatchBytes)
            {
                break;
            }

            queue.Dequeue();
            queueBytes -= next.Json.Length;
            bytes += extra;
            items.Add(next);
        }

        if (queue.Count > 0)
        {
            oldest = IntervalClock.Elapsed;
        }

        return new Batch(items);
    }

    private void Settle(long lastSeq)
    {
        lock (gate)
        {
            if (lastSeq > settled)
            {
                settled = lastSeq;
            }

            for (var i = waiters.Count - 1; i >= 0; i--)
            {
                if (waiters[i].Target <= settled)
                {
                    waiters[i].Signal.TrySetResult(true);
                    waiters.RemoveAt(i);
                }
            }
        }
    }

    private async Task SendBatchAsync(Batch batch)
    {
        var attempts = 0;
        int? lastStatus = null;
        string? lastMessage = null;
        try
        {
            var text = batch.Body();
            var zipped = gzip ? Gzip(text) : null;
            var start = seams.Elapsed();
            var retryCount = 0;
            while (true)
            {
                if (abort.IsCancellationRequested)
                {
                    Drop(batch.Events, DropReasons.Deadline, lastStatus, lastMessage ?? "client closed", attempts, log: true);
                    return;
                }

                attempts++;
                int? status = null;
                string? bodyText = null;
                TimeSpan? retryAfter = null;
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, ingestUri) { Content = new ByteArrayContent(zipped ?? text) };
                    request.Content.Headers.ContentType = new MediaTypeHeaderValue(JsonMediaType);
                    if (zipped is not null)
                    {
                        request.Content.Headers.ContentEncoding.Add("gzip");
                    }

                    AddHeaders(request);
                    using var cts = CancellationTokenSource.CreateLinkedTokenSource(abort.Token);
                    cts.CancelAfter(requestTimeout);
                    using var response = await http().SendAsync(request, HttpCompletionOption.ResponseContentRead, cts.Token).ConfigureAwait(false);
                    status = (int)response.StatusCode;
                    bodyText = await ReadBodyAsync(response, cts.Token).ConfigureAwait(false);
                    retryAfter = RetryAfter.From(response, seams.UtcNow());
                }
                catch (OperationCanceledException) when (abort.IsCancellationRequested)
                {
                    continue;
                }
#pragma warning disable CA1031 // Any failure of one request is retried; nothing reaches the agent.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    lastStatus = null;
                    lastMessage = ex is OperationCanceledException ? "request timed out" : ex.Message;
                }

                TimeSpan? delay = null;
                if (status is int s)
                {
                    lastStatus = s;
                    var body = Json.Parse(bodyText);
                    lastMessage = Json.ReasonText(body) ?? "HTTP " + s;
                    if (s is >= 200 and < 300)
                    {
                        Accepted(batch, body, s);
                        return;
                    }

                    if (zipped is not null && (s == 415 || (s == 400 && !HasIndexedErrors(body))))
                    {
                        // A server that does not take gzip: this batch and every later one go uncompressed.
                        gzip = false;
                        zipped = null;
                        Log.GzipOff(logger, s);
                        continue;
                    }

                    if (s == 400)
                    {
                        Refused(batch, body);
                        return;
                    }

                    if (s != 429 && s != 408 && s < 500)
                    {
                        Drop(batch.Events, DropReasons.HttpError, s, lastMessage, attempts, log: true);
                        return;
                    }

                    if (s is 429 or 503)
                    {
                        delay = retryAfter;
                    }
                }

                retryCount++;
                var wait = delay ?? Backoff(retryCount);
                if (seams.Elapsed() - start + wait > maxRetryTime)
                {
                    Drop(batch.Events, DropReasons.GaveUp, lastStatus, lastMessage, attempts, log: true);
                    return;
                }

                Interlocked.Increment(ref retries);
                Log.Retrying(logger, lastMessage ?? "failed", (long)wait.TotalMilliseconds);
                try
                {
                    await seams.Delay(wait, abort.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Disposing passed its deadline: the loop's first check drops the batch.
                }
            }
        }
#pragma warning disable CA1031 // The sender must survive anything.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Drop(batch.Events, DropReasons.Error, lastStatus, ex.Message, attempts, log: true);
        }
    }

    internal TimeSpan Backoff(int retry)
    {
        var capMs = Math.Min(maxBackoff.TotalMilliseconds, initialBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(retry - 1, 30)));
        return TimeSpan.FromMilliseconds(Math.Floor(seams.Random() * capMs));
    }

    private void Accepted(Batch batch, JsonElement? body, int status)
    {
        var list = Rejections(batch, body, status);
        Interlocked.Add(ref rejected, list.Count);
        Interlocked.Add(ref delivered, batch.Items.Count - list.Count);
        if (list.Count > 0)
        {
            Report(list);
        }
    }

    private void Refused(Batch batch, JsonElement? body)
    {
        var list = Rejections(batch, body, 400);
        var listed = new HashSet<int>(list.Select(r => r.Index));
        var general = Json.ReasonText(body) ?? "batch refused (400)";
        for (var i = 0; i < batch.Items.Count; i++)
        {
            if (!listed.Contains(i))
            {
                list.Add(new RejectedEvent(batch.Items[i].Event, i, null, general, 400));
            }
        }

        list.Sort((a, b) => a.Index.CompareTo(b.Index));
        Interlocked.Add(ref rejected, batch.Items.Count);
        Report(list);
    }

    private static List<RejectedEvent> Rejections(Batch batch, JsonElement? body, int status)
    {
        var list = new List<RejectedEvent>();
        if (Json.Prop(body, "errors") is not { ValueKind: JsonValueKind.Array } errors)
        {
            return list;
        }

        var byIndex = new Dictionary<int, int>();
        foreach (var error in errors.EnumerateArray())
        {
            if (Json.Int(error, "index") is not int index || index < 0 || index >= batch.Items.Count)
            {
                continue;
            }

            var field = Json.String(error, "field");
            var reason = Json.String(error, "reason") ?? "rejected";
            if (byIndex.TryGetValue(index, out var at))
            {
                // Several errors of one event: one rejection, the reasons joined.
                var prev = list[at];
                list[at] = new RejectedEvent(prev.Event, index, prev.Field, prev.Reason + "; " + (field is null ? "" : field + ": ") + reason, status);
                continue;
            }

            byIndex[index] = list.Count;
            list.Add(new RejectedEvent(batch.Items[index].Event, index, field, reason, status));
        }

        return list;
    }

    private static bool HasIndexedErrors(JsonElement? body) =>
        Json.Prop(body, "errors") is { ValueKind: JsonValueKind.Array } errors
        && errors.EnumerateArray().Any(e => Json.Int(e, "index") is not null);

    private void Report(List<RejectedEvent> list)
    {
        if (onRejected is null)
        {
            Log.Rejected(logger, list.Count, list[0].Field, list[0].Reason);
            return;
        }

        try
        {
            onRejected(list);
        }
#pragma warning disable CA1031 // A callback's error never reaches the agent or stops the sender.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.CallbackFailed(logger, ex);
        }
    }

    private void Drop(IReadOnlyList<UsageEvent> events, string reason, int? status, string? message, int attempts, bool log)
    {
        Interlocked.Add(ref dropped, Math.Max(1, events.Count));
        if (log)
        {
            Log.Dropped(logger, events.Count, reason, message);
        }

        if (onDropped is null)
        {
            return;
        }

        try
        {
            onDropped(new DroppedEvents(events, reason, status, message, attempts));
        }
#pragma warning disable CA1031 // A callback's error never reaches the agent or stops the sender.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.CallbackFailed(logger, ex);
        }
    }

    private async Task CloseAsync()
    {
        Task? running;
        lock (gate)
        {
            closed = true;
            wake.TrySetResult(true);
            running = sender;
        }

        if (running is not null)
        {
            using var timer = new CancellationTokenSource();
            var finished = await Task.WhenAny(running, Task.Delay(shutdownTimeout, timer.Token)).ConfigureAwait(false) == running;
            timer.Cancel();
            if (!finished)
            {
                // Past the deadline: stop waiting between retries, abandon the request in flight, drop what is left.
                abort.Cancel();
                List<UsageEvent> left;
                lock (gate)
                {
                    left = queue.Select(i => i.Event).ToList();
                    queue.Clear();
                    queueBytes = 0;
                }

                if (left.Count > 0)
                {
                    Drop(left, DropReasons.Deadline, null, "unsent at the shutdown deadline", 0, log: true);
                }

                using var grace = new CancellationTokenSource();
                await Task.WhenAny(running, Task.Delay(TimeSpan.FromSeconds(1), grace.Token)).ConfigureAwait(false);
                grace.Cancel();
            }
        }

        lock (gate)
        {
            settled = seq;
            foreach (var w in waiters)
            {
                w.Signal.TrySetResult(true);
            }

            waiters.Clear();
        }

        ownedHttp?.Dispose();
    }

    private void AddHeaders(HttpRequestMessage request)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(JsonMediaType));
        request.Headers.TryAddWithoutValidation("User-Agent", "agentspend-dotnet/" + Version);
    }

    private static Task<string> ReadBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
#if NET8_0_OR_GREATER
        return response.Content.ReadAsStringAsync(cancellationToken);
#else
        _ = cancellationToken;
        return response.Content.ReadAsStringAsync();
#endif
    }

    internal static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var zip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            zip.Write(data, 0, data.Length);
        }

        return output.ToArray();
    }

    private static async Task WaitAsync(TaskCompletionSource<bool> signal, CancellationToken cancellationToken)
    {
        if (!cancellationToken.CanBeCanceled)
        {
            await signal.Task.ConfigureAwait(false);
            return;
        }

        var cancelled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        using (cancellationToken.Register(() => cancelled.TrySetResult(true)))
        {
            if (await Task.WhenAny(signal.Task, cancelled.Task).ConfigureAwait(false) != signal.Task)
            {
                throw new OperationCanceledException(cancellationToken);
            }
        }
    }

    private static TaskCompletionSource<bool> NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private static TimeSpan Positive(TimeSpan value, string name) =>
        value > TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(name, value, name + " must be positive");

    private static TimeSpan NotNegative(TimeSpan value, string name) =>
        value >= TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(name, value, name + " must not be negative");

    private static int InRange(int value, int min, int max, string name) =>
        value >= min && value <= max ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must be {min} to {max}");

    private static string ReadVersion()
    {
        var info = typeof(AgentSpendClient).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (string.IsNullOrEmpty(info))
        {
            return typeof(AgentSpendClient).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        }

        var plus = info!.IndexOf('+');
        return plus < 0 ? info : info.Substring(0, plus);
    }

    private sealed class Item
    {
        public Item(long seq, UsageEvent e, byte[] json)
        {
            Seq = seq;
            Event = e;
            Json = json;
        }

        public long Seq { get; }

        public UsageEvent Event { get; }

        public byte[] Json { get; }
    }

    private sealed class Batch
    {
        private static readonly byte[] Prefix = System.Text.Encoding.UTF8.GetBytes("{\"events\":[");

        public Batch(List<Item> items)
        {
            Items = items;
            Events = items.Select(i => i.Event).ToList();
        }

        public List<Item> Items { get; }

        public IReadOnlyList<UsageEvent> Events { get; }

        public long LastSeq => Items[Items.Count - 1].Seq;

        public byte[] Body()
        {
            var size = BodyOverhead + Items.Sum(i => i.Json.Length) + Math.Max(0, Items.Count - 1);
            var body = new byte[size];
            var at = 0;
            Buffer.BlockCopy(Prefix, 0, body, 0, Prefix.Length);
            at += Prefix.Length;

            for (var i = 0; i < Items.Count; i++)
            {
                if (i > 0)
                {
                    body[at++] = (byte)',';
                }

                Buffer.BlockCopy(Items[i].Json, 0, body, at, Items[i].Json.Length);
                at += Items[i].Json.Length;
            }

            body[at++] = (byte)']';
            body[at] = (byte)'}';
            return body;
        }
    }

    private readonly struct Waiter
    {
        public Waiter(long target, TaskCompletionSource<bool> signal)
        {
            Target = target;
            Signal = signal;
        }

        public long Target { get; }

        public TaskCompletionSource<bool> Signal { get; }
    }
}
