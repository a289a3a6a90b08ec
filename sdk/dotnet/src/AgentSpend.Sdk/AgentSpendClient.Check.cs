using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace AgentSpend.Sdk;

public sealed partial class AgentSpendClient
{
    private static readonly IReadOnlyDictionary<string, decimal> NoRemaining = new Dictionary<string, decimal>(StringComparer.Ordinal);

    /// <summary>
    /// Asks before spending (<c>POST /api/v1/check</c>). Returns when the call is allowed; throws
    /// <see cref="SpendRefusedException"/> on a refusal (a kill switch, a pause, a block budget without room). When the
    /// service cannot be asked, <see cref="AgentSpendOptions.FailOpen"/> decides: allowed with
    /// <see cref="CheckResult.FailedOpen"/> (the default), or <see cref="AgentSpendUnavailableException"/>. Other answers
    /// (400, 401, 403 …) throw <see cref="AgentSpendException"/>.
    /// </summary>
    /// <remarks><c>agent_name</c>, <c>user_id</c> and <c>team</c> default to the client's (its <see cref="AgentName"/> and <see cref="AgentSpendOptions.Defaults"/>).</remarks>
    public Task<CheckResult> CheckAsync(CheckRequest? request = null, CancellationToken cancellationToken = default) =>
        CheckCoreAsync(request, reserve: false, cancellationToken);

    /// <summary>
    /// A check that holds its estimate against each block budget that applies (<c>"reserve": true</c>). Release it with
    /// <see cref="ReleaseAsync(CheckResult, CancellationToken)"/> if the call does not happen; the service releases it
    /// once usage with the same <c>run_id</c> or <c>idempotency_key</c> is counted, and it expires after
    /// <c>reservation_ttl_seconds</c> (default 600). Refusals and outages as <see cref="CheckAsync"/>.
    /// </summary>
    public Task<CheckResult> ReserveAsync(CheckRequest? request = null, CancellationToken cancellationToken = default) =>
        CheckCoreAsync(request, reserve: true, cancellationToken);

    /// <summary>
    /// Releases a reservation (<c>DELETE /api/v1/check/reservations/{id}</c>): true when released, false when it was not
    /// open (404) or the id is empty. When the service cannot be asked: false if <see cref="AgentSpendOptions.FailOpen"/>
    /// (the reservation expires at its TTL), else <see cref="AgentSpendUnavailableException"/>.
    /// </summary>
    public async Task<bool> ReleaseAsync(string reservationId, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(reservationId))
        {
            return false;
        }

        var uri = new Uri(BaseUrl + "/api/v1/check/reservations/" + Uri.EscapeDataString(reservationId));
        var answer = await ControlAsync(HttpMethod.Delete, uri, null, cancellationToken).ConfigureAwait(false);
        if (answer.Status is not int status)
        {
            return Unavailable(answer.Error ?? "no answer", null, false);
        }

        if (status is 200 or 204)
        {
            return true;
        }

        if (status == 404)
        {
            return false;
        }

        if (status >= 500 || status == 429)
        {
            return Unavailable("HTTP " + status, status, false);
        }

