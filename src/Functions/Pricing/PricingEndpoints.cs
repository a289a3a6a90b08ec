using AgentSpend.Core.Domain;
using AgentSpend.Core.Metrics;
using AgentSpend.Core.Pricing;
using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentSpend.Functions.Pricing;

/// <summary>The catalog, and this workspace's overrides of it (which win for its events).</summary>
public sealed record CatalogView(string Version, string Currency, string Unit, IReadOnlyList<CatalogModel> Models, IReadOnlyList<PriceOverride> Overrides);

public sealed record UnpricedModel(string Model, long Events, long UnpricedEvents, long InputTokens, long OutputTokens, long CacheReadTokens, long CacheWriteTokens, long ReasoningTokens);

public sealed record UnpricedModels(string From, string To, string CatalogVersion, IReadOnlyList<UnpricedModel> Items);

/// <summary>/api/v1/pricing: the price catalog the server prices with (and the workspace's overrides), and the models it could not price.</summary>
public static class PricingEndpoints
{
    public static async Task<Ok<CatalogView>> GetCatalogAsync(Caller caller, PriceCatalog catalog, PriceOverrideStore overrides, CancellationToken cancellationToken) =>
        TypedResults.Ok(new CatalogView(catalog.Version, "USD", "per million tokens", catalog.Models,
            await overrides.ListAsync(caller.Workspace.Id, cancellationToken).ConfigureAwait(false)));

    /// <summary>
    /// Models seen in the range that neither the catalog nor the workspace's overrides price, most used first: what to
    /// add to the catalog. The range as the metrics take it (range, or from and to), and their filters.
    /// </summary>
    public static async Task<Results<Ok<UnpricedModels>, ProblemHttpResult>> GetUnpricedAsync(
        string? range, string? from, string? to, MetricsFilters filters, Caller caller, MetricsService metrics, PriceCatalog catalog, PriceOverrideStore overrides, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (filters.Problem is { } problem)
        {
            return problem;
        }

        var filter = filters.Filter;

        var days = MetricsRange.Resolve(range, from, to, caller.Workspace, clock, MetricsRange.MaxDays, out var error);
        if (error is not null)
        {
            return Problems.BadRequest(error.Parameter, error.Reason);
        }

        var byModel = await metrics.BreakdownAsync(caller.Workspace, days, Grouping.Of(Dimension.Model), filter, cancellationToken).ConfigureAwait(false);
        var own = new PriceOverrides(await overrides.ListAsync(caller.Workspace.Id, cancellationToken).ConfigureAwait(false));
        var items = byModel.Items
            .Where(i => i.Key is not null && catalog.Find(i.Key) is null && own.Get(i.Key) is null)
            .Select(i => new UnpricedModel(i.Key!, i.Events, i.UnpricedEvents, i.InputTokens, i.OutputTokens, i.CacheReadTokens, i.CacheWriteTokens, i.ReasoningTokens))
            .OrderByDescending(i => i.UnpricedEvents).ThenByDescending(i => i.Events).ThenBy(i => i.Model, StringComparer.Ordinal)
            .ToArray();
        return TypedResults.Ok(new UnpricedModels(byModel.From, byModel.To, catalog.Version, items));
    }
}
