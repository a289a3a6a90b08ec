using System.Globalization;
using System.Text.Json.Serialization;
using AgentSpend.Core.Audit;
using AgentSpend.Core.Ingest;
using AgentSpend.Core.Pricing;
using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentSpend.Functions.Pricing;

/// <summary>The body of PUT /api/v1/pricing/models/{model}: a catalog price entry's fields, USD per million tokens.</summary>
public sealed record PriceOverrideBody
{
    public decimal? Input { get; init; }
    public decimal? Output { get; init; }
    public decimal? CacheRead { get; init; }
    [JsonPropertyName("cache_write_5m")] public decimal? CacheWrite5m { get; init; }
    [JsonPropertyName("cache_write_1h")] public decimal? CacheWrite1h { get; init; }
    public decimal? Reasoning { get; init; }
    public string? EffectiveFrom { get; init; }
    public string? Note { get; init; }
}

/// <summary>One set of rates as the API shows them; <c>effective_from</c> null: on every day.</summary>
public sealed record PriceView(
    decimal Input,
    decimal Output,
    decimal? CacheRead,
    [property: JsonPropertyName("cache_write_5m")] decimal? CacheWrite5m,
    [property: JsonPropertyName("cache_write_1h")] decimal? CacheWrite1h,
    decimal? Reasoning,
    DateOnly? EffectiveFrom,
    LongContextPrice? LongContext)
{
    public static PriceView Of(AppliedPrice applied) => applied.Override is { } own
        ? new(own.Input, own.Output, own.CacheRead, own.CacheWrite5m, own.CacheWrite1h, own.Reasoning, own.EffectiveFrom, null)
        : new(applied.Price.Input, applied.Price.Output, applied.Price.CacheRead, applied.Price.CacheWrite5m, applied.Price.CacheWrite1h, applied.Price.Reasoning,
            applied.Price.EffectiveFrom, applied.Price.LongContext);
}

/// <summary>
/// What a model costs this workspace on one day: <c>source</c> says whether its own override or the catalog
/// sets the <c>price</c>; both are shown as stored, for comparison.
/// </summary>
public sealed record EffectivePriceView(
    string Model, string On, string Source, PriceView Price, PriceOverride? Override, CatalogModel? Catalog, string CatalogVersion);

/// <summary>
/// /api/v1/pricing/models/{model}: a workspace's own prices of models (negotiated discounts), which win over
/// the catalog for its events. The model may be spelled any way the catalog understands (it is normalised),
/// slashes included. Changes are audited with the prices before and after.
/// </summary>
public static class PriceOverrideEndpoints
{
    public const string ModelsPath = "/api/v1/pricing/models";

    /// <summary>USD per million tokens. Far above any list price, and low enough that no event's estimate can overflow.</summary>
    public const decimal MaxPrice = 1000m;

    public const int MaxNoteLength = 500;

    public static async Task<Results<Ok<EffectivePriceView>, ProblemHttpResult>> GetAsync(
        string? model, string? on, Caller caller, PriceOverrideStore overrides, CostEstimator estimator, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (CheckModel(model, out var name) is { } badModel)
        {
            return badModel;
        }

        var day = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        if (on is not null && !TryParseDay(on, out day))
        {
            return Problems.BadRequest("on", "must be a date, YYYY-MM-DD.");
        }

        // Read, not cached: an admin checking a change made on another instance sees it at once.
        var own = new PriceOverrides(await overrides.ListAsync(caller.Workspace.Id, cancellationToken).ConfigureAwait(false));
        var applied = estimator.PriceFor(name, day, own);
        var stored = applied?.Override ?? own.Get(name);
        if (applied is null)
        {
            return Problems.NotFound("model", stored?.EffectiveFrom is { } from
                ? $"'{name}' has no price on {Format(day)}: the catalog does not know it and this workspace's override applies from {Format(from)}."
                : $"Neither this workspace's overrides nor the catalog price '{name}'.");
        }

        return TypedResults.Ok(new EffectivePriceView(
            name, Format(day), applied.Source == PriceSource.Override ? "override" : "catalog", PriceView.Of(applied), stored, applied.CatalogEntry, estimator.Catalog.Version));
    }

