using System.Net.Http.Headers;
using AgentSpend.Core.Configuration;
using AgentSpend.Core.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentSpend.Core.Alerts;

/// <summary>
/// Posts one alert to its workspace's webhooks, one attempt per queue message. The alert row records, per webhook,
/// whether the post succeeded, so a retry posts only to the webhooks that failed and a success is never posted
/// twice. A failed attempt queues the next one after an exponential backoff; after the last allowed attempt the
/// alert is marked failed and its message goes to the alerts poison queue, from which a replay brings it back for one
/// more attempt.
/// </summary>
public sealed partial class AlertDeliverer(
    AlertStore alerts,
    WebhookStore webhooks,
    IHttpClientFactory httpClients,
    IStorageProvider storage,
    IOptions<AgentSpendOptions> options,
    TimeProvider clock,
    ILogger<AlertDeliverer> logger)
{
    public const string HttpClientName = "alert-webhooks";

    private sealed record PostResult(string WebhookId, bool Delivered, int? StatusCode, string? Error);

    /// <summary>The wait before attempt <paramref name="attemptsMade"/> + 1: the base, doubled for each attempt after the first, capped.</summary>
    public static TimeSpan RetryDelay(int baseSeconds, int attemptsMade)
    {
        var seconds = baseSeconds * Math.Pow(2, Math.Max(0, attemptsMade - 1));
        return TimeSpan.FromSeconds(Math.Min(seconds, AgentSpendOptions.AlertMaxRetryDelay.TotalSeconds));
    }

    public async Task DeliverAsync(AlertMessage message, CancellationToken cancellationToken)
    {
        if (await alerts.GetAsync(message.WorkspaceId, message.AlertId, cancellationToken).ConfigureAwait(false) is not { } stored)
        {
            LogUnknownAlert(logger, message.AlertId, message.WorkspaceId);
            return;
        }

        if (message.Attempt < stored.Attempts)
        {
            // The message of an attempt already recorded: a redelivery, or a sweep that raced a retry. If it was the
            // last attempt, its move to the poison queue may not have finished; moving it again is harmless.
            if (stored.Delivery == AlertDelivery.Failed && message.Attempt == stored.Attempts - 1)
            {
                await PoisonAsync(message with { Attempt = stored.Attempts }, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        // The message of the attempt that failed the alert went to the poison queue: back here, an instance admin replayed
        // it (POST /api/v1/admin/queues/alerts/replay), and it earns one more attempt, after which it fails again or not.
        var replayed = stored.Delivery == AlertDelivery.Failed && message.Attempt == stored.Attempts;
        if (stored.Delivery != AlertDelivery.Pending && !replayed)
        {
            return;
        }

        var attempt = stored.Attempts + 1;
        var targets = (await webhooks.ListAsync(message.WorkspaceId, cancellationToken).ConfigureAwait(false)).Where(w => w.Wants(stored.Alert.Kind)).ToArray();
        var remaining = targets.Where(w => stored.Webhooks.GetValueOrDefault(w.Id)?.Status != AlertDelivery.Delivered).ToArray();
        var results = await Task.WhenAll(remaining.Select(w => PostAsync(stored.Alert, w, cancellationToken))).ConfigureAwait(false);

        var now = clock.GetUtcNow();
        var record = new Dictionary<string, WebhookDeliveryResult>(stored.Webhooks, StringComparer.Ordinal);
        foreach (var result in results)
        {
            record[result.WebhookId] = new WebhookDeliveryResult(
                result.Delivered ? AlertDelivery.Delivered : AlertDelivery.Failed,
                (record.GetValueOrDefault(result.WebhookId)?.Attempts ?? 0) + 1,
                result.StatusCode,
                result.Error,
                now);
        }

        var failures = results.Where(r => !r.Delivered).ToArray();
        TimeSpan? retryIn = null;
        AlertDelivery delivery;
        if (failures.Length == 0)
        {
            delivery = record.Values.Any(r => r.Status == AlertDelivery.Delivered) ? AlertDelivery.Delivered : AlertDelivery.NoWebhooks;
        }
        else if (attempt >= options.Value.AlertMaxAttempts)
        {
            delivery = AlertDelivery.Failed;
        }
        else
        {
            delivery = AlertDelivery.Pending;
            retryIn = RetryDelay(options.Value.AlertRetryBaseSeconds, attempt);
        }

        var updated = stored with
        {
            Delivery = delivery,
            Attempts = attempt,
            LastError = failures.Length == 0 ? stored.LastError : string.Join("; ", failures.Select(f => $"{f.WebhookId}: {f.Error}")),
            DeliveredAt = delivery == AlertDelivery.Delivered ? now : null,
            QueuedAt = retryIn is { } wait ? now + wait : stored.QueuedAt,
            Webhooks = record,
        };
        while (!await alerts.SaveDeliveryAsync(message.WorkspaceId, updated, cancellationToken).ConfigureAwait(false))
        {
            // The outbox sweep may have claimed the row meanwhile (it moves only QueuedAt): this attempt still counts,
            // and the sweep's message becomes a stale one. Another deliverer's recorded attempt makes this one moot.
            if (await alerts.GetAsync(message.WorkspaceId, message.AlertId, cancellationToken).ConfigureAwait(false) is not { } current
                || current.Attempts != stored.Attempts || current.Delivery != stored.Delivery)
            {
                LogRaced(logger, message.AlertId, message.WorkspaceId);
                return;
            }

            updated = updated with { ETag = current.ETag };
        }

        var next = message with { Attempt = attempt };
        switch (delivery)
        {
            case AlertDelivery.Pending:
                LogRetrying(logger, message.AlertId, failures.Length, attempt, options.Value.AlertMaxAttempts, retryIn!.Value.TotalSeconds);
                await alerts.EnqueueAsync(next, retryIn, cancellationToken).ConfigureAwait(false);
                break;
            case AlertDelivery.Failed:
                LogGaveUp(logger, message.AlertId, message.WorkspaceId, attempt, updated.LastError);
                await PoisonAsync(next, cancellationToken).ConfigureAwait(false);
                break;
            default:
                LogSettled(logger, message.AlertId, message.WorkspaceId, delivery, results.Length, attempt);
                break;
        }
    }

    private async Task PoisonAsync(AlertMessage message, CancellationToken cancellationToken) =>
        await storage.GetQueue(StorageNames.PoisonQueueOf(StorageNames.AlertsQueue)).SendAsync(message.ToJson(), cancellationToken: cancellationToken).ConfigureAwait(false);

    private async Task<PostResult> PostAsync(Alert alert, Webhook webhook, CancellationToken cancellationToken)
    {
        if (webhook.Unreadable)
        {
            return new(webhook.Id, false, null, "its stored URL or signing secret cannot be decrypted: replace the webhook");
        }

        var body = WebhookPayload.Body(alert, webhook.Format);
        var timestamp = clock.GetUtcNow().ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, webhook.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.Add(WebhookPayload.SignatureHeader, WebhookPayload.Sign(webhook.Secret, timestamp, body));
        request.Headers.Add(WebhookPayload.TimestampHeader, timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add(WebhookPayload.AlertIdHeader, alert.Id);
        try
        {
            using var response = await httpClients.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            return response.IsSuccessStatusCode ? new(webhook.Id, true, status, null) : new(webhook.Id, false, status, $"HTTP {status}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new(webhook.Id, false, null, $"no answer within {options.Value.WebhookTimeoutSeconds} s");
        }
        catch (HttpRequestException ex)
        {
            return new(webhook.Id, false, null, FailureClass(ex));
        }
    }

    /// <summary>
    /// What went wrong, by kind only: read keys see it, and the exception's own text can name addresses and ports
    /// of the host's network.
    /// </summary>
    internal static string FailureClass(HttpRequestException ex) => ex switch
    {
        _ when ex.InnerException is WebhookDestinationRefusedException || ex.InnerException?.InnerException is WebhookDestinationRefusedException =>
            "refused: the host resolves only to internal addresses",
        { HttpRequestError: HttpRequestError.NameResolutionError } => "the host name did not resolve",
        { HttpRequestError: HttpRequestError.ConnectionError } => "connection refused or unreachable",
        { HttpRequestError: HttpRequestError.SecureConnectionError } => "TLS handshake failed",
        { HttpRequestError: HttpRequestError.ResponseEnded or HttpRequestError.InvalidResponse or HttpRequestError.HttpProtocolError } => "the answer was not valid HTTP",
        _ => "the request failed",
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert {AlertId} of workspace {WorkspaceId} is not stored; its message is dropped")]
    private static partial void LogUnknownAlert(ILogger logger, string alertId, string workspaceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert {AlertId} of workspace {WorkspaceId} changed while it was delivered; the other deliverer's record stands")]
    private static partial void LogRaced(ILogger logger, string alertId, string workspaceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert {AlertId}: {Failed} webhook(s) failed on attempt {Attempt} of {MaxAttempts}; next attempt in {RetrySeconds} s")]
    private static partial void LogRetrying(ILogger logger, string alertId, int failed, int attempt, int maxAttempts, double retrySeconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Alert {AlertId} of workspace {WorkspaceId} failed after {Attempts} attempts ({LastError}); its message goes to the poison queue")]
    private static partial void LogGaveUp(ILogger logger, string alertId, string workspaceId, int attempts, string? lastError);

    [LoggerMessage(Level = LogLevel.Information, Message = "Alert {AlertId} of workspace {WorkspaceId}: {Delivery} ({Posted} post(s) on attempt {Attempt})")]
    private static partial void LogSettled(ILogger logger, string alertId, string workspaceId, AlertDelivery delivery, int posted, int attempt);
}
