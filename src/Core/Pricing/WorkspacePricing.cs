using AgentSpend.Core.Domain;
using AgentSpend.Core.Workspaces;

namespace AgentSpend.Core.Pricing;

/// <summary>
/// Prices one workspace's events: the rule shared by ingest and re-pricing. A client's own cost counts and
/// the server's estimate is kept beside it; without a client cost the estimate counts; without either the
/// event stays unpriced.
/// </summary>
public sealed class WorkspacePricing(CostEstimator estimator)
{
    public string CatalogVersion => estimator.Catalog.Version;

    public ValueTask<UsageEvent> PriceAsync(Workspace workspace, UsageEvent e, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Price(e, estimator.EstimateNanos(e)));

    public static UsageEvent Price(UsageEvent e, long? estimate) => estimate is { } value
        ? e with { EstimatedCostNanos = value, CostNanos = e.CostNanos ?? value, ServerPriced = e.CostNanos is null }
        : e;
}
