using System.Text.Json.Serialization;

namespace AgentSpend.Core.Pricing;

/// <summary>
/// A workspace's own price for one model (a negotiated discount), USD per million tokens. It replaces the
/// catalog's price of that model for this workspace only, from <see cref="EffectiveFrom"/> (or on every day
/// when that is null). It has no long-context tier: its rates apply at every prompt length.
/// </summary>
public sealed record PriceOverride
{
    /// <summary>The normalised model name (see <see cref="ModelNames"/>).</summary>
    [JsonPropertyName("model")] public required string Model { get; init; }
    [JsonPropertyName("input")] public required decimal Input { get; init; }
    [JsonPropertyName("output")] public required decimal Output { get; init; }
    [JsonPropertyName("cache_read")] public decimal? CacheRead { get; init; }
    [JsonPropertyName("cache_write_5m")] public decimal? CacheWrite5m { get; init; }
    [JsonPropertyName("cache_write_1h")] public decimal? CacheWrite1h { get; init; }
    [JsonPropertyName("reasoning")] public decimal? Reasoning { get; init; }
    [JsonPropertyName("effective_from")] public DateOnly? EffectiveFrom { get; init; }
    [JsonPropertyName("note")] public string? Note { get; init; }
    [JsonPropertyName("updated_at")] public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>The id of the key that set it.</summary>
    [JsonPropertyName("updated_by")] public string? UpdatedBy { get; init; }

    public bool AppliesOn(DateOnly day) => EffectiveFrom is not { } from || from <= day;

    /// <summary>The same rates as a catalog price, so that <see cref="CostEstimator"/> prices both one way.</summary>
    public ModelPrice ToModelPrice() => new()
    {
        EffectiveFrom = EffectiveFrom ?? DateOnly.MinValue,
        Input = Input,
        Output = Output,
        CacheRead = CacheRead,
        CacheWrite5m = CacheWrite5m,
        CacheWrite1h = CacheWrite1h,
        Reasoning = Reasoning,
    };
}

/// <summary>One workspace's overrides, by normalised model name.</summary>
public sealed class PriceOverrides
{
    private readonly Dictionary<string, PriceOverride> _byModel;

    public PriceOverrides(IEnumerable<PriceOverride> overrides)
    {
        _byModel = overrides.ToDictionary(o => o.Model, StringComparer.Ordinal);
    }

    /// <summary>No overrides: every model is priced from the catalog.</summary>
    public static PriceOverrides None { get; } = new([]);

    public int Count => _byModel.Count;

    /// <summary>All of them, by model name.</summary>
    public IReadOnlyList<PriceOverride> All => _byModel.Values.OrderBy(o => o.Model, StringComparer.Ordinal).ToArray();

    /// <summary>The override stored under exactly this spelling (normalised first); null when none.</summary>
    public PriceOverride? Get(string model) => _byModel.GetValueOrDefault(ModelNames.Normalize(model));

    /// <summary>
    /// The override in force on <paramref name="day"/> for <paramref name="model"/>: its own, else the one of
    /// the catalog entry it is an alias of (<paramref name="catalogModel"/>), because the catalog prices an
    /// alias as its entry and an override replaces the entry's price.
    /// </summary>
    public PriceOverride? Find(string model, string? catalogModel, DateOnly day)
    {
        if (_byModel.Count == 0)
        {
            return null;
        }

        if (_byModel.TryGetValue(ModelNames.Normalize(model), out var own) && own.AppliesOn(day))
        {
            return own;
        }

        return catalogModel is not null && _byModel.TryGetValue(ModelNames.Normalize(catalogModel), out var entry) && entry.AppliesOn(day)
            ? entry
            : null;
    }
}
