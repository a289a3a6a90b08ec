using AgentSpend.Core.Aggregation;
using AgentSpend.Core.Domain;

namespace AgentSpend.Core.Metrics;

/// <summary>
/// What a metrics query keeps: events equal to every given value (<c>agent</c>, <c>model</c>, <c>provider</c>,
/// <c>user</c>, <c>team</c>, <c>harness</c>, <c>repo</c>, <c>tag.&lt;key&gt;</c>). Empty keeps everything.
/// </summary>
public sealed class MetricsFilter
{
    public const string TagPrefix = "tag.";

    /// <summary>The dimensions a query may filter on, by their parameter names.</summary>
    public static IReadOnlyList<Dimension> FilterDimensions { get; } =
        [Dimension.Agent, Dimension.Model, Dimension.Provider, Dimension.User, Dimension.Team, Dimension.Harness, Dimension.Repo, Dimension.Key];

    public static MetricsFilter None { get; } = new([], []);

    public static MetricsFilter For(Dimension dimension, string value) => new([(dimension, value)], []);

    private MetricsFilter(IReadOnlyList<(Dimension Dimension, string Value)> dimensions, IReadOnlyList<(string Key, string Value)> tags)
    {
        Dimensions = dimensions;
        Tags = tags;
    }

    public IReadOnlyList<(Dimension Dimension, string Value)> Dimensions { get; }

    public IReadOnlyList<(string Key, string Value)> Tags { get; }

    public bool IsEmpty => Dimensions.Count == 0 && Tags.Count == 0;

    public bool Matches(UsageSlice slice)
    {
        foreach (var (dimension, value) in Dimensions)
        {
            if (!string.Equals(slice.ValueOf(dimension), value, StringComparison.Ordinal))
            {
                return false;
            }
        }

        foreach (var (key, value) in Tags)
        {
            if (!string.Equals(slice.Tag(key), value, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>These filters and one more condition: a slice must also have <paramref name="value"/> for <paramref name="dimension"/>.</summary>
    public MetricsFilter With(Dimension dimension, string value) => new([.. Dimensions, (dimension, value)], Tags);

    /// <summary>The filters as the query gave them, for echoing in answers; null when there are none.</summary>
    public IReadOnlyDictionary<string, string>? Describe() => IsEmpty
        ? null
        : Dimensions.Select(d => KeyValuePair.Create(d.Dimension.Name(), d.Value))
            .Concat(Tags.Select(t => KeyValuePair.Create(TagPrefix + t.Key, t.Value)))
            .ToDictionary(StringComparer.Ordinal);

    /// <summary>The filters' names, for messages: "agent, user, …".</summary>
    public static string FilterNameList => string.Join(", ", FilterDimensions.Select(d => d.Name()));

    /// <summary>True for a filter's name: a filterable dimension, or <c>tag.&lt;key&gt;</c>.</summary>
    public static bool IsFilterName(string name) =>
        (name.StartsWith(TagPrefix, StringComparison.Ordinal) && name.Length > TagPrefix.Length)
        || (DimensionExtensions.TryParse(name, out var dimension) && FilterDimensions.Contains(dimension));

    /// <summary>
    /// Reads the filters among a query's parameters, passing over the others: which parameters an endpoint takes is
    /// checked before, so that a misspelt filter never widens an answer.
    /// </summary>
    public static MetricsFilter Parse(IEnumerable<KeyValuePair<string, string[]>> query, out MetricsParameterError? error)
    {
        error = null;
        var dimensions = new List<(Dimension, string)>();
        var tags = new List<(string, string)>();
        foreach (var (name, values) in query.Where(q => IsFilterName(q.Key)).OrderBy(q => q.Key, StringComparer.Ordinal))
        {
            if (values.Length != 1)
            {
                error = new MetricsParameterError(name, "give one value.");
                return None;
            }

            if (string.IsNullOrWhiteSpace(values[0]))
            {
                error = new MetricsParameterError(name, "must not be empty.");
                return None;
            }

            if (DimensionExtensions.TryParse(name, out var dimension))
            {
                dimensions.Add((dimension, values[0]));
            }
            else
            {
                tags.Add((name[TagPrefix.Length..], values[0]));
            }
        }

        return dimensions.Count == 0 && tags.Count == 0 ? None : new MetricsFilter(dimensions, tags);
    }
}

/// <summary>What a breakdown or a split groups by: a dimension, or a tag's values.</summary>
public sealed record Grouping(Dimension? Dimension, string? TagKey)
{
    public string Name => Dimension is { } d ? d.Name() : MetricsFilter.TagPrefix + TagKey;

    /// <summary>True when the day buckets alone can answer it (a tag needs the day's slices).</summary>
    public bool InBuckets => Dimension is not null;

    public string ValueOf(UsageSlice slice) => Dimension is { } d ? slice.ValueOf(d) : slice.Tag(TagKey!) ?? string.Empty;

    public static Grouping Of(Dimension dimension) => new(dimension, null);

    /// <summary>Reads <c>by</c> or <c>split</c>: a dimension name or <c>tag.&lt;key&gt;</c>.</summary>
    public static bool TryParse(string? name, out Grouping grouping)
    {
        if (DimensionExtensions.TryParse(name, out var dimension))
        {
            grouping = Of(dimension);
            return true;
        }

        if (name is not null && name.StartsWith(MetricsFilter.TagPrefix, StringComparison.Ordinal) && name.Length > MetricsFilter.TagPrefix.Length)
        {
            grouping = new Grouping(null, name[MetricsFilter.TagPrefix.Length..]);
            return true;
        }

        grouping = Of(Domain.Dimension.Agent);
        return false;
    }
}
