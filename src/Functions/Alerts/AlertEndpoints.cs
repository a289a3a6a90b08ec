using System.Text.Json.Serialization;
using AgentSpend.Core.Alerts;
using AgentSpend.Core.Audit;
using AgentSpend.Core.Configuration;
using AgentSpend.Core.Storage;
using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace AgentSpend.Functions.Alerts;

/// <summary>A webhook as POST and PUT take it; PUT keeps the secret when none is given.</summary>
public sealed record WebhookBody(string? Url, string? Format, string[]? Kinds, string? Secret, bool? Enabled);

/// <summary>A webhook as the API shows it. <c>secret</c> appears once: in the answer that created the webhook.</summary>
public sealed record WebhookView(string Id, string Url, string Format, IReadOnlyList<string>? Kinds, bool Enabled, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Secret { get; init; }

    public static WebhookView Of(Webhook w) => new(w.Id, w.Url, w.Format, w.Kinds, w.Enabled, w.CreatedAt, w.UpdatedAt);

    /// <summary>
    /// As the audit log keeps it: the URL's origin and a fingerprint of the rest, since a Slack URL's path is its
    /// credential and audit entries are kept in clear; the fingerprint still shows when the URL changed.
    /// </summary>
    public static WebhookView ForAudit(Webhook w) => Of(w) with { Url = RedactedUrl(w.Url) };

    internal static string RedactedUrl(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.PathAndQuery is not ("/" or "")
            ? $"{uri.GetLeftPart(UriPartial.Authority)}/… (sha256 {Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(url)))[..12]})"
            : url;
}

public sealed record WebhookList(IReadOnlyList<WebhookView> Items);

/// <summary>How posting the alert to one webhook went.</summary>
public sealed record WebhookDeliveryView(string WebhookId, AlertDelivery Status, int Attempts, int? StatusCode, string? Error, DateTimeOffset At);

/// <summary>An alert with its delivery: <c>status</c> is pending, delivered, failed, no_webhooks or throttled.</summary>
public sealed record AlertView(
    string Id, string Kind, string Message, DateTimeOffset RaisedAt, BudgetAlertDetails? Budget, string? Model, SpikeAlertDetails? Spike,
    PoisonedAlertDetails? Poisoned, AlertDelivery Status, int Attempts, string? LastError, DateTimeOffset? DeliveredAt, IReadOnlyList<WebhookDeliveryView> Webhooks)
{
    public static AlertView Of(StoredAlert s) => new(
        s.Alert.Id, s.Alert.Kind, s.Alert.Message, s.Alert.RaisedAt, s.Alert.Budget, s.Alert.Model, s.Alert.Spike,
        s.Alert.Poisoned, s.Delivery, s.Attempts, s.LastError, s.DeliveredAt,
        [.. s.Webhooks.OrderBy(w => w.Key, StringComparer.Ordinal).Select(w => new WebhookDeliveryView(w.Key, w.Value.Status, w.Value.Attempts, w.Value.StatusCode, w.Value.Error, w.Value.At))]);
}

public sealed record AlertList(IReadOnlyList<AlertView> Items, string? NextCursor);

/// <summary>
/// /api/v1/alerts: the history of the workspace's alerts with their delivery, and under /webhooks the places they
/// are posted to (admin only: a webhook's URL can itself be a secret, as Slack's are).
/// </summary>
public static class AlertEndpoints
{
    public const int MaxUrlLength = 2048;

    public static async Task<Results<Ok<AlertList>, ProblemHttpResult>> ListAsync(
        string? kind, string? status, Paging paging, Caller caller, AlertStore alerts, CancellationToken cancellationToken)
    {
        if (kind is not null && !Alert.Kinds.Contains(kind))
        {
            return Problems.BadRequest("kind", $"'{kind}' is not an alert kind; use {Problems.Choices(Alert.Kinds)}.");
        }

        AlertDelivery? delivery = null;
        if (status is not null)
        {
            if (!AlertDeliveryNames.TryParse(status, out var parsed))
            {
                return Problems.BadRequest("status", $"'{status}' is not a delivery status; use {Problems.Choices(AlertDeliveryNames.All)}.");
            }

            delivery = parsed;
        }

        if (paging.Problem is { } problem)
        {
            return problem;
        }

        try
        {
            var page = await alerts.ListAsync(caller.Workspace.Id, kind, delivery, paging.Limit, paging.Cursor, cancellationToken).ConfigureAwait(false);
            return TypedResults.Ok(new AlertList([.. page.Items.Select(AlertView.Of)], page.NextCursor));
        }
        catch (BadCursorException ex)
        {
            return Problems.BadRequest("cursor", ex.Message);
        }
    }

    public static async Task<Results<Ok<AlertView>, ProblemHttpResult>> GetAsync(string id, Caller caller, AlertStore alerts, CancellationToken cancellationToken) =>
        await alerts.GetAsync(caller.Workspace.Id, id, cancellationToken).ConfigureAwait(false) is { } alert
            ? TypedResults.Ok(AlertView.Of(alert))
            : Problems.NotFound("id", $"No alert '{id}' in this workspace.");

    public static async Task<Ok<WebhookList>> ListWebhooksAsync(Caller caller, WebhookStore webhooks, CancellationToken cancellationToken) =>
        TypedResults.Ok(new WebhookList([.. (await webhooks.ListAsync(caller.Workspace.Id, cancellationToken).ConfigureAwait(false)).Select(WebhookView.Of)]));

    public static async Task<Results<Ok<WebhookView>, ProblemHttpResult>> GetWebhookAsync(string webhookId, Caller caller, WebhookStore webhooks, CancellationToken cancellationToken) =>
        await webhooks.GetAsync(caller.Workspace.Id, webhookId, cancellationToken).ConfigureAwait(false) is { } webhook
            ? TypedResults.Ok(WebhookView.Of(webhook))
            : WebhookNotFound(webhookId);

    public static async Task<Results<Created<WebhookView>, ProblemHttpResult>> CreateWebhookAsync(
        HttpRequest request, Caller caller, WebhookStore webhooks, AuditLog audit, IOptions<AgentSpendOptions> options, CancellationToken cancellationToken)
    {
        var (webhook, problem) = await ReadAsync(request, options.Value.WebhookAllowPrivateNetworks, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        if (await webhooks.CreateAsync(caller.Workspace.Id, webhook! with { Secret = webhook.Secret.Length == 0 ? WebhookStore.NewSecret() : webhook.Secret }, cancellationToken).ConfigureAwait(false) is not { } stored)
        {
            return Problems.Conflict("webhooks", $"A workspace holds at most {WebhookStore.MaxWebhooksPerWorkspace} webhooks.");
        }

        var view = WebhookView.Of(stored);
        await audit.AppendAsync(caller.Workspace.Id, AuditActions.WebhookCreate, stored.Id, caller.KeyId, caller.SourceIp, null, WebhookView.ForAudit(stored)).ConfigureAwait(false);
        return TypedResults.Created($"/api/v1/alerts/webhooks/{stored.Id}", view with { Secret = stored.Secret });
    }

    public static async Task<Results<Ok<WebhookView>, ProblemHttpResult>> ReplaceWebhookAsync(
        string webhookId, HttpRequest request, Caller caller, WebhookStore webhooks, AuditLog audit, IOptions<AgentSpendOptions> options, CancellationToken cancellationToken)
    {
        var (webhook, problem) = await ReadAsync(request, options.Value.WebhookAllowPrivateNetworks, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        if (webhook!.Secret.Length == 0 && await webhooks.GetAsync(caller.Workspace.Id, webhookId, cancellationToken).ConfigureAwait(false) is { Unreadable: true })
        {
            return Problems.BadRequest("secret", "must be given: the stored secret cannot be decrypted (the key that encrypted it is gone).");
        }

        if (await webhooks.ReplaceAsync(caller.Workspace.Id, webhookId, before => webhook! with { Secret = webhook.Secret.Length == 0 ? before.Secret : webhook.Secret }, cancellationToken)
                .ConfigureAwait(false) is not { } changed)
        {
            return WebhookNotFound(webhookId);
        }

        await audit.AppendAsync(caller.Workspace.Id, AuditActions.WebhookUpdate, webhookId, caller.KeyId, caller.SourceIp, WebhookView.ForAudit(changed.Before), WebhookView.ForAudit(changed.After)).ConfigureAwait(false);
        return TypedResults.Ok(WebhookView.Of(changed.After));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteWebhookAsync(
        string webhookId, Caller caller, WebhookStore webhooks, AuditLog audit, CancellationToken cancellationToken)
    {
        if (await webhooks.DeleteAsync(caller.Workspace.Id, webhookId, cancellationToken).ConfigureAwait(false) is not { } deleted)
        {
            return WebhookNotFound(webhookId);
        }

        await audit.AppendAsync(caller.Workspace.Id, AuditActions.WebhookDelete, webhookId, caller.KeyId, caller.SourceIp, WebhookView.ForAudit(deleted), null).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    private static ProblemHttpResult WebhookNotFound(string id) => Problems.NotFound("id", $"No webhook '{id}' in this workspace.");

    /// <summary>Reads and checks a webhook body; every error names its field. An absent secret is left empty for the caller to fill.</summary>
    private static async Task<(Webhook? Webhook, ProblemHttpResult? Problem)> ReadAsync(HttpRequest request, bool allowPrivateNetworks, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadAsync<WebhookBody>(request, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            return (null, problem);
        }

        static (Webhook?, ProblemHttpResult?) Fail(string field, string reason) => (null, Problems.BadRequest(field, reason));
        if (body!.Url is not { Length: > 0 and <= MaxUrlLength } url
            || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
        {
            return Fail("url", $"must be an absolute http or https URL of at most {MaxUrlLength} characters.");
        }

        if (uri.UserInfo.Length > 0)
        {
            return Fail("url", "must not carry a user name or password; authenticate the posts with the signature instead.");
        }

        if (WebhookDestinations.Refuse(uri, allowPrivateNetworks) is { } refused)
        {
            return Fail("url", refused);
        }

        var format = body.Format ?? WebhookFormats.Json;
        if (!WebhookFormats.All.Contains(format))
        {
            return Fail("format", $"'{format}' is not a format; use {Problems.Choices(WebhookFormats.All)}.");
        }

        if (body.Kinds is { } kinds && (kinds.Length == 0 || kinds.Distinct().Count() != kinds.Length))
        {
            return Fail("kinds", "must name each alert kind at most once, and at least one; leave it out for every kind.");
        }

        if (body.Kinds?.FirstOrDefault(k => !Alert.Kinds.Contains(k)) is { } unknownKind)
        {
            return Fail("kinds", $"'{unknownKind}' is not an alert kind; use {Problems.Choices(Alert.Kinds)}.");
        }

        if (body.Secret is { } secret && (secret.Length is < 16 or > 256 || secret.Any(c => char.IsControl(c) || char.IsWhiteSpace(c))))
        {
            return Fail("secret", "must be 16 to 256 characters, without spaces or control characters; leave it out to have one generated.");
        }

        return (new Webhook { Id = "", Url = url, Format = format, Kinds = body.Kinds, Secret = body.Secret ?? "", Enabled = body.Enabled ?? true }, null);
    }
}
