using AgentSpend.Core.Governance;
using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentSpend.Functions.Check;

/// <summary>The body of a pre-flight check. With <c>reserve</c>, an allowed check holds its estimate until usage with its <c>run_id</c> or <c>idempotency_key</c> is counted, or <c>reservation_ttl_seconds</c> pass.</summary>
public sealed record CheckBody(
    string? AgentName, string? UserId, string? Team, string? Model, string? Tool, decimal? EstimatedCostUsd, long? EstimatedTokens,
    bool? Reserve = null, string? RunId = null, string? IdempotencyKey = null, int? ReservationTtlSeconds = null);

/// <summary>POST /api/v1/check: may this agent make this call now? 200 allowed, 429 refused with the reason.</summary>
public static class CheckEndpoints
{
    /// <summary>Releases a reservation before its usage arrives: the call it was made for will not happen.</summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> ReleaseAsync(string id, Caller caller, BudgetReservations reservations, CancellationToken cancellationToken)
    {
        if (await reservations.FindAsync(caller.Workspace.Id, id, cancellationToken).ConfigureAwait(false) is not { } reservation)
        {
            return Problems.NotFound("id", $"No open reservation '{id}' in this workspace: it was released, has expired, or never existed.");
        }

        await reservations.ReleaseAsync(caller.Workspace.Id, reservation, cancellationToken).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    public static async Task<Results<Ok<CheckOutcome>, RetryLater<CheckOutcome>, JsonHttpResult<CheckOutcome>, ProblemHttpResult>> CheckAsync(
        HttpRequest request, Caller caller, PreflightCheck check, TimeProvider clock, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadAsync<CheckBody>(request, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        if (string.IsNullOrWhiteSpace(body!.AgentName))
        {
            return Problems.BadRequest("agent_name", "is required.");
        }

        if (body.EstimatedCostUsd is < 0)
        {
            return Problems.BadRequest("estimated_cost_usd", "must not be negative.");
        }

        if (body.EstimatedTokens is < 0)
        {
            return Problems.BadRequest("estimated_tokens", "must not be negative.");
        }

        if (body.ReservationTtlSeconds is { } ttl && (ttl < 1 || ttl > BudgetReservations.MaxTtl.TotalSeconds))
        {
            return Problems.BadRequest("reservation_ttl_seconds", $"must be between 1 and {BudgetReservations.MaxTtl.TotalSeconds:F0}.");
        }

        if (body.Reserve != true && (body.ReservationTtlSeconds is not null))
        {
            return Problems.BadRequest("reservation_ttl_seconds", "applies only to a check with \"reserve\": true.");
        }

        var checkRequest = new CheckRequest(body.AgentName, body.UserId, body.Team, body.Model, body.EstimatedCostUsd, body.EstimatedTokens, body.Tool)
        {
            KeyId = caller.KeyId,
            Reserve = body.Reserve == true,
            RunId = body.RunId,
            IdempotencyKey = body.IdempotencyKey,
            ReservationTtl = body.ReservationTtlSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
        };
        CheckOutcome outcome;
        try
        {
            outcome = await check.CheckAsync(caller.Workspace, checkRequest, cancellationToken).ConfigureAwait(false);
        }
        catch (UnknownToolException)
        {
            return Problems.BadRequest("tool", "is not a registered tool of this workspace (see /api/v1/tools).");
        }

        if (outcome.Allowed)
        {
            return TypedResults.Ok(outcome);
        }

        // A refusal that ends (a budget's period, a pause) says when; a kill switch does not end by itself.
        return outcome.ResumeAt is { } resume && DateTimeOffset.TryParse(resume, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var at)
            ? RetryLater.Json(StatusCodes.Status429TooManyRequests, outcome, at - clock.GetUtcNow())
            : TypedResults.Json(outcome, statusCode: StatusCodes.Status429TooManyRequests);
    }
}
