using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgentSpend.Core.Pricing;

/// <summary>Prices per million tokens (USD) in force from one date.</summary>
public sealed record ModelPrice
{
    [JsonPropertyName("effective_from")] public required DateOnly EffectiveFrom { get; init; }
    [JsonPropertyName("input")] public required decimal Input { get; init; }
    [JsonPropertyName("output")] public required decimal Output { get; init; }
    [JsonPropertyName("cache_read")] public decimal? CacheRead { get; init; }
    [JsonPropertyName("cache_write_5m")] public decimal? CacheWrite5m { get; init; }
    [JsonPropertyName("cache_write_1h")] public decimal? CacheWrite1h { get; init; }
    [JsonPropertyName("reasoning")] public decimal? Reasoning { get; init; }
    [JsonPropertyName("long_context")] public LongContextPrice? LongContext { get; init; }
}

/// <summary>Rates that replace the base ones when a request's input exceeds <see cref="AboveInputTokens"/>.</summary>
public sealed record LongContextPrice
{
    [JsonPropertyName("above_input_tokens")] public required long AboveInputTokens { get; init; }
    [JsonPropertyName("input")] public required decimal Input { get; init; }
    [JsonPropertyName("output")] public required decimal Output { get; init; }
    [JsonPropertyName("cache_read")] public decimal? CacheRead { get; init; }
    [JsonPropertyName("cache_write_5m")] public decimal? CacheWrite5m { get; init; }
    [JsonPropertyName("cache_write_1h")] public decimal? CacheWrite1h { get; init; }
}

public sealed record CatalogModel
{
    [JsonPropertyName("provider")] public required string Provider { get; init; }
    [JsonPropertyName("model")] public required string Model { get; init; }
    [JsonPropertyName("aliases")] public IReadOnlyList<string> Aliases { get; init; } = [];
    [JsonPropertyName("prices")] public required IReadOnlyList<ModelPrice> Prices { get; init; }
    [JsonPropertyName("source")] public required string Source { get; init; }
    [JsonPropertyName("compiled")] public required DateOnly Compiled { get; init; }
    [JsonPropertyName("note")] public string? Note { get; init; }

    /// <summary>The price in force on <paramref name="day"/>; the earliest one for days before any.</summary>
    public ModelPrice PriceOn(DateOnly day) =>
        Prices.Where(p => p.EffectiveFrom <= day).MaxBy(p => p.EffectiveFrom) ?? Prices.MinBy(p => p.EffectiveFrom)!;
}

/// <summary>
/// The price catalog shipped with the app (<c>price-catalog.json</c>, versioned data): list prices per
/// model with their sources. Looks models up by their normalised name (see <see cref="ModelNames"/>).
/// </summary>
public sealed class PriceCatalog
{
    private readonly Dictionary<string, CatalogModel> _byName;

    private PriceCatalog(string version, IReadOnlyList<CatalogModel> models)
    {
        Version = version;
        Models = models;
        _byName = new Dictionary<string, CatalogModel>(StringComparer.Ordinal);
        foreach (var model in models)
        {
            foreach (var name in model.Aliases.Prepend(model.Model))
            {
                if (!_byName.TryAdd(ModelNames.Normalize(name), model))
                {
                    throw new InvalidDataException($"The price catalog names '{name}' twice.");
                }
            }
        }
    }

    public string Version { get; }

    public IReadOnlyList<CatalogModel> Models { get; }

    /// <summary>The catalog embedded in this assembly.</summary>
    public static PriceCatalog Shipped { get; } = LoadShipped();

    /// <summary>Path of a catalog file that replaces the shipped one, so prices can change without a new release.</summary>
    public const string CatalogPathSetting = "AGENTSPEND_PRICE_CATALOG";

    /// <summary>The catalog named by <see cref="CatalogPathSetting"/>, else the shipped one. A file that cannot be read stops the start.</summary>
    public static PriceCatalog FromConfiguration(Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        if (configuration[CatalogPathSetting] is not { Length: > 0 } path)
        {
            return Shipped;
        }

        try
        {
            return Parse(File.ReadAllBytes(path));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or JsonException)
        {
            throw new InvalidOperationException($"{CatalogPathSetting}: the price catalog '{path}' cannot be used: {ex.Message}", ex);
        }
    }

    public CatalogModel? Find(string model) =>
        _byName.TryGetValue(ModelNames.Normalize(model), out var entry) ? entry : null;

    public static PriceCatalog Parse(ReadOnlySpan<byte> json)
    {
        var file = JsonSerializer.Deserialize<CatalogFile>(json) ?? throw new InvalidDataException("The price catalog is empty.");
        foreach (var model in file.Models)
        {
            if (model.Prices.Count == 0 || model.Prices.Any(p => p.Input < 0 || p.Output < 0))
            {
                throw new InvalidDataException($"The price catalog entry '{model.Model}' has no valid price.");
            }
        }

        return new PriceCatalog(file.Version, file.Models);
    }

    private static PriceCatalog LoadShipped()
    {
        using var stream = typeof(PriceCatalog).Assembly.GetManifestResourceStream("AgentSpend.Core.Pricing.price-catalog.json")
            ?? throw new InvalidOperationException("price-catalog.json is not embedded in AgentSpend.Core.");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return Parse(buffer.ToArray());
    }

    private sealed record CatalogFile
    {
        [JsonPropertyName("version")] public required string Version { get; init; }
        [JsonPropertyName("models")] public required IReadOnlyList<CatalogModel> Models { get; init; }
    }
}
