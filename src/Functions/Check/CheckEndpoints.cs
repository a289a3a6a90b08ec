using AgentSpend.Core.Governance;
using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentSpend.Functions.Check;

/// <summary>The body of a pre-flight check.</summary>
public sealed record CheckBody(string? AgentName, string? UserId, string? Team, string? Model, string? Tool, decimal? EstimatedCostUsd, long? EstimatedTokens);

/// <summary>POST /api/v1/check: may this agent make this call now? 200 allowed, 429 refused with the reason.</summary>
public static class CheckEndpoints
{
    public static void MapCheck(this IEndpointRouteBuilder app) =>
        app.MapPost("/api/v1/check", CheckAsync).RequireAuthorization(AuthPolicies.Ingest).RequireRateLimiting(KeyRateLimiting.Policy);

    public static async Task<Results<Ok<CheckOutcome>, JsonHttpResult<CheckOutcome>, ProblemHttpResult>> CheckAsync(
        HttpRequest request, HttpResponse response, Caller caller, PreflightCheck check, TimeProvider clock, CancellationToken cancellationToken)
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

        CheckOutcome outcome;
        try
        {
            outcome = await check.CheckAsync(caller.Workspace, new CheckRequest(body.AgentName, body.UserId, body.Team, body.Model, body.EstimatedCostUsd, body.EstimatedTokens, body.Tool), cancellationToken).ConfigureAwait(false);
        }
        catch (UnknownToolException)
        {
            return Problems.BadRequest("tool", "is not a registered tool of this workspace (see /api/v1/tools).");
        }

        if (outcome.Allowed)
        {
            return TypedResults.Ok(outcome);
        }

        if (outcome.ResumeAt is { } resume && DateTimeOffset.TryParse(resume, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var at))
        {
            response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling((at - clock.GetUtcNow()).TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return TypedResults.Json(outcome, statusCode: StatusCodes.Status429TooManyRequests);
    }
}
