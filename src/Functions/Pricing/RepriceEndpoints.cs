using AgentSpend.Core.Audit;
using AgentSpend.Core.Metrics;
using AgentSpend.Core.Pricing;
using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentSpend.Functions.Pricing;

/// <summary>POST /api/v1/pricing/reprice: re-prices stored events of a range after a catalog or override change.</summary>
public static class RepriceEndpoints
{
    /// <summary>Both ends are required: a re-pricing rewrites stored figures, so it never runs over a range the caller did not name.</summary>
    public static async Task<Results<Ok<RepriceOutcome>, ProblemHttpResult>> RepriceAsync(
        string? from, string? to, Caller caller, RepriceService reprice, AuditLog audit, TimeProvider clock, CancellationToken cancellationToken)
    {
        foreach (var (name, value) in new[] { ("from", from), ("to", to) })
        {
            if (string.IsNullOrEmpty(value))
            {
                return Problems.BadRequest(name, $"'{name}' is required: the first and last day (YYYY-MM-DD) whose events are re-priced.");
            }
        }

        var range = MetricsRange.Parse(from, to, caller.Workspace, clock, RepriceService.MaxDays, out var error);
        if (error is not null)
        {
            return Problems.BadRequest(error.Parameter, error.Reason);
        }

        var outcome = await reprice.RunAsync(caller.Workspace, range.From, range.To, cancellationToken).ConfigureAwait(false);
        await audit.AppendAsync(caller.Workspace.Id, AuditActions.PricingReprice, $"{outcome.From}..{outcome.To}", caller.KeyId, caller.SourceIp, null, outcome).ConfigureAwait(false);
        return TypedResults.Ok(outcome);
    }
}
