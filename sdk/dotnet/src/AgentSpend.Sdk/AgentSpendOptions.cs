using System;
using System.Collections.Generic;

namespace AgentSpend.Sdk;

/// <summary>Settings of an <see cref="AgentSpendClient"/>. Everything has a default but the URL and the key.</summary>
public sealed class AgentSpendOptions
{
    /// <summary>Base URL of the AgentSpend service, e.g. <c>https://spend.example.com</c>. Default: <c>AGENTSPEND_URL</c>.</summary>
    public string? BaseUrl { get; set; }

    /// <summary>API key (scope <c>ingest</c>). Default: <c>AGENTSPEND_KEY</c>. Never logged, never in a <c>ToString</c>.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Default <c>agent_name</c> of events and checks. Default: <c>AGENTSPEND_AGENT</c>, if set.</summary>
    public string? AgentName { get; set; }

    /// <summary>Fields added to every recorded event that does not set them (<c>Team</c>, <c>UserId</c>, <c>Tags</c> …).</summary>
    public UsageEvent? Defaults { get; set; }

    /// <summary>A non-empty buffer is sent at most this long after its first event. Default 1 s.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Events per request, 1 to 1,000 (the server's limit). Default 1,000.</summary>
    public int MaxBatchEvents { get; set; } = 1000;

    /// <summary>Bytes of uncompressed JSON per request body, at most 1 MiB (the server's limit). Default 1,048,576.</summary>
    public int MaxBatchBytes { get; set; } = 1024 * 1024;

    /// <summary>Events held at most; past it <see cref="AgentSpendClient.Record"/> drops and counts. Default 10,000.</summary>
    public int BufferCapacity { get; set; } = 10_000;

    /// <summary>Give a batch up when retrying would pass this much time since its first attempt. Default 120 s.</summary>
    public TimeSpan MaxRetryTime { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>First backoff cap; it doubles each retry up to <see cref="MaxBackoff"/> (full jitter: a random wait below the cap). Default 0.5 s.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Largest backoff cap. Default 30 s.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>One ingest request is abandoned (and retried) after this long. Default 30 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A check, reservation or release is abandoned after this long (then <see cref="FailOpen"/> decides). Default 5 s.</summary>
    public TimeSpan CheckTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long disposing the client tries to deliver what is buffered; the rest is dropped. Default 5 s.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>gzip request bodies (<c>Content-Encoding: gzip</c>). Default true; a server that refuses them gets plain JSON from then on.</summary>
    public bool Gzip { get; set; } = true;

    /// <summary>
    /// What checks, reservations and releases do when the service cannot be reached (network error, timeout, 5xx, a 429
    /// that is not a refusal): <c>true</c> (the default) lets the call through (<see cref="CheckResult.FailedOpen"/>),
    /// so an outage of AgentSpend never stops the agents; <c>false</c> throws <see cref="AgentSpendUnavailableException"/>.
    /// A refusal always throws <see cref="SpendRefusedException"/>.
    /// </summary>
    public bool FailOpen { get; set; } = true;

    /// <summary>Events the server refused (a 202 with <c>errors</c>, or a whole-batch 400). Called on the sender's thread; exceptions are ignored.</summary>
    public Action<IReadOnlyList<RejectedEvent>>? OnRejected { get; set; }

    /// <summary>Events the client dropped (buffer full, closed, too large, gave up, refused request, shutdown deadline). Exceptions are ignored.</summary>
    public Action<DroppedEvents>? OnDropped { get; set; }

    /// <inheritdoc />
    public override string ToString() =>
        $"AgentSpendOptions {{ BaseUrl = {BaseUrl}, AgentName = {AgentName}, ApiKey = {(string.IsNullOrEmpty(ApiKey) ? "(none)" : "***")} }}";
}