        throw new AgentSpendException($"AgentSpend: release answered {status}{Suffix(answer.Body)}", status);
    }

    /// <summary>Releases the reservation of <paramref name="result"/>; false when it holds none (for example a fail-open result).</summary>
    public Task<bool> ReleaseAsync(CheckResult result, CancellationToken cancellationToken = default) =>
        ReleaseAsync(result?.Reservation?.Id ?? string.Empty, cancellationToken);

    private async Task<CheckResult> CheckCoreAsync(CheckRequest? request, bool reserve, CancellationToken cancellationToken)
    {
        var r = request?.Clone() ?? new CheckRequest();
        r.AgentName ??= AgentName ?? defaults?.AgentName;
        r.UserId ??= defaults?.UserId;
        r.Team ??= defaults?.Team;
        var answer = await ControlAsync(HttpMethod.Post, checkUri, Json.Serialize(r, reserve), cancellationToken).ConfigureAwait(false);
        var open = new CheckResult(NoRemaining, null, failedOpen: true, raw: null);
        if (answer.Status is not int status)
        {
            return Unavailable(answer.Error ?? "no answer", null, open);
        }

        var body = answer.Body;
        var allowed = Json.Prop(body, "allowed");
        if (status == 200 && allowed?.ValueKind != JsonValueKind.False)
        {
            var remaining = new Dictionary<string, decimal>(StringComparer.Ordinal);
            if (Json.Prop(body, "remaining") is { ValueKind: JsonValueKind.Object } left)
            {
                foreach (var p in left.EnumerateObject())
                {
                    if (p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetDecimal(out var d))
                    {
                        remaining[p.Name] = d;
                    }
                }
            }

            Reservation? reservation = null;
            if (Json.Prop(body, "reservation") is { ValueKind: JsonValueKind.Object } res && Json.String(res, "id") is { Length: > 0 } id)
            {
                var budgets = new List<string>();
                if (Json.Prop(res, "budget_ids") is { ValueKind: JsonValueKind.Array } ids)
                {
                    foreach (var b in ids.EnumerateArray())
                    {
                        if (b.ValueKind == JsonValueKind.String)
                        {
                            budgets.Add(b.GetString()!);
                        }
                    }
                }

                reservation = new Reservation(id, Json.Date(res, "expires_at"), budgets);
            }

            return new CheckResult(remaining, reservation, failedOpen: false, raw: body);
        }

        if (allowed?.ValueKind == JsonValueKind.False)
        {
            var budget = Json.Prop(body, "budget") is { ValueKind: JsonValueKind.Object } b ? new RefusingBudget(b) : null;
            throw new SpendRefusedException(Json.String(body, "reason") ?? "budget_exceeded", budget, Json.Date(body, "resume_at"), answer.RetryAfter, body);
        }

        if (status >= 500 || status == 429)
        {
            return Unavailable("HTTP " + status, status, open);
        }

        throw new AgentSpendException($"AgentSpend: check answered {status}{Suffix(body)}", status);
    }

    private async Task<ControlAnswer> ControlAsync(HttpMethod method, Uri uri, byte[]? payload, CancellationToken cancellationToken)
    {
        try
        {
            using var request = new HttpRequestMessage(method, uri);
            if (payload is not null)
            {
                request.Content = new ByteArrayContent(payload);
                request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(JsonMediaType);
            }

            AddHeaders(request);
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(checkTimeout);
            using var response = await http().SendAsync(request, HttpCompletionOption.ResponseContentRead, cts.Token).ConfigureAwait(false);
            var text = await ReadBodyAsync(response, cts.Token).ConfigureAwait(false);
            return new ControlAnswer((int)response.StatusCode, Json.Parse(text), RetryAfter.From(response, seams.UtcNow()), null);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
#pragma warning disable CA1031 // Any failure to ask is an outage: FailOpen decides.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return new ControlAnswer(null, null, null, ex is OperationCanceledException ? "timed out" : ex.Message);
        }
    }

    private T Unavailable<T>(string why, int? status, T openValue)
    {
        if (failOpen)
        {
            Log.FailedOpen(logger, why);
            return openValue;
        }

        throw new AgentSpendUnavailableException("AgentSpend unreachable: " + why, status);
    }

    private static string Suffix(JsonElement? body) => Json.ReasonText(body) is { } reason ? ": " + reason : string.Empty;

    private readonly struct ControlAnswer
    {
        public ControlAnswer(int? status, JsonElement? body, TimeSpan? retryAfter, string? error)
        {
            Status = status;
            Body = body;
            RetryAfter = retryAfter;
            Error = error;
        }

        public int? Status { get; }

        public JsonElement? Body { get; }

        public TimeSpan? RetryAfter { get; }

        public string? Error { get; }
    }
}
