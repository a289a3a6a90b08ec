using AgentSpend.Core.Domain;
using AgentSpend.Core.Workspaces;

namespace AgentSpend.Core.Pricing;

/// <summary>
/// Prices one workspace's events: the rule shared by ingest and re-pricing. The workspace's override of a
/// model wins over the catalog. A client's own cost counts and the server's estimate is kept beside it;
/// without a client cost the estimate counts; without either the event stays unpriced.
/// </summary>
public sealed class WorkspacePricing(CostEstimator estimator, PriceOverrideStore overrides)
{
    public string CatalogVersion => estimator.Catalog.Version;

    /// <summary>The workspace's pricing as a function, its overrides looked up once: for batches and long runs.</summary>
    public async ValueTask<Func<UsageEvent, UsageEvent>> ForWorkspaceAsync(Workspace workspace, CancellationToken cancellationToken)
    {
        var own = await overrides.ForWorkspaceAsync(workspace.Id, cancellationToken).ConfigureAwait(false);
        return e => Price(e, estimator.EstimateNanos(e, own));
    }

    public async ValueTask<UsageEvent[]> PriceAsync(Workspace workspace, IReadOnlyList<UsageEvent> events, CancellationToken cancellationToken) =>
        events.Select(await ForWorkspaceAsync(workspace, cancellationToken).ConfigureAwait(false)).ToArray();

    public static UsageEvent Price(UsageEvent e, long? estimate) => estimate is { } value
        ? e with { EstimatedCostNanos = value, CostNanos = e.CostNanos ?? value, ServerPriced = e.CostNanos is null }
        : e;
}