    public static async Task<Results<Ok<PriceOverride>, ProblemHttpResult>> PutAsync(
        string? model, HttpRequest request, Caller caller, PriceOverrideStore overrides, AuditLog audit, CancellationToken cancellationToken)
    {
        if (CheckModel(model, out var name) is { } badModel)
        {
            return badModel;
        }

        var (body, problem) = await JsonBody.ReadAsync<PriceOverrideBody>(request, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        if (Validate(body!, name, out var value) is { } invalid)
        {
            return Problems.BadRequest(invalid.Field, invalid.Reason);
        }

        var existing = await overrides.ForWorkspaceAsync(caller.Workspace.Id, cancellationToken).ConfigureAwait(false);
        if (existing.Count >= PriceOverrideStore.MaxPerWorkspace && existing.Get(name) is null)
        {
            return Problems.Conflict("model", $"A workspace may override at most {PriceOverrideStore.MaxPerWorkspace} models; delete one first.");
        }

        var stored = overrides.Stamp(value!, caller.KeyId);
        var before = await overrides.SetAsync(caller.Workspace.Id, stored, cancellationToken).ConfigureAwait(false);
        await audit.AppendAsync(caller.Workspace.Id, AuditActions.PricingOverrideSet, name, caller.KeyId, caller.SourceIp, before, stored).ConfigureAwait(false);
        return TypedResults.Ok(stored);
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(
        string? model, Caller caller, PriceOverrideStore overrides, AuditLog audit, CancellationToken cancellationToken)
    {
        if (CheckModel(model, out var name) is { } badModel)
        {
            return badModel;
        }

        if (await overrides.DeleteAsync(caller.Workspace.Id, name, cancellationToken).ConfigureAwait(false) is not { } before)
        {
            return Problems.NotFound("model", $"This workspace has no price override of '{name}'.");
        }

        await audit.AppendAsync(caller.Workspace.Id, AuditActions.PricingOverrideDelete, name, caller.KeyId, caller.SourceIp, before, null).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    /// <summary>The normalised name, or a problem naming <c>model</c>.</summary>
    private static ProblemHttpResult? CheckModel(string? model, out string name)
    {
        // Kestrel decodes every escape of the path but %2F, so a model sent as anthropic%2Fclaude-… arrives with it.
        var raw = model?.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
        name = "";
        var reason = raw switch
        {
            null or "" => "is required: /api/v1/pricing/models/{model}.",
            _ when raw.Length > IngestRequestParser.MaxNameLength => $"must be at most {IngestRequestParser.MaxNameLength} characters.",
            _ when raw.Any(char.IsControl) => "must not contain control characters.",
            _ when ModelNames.Normalize(raw).Length == 0 => "must name a model.",
            _ => null,
        };
        if (reason is not null)
        {
            return Problems.BadRequest("model", reason);
        }

        name = ModelNames.Normalize(raw!);
        return null;
    }

    private static (string Field, string Reason)? Validate(PriceOverrideBody body, string model, out PriceOverride? value)
    {
        value = null;
        foreach (var (field, price, required) in new[]
                 {
                     ("input", body.Input, true), ("output", body.Output, true), ("cache_read", body.CacheRead, false),
                     ("cache_write_5m", body.CacheWrite5m, false), ("cache_write_1h", body.CacheWrite1h, false), ("reasoning", body.Reasoning, false),
                 })
        {
            var reason = price switch
            {
                null when required => "is required: USD per million tokens.",
                < 0 => "must not be negative.",
                > MaxPrice => $"must be at most {MaxPrice} (USD per million tokens).",
                _ => null,
            };
            if (reason is not null)
            {
                return (field, reason);
            }
        }

        DateOnly? from = null;
        if (body.EffectiveFrom is not null)
        {
            if (!TryParseDay(body.EffectiveFrom, out var day))
            {
                return ("effective_from", "must be a date, YYYY-MM-DD (or absent: on every day).");
            }

            from = day;
        }

        if (body.Note is { } note && (note.Length > MaxNoteLength || note.Any(char.IsControl)))
        {
            return ("note", $"must be at most {MaxNoteLength} characters, without control characters.");
        }

        value = new PriceOverride
        {
            Model = model,
            Input = body.Input!.Value,
            Output = body.Output!.Value,
            CacheRead = body.CacheRead,
            CacheWrite5m = body.CacheWrite5m,
            CacheWrite1h = body.CacheWrite1h,
            Reasoning = body.Reasoning,
            EffectiveFrom = from,
            Note = body.Note,
        };
        return null;
    }

    private static bool TryParseDay(string text, out DateOnly day) =>
        DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out day);

    private static string Format(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
