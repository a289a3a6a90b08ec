using System.Text.Json;
using AgentSpend.Core.Domain;

namespace AgentSpend.Core.Aggregation;

/// <summary>
/// Where an event falls on every filterable coordinate at once: its UTC hour, agent, provider, model,
/// user, team, framework, task type, API key and all its tags. A day's slices hold the counters of each such
/// combination, so a filter on any mix of coordinates — with hours and a breakdown by any other
/// coordinate — is answered exactly from one day's slices. Runs and sessions are left out: they
/// would make nearly every event its own slice; they have rollups of their own.
/// </summary>
public sealed class UsageSlice : IEquatable<UsageSlice>
{
    // hour, agent, provider, model, user, team, framework, task type, key, then tag key/value pairs sorted by key.
    // Slices written before the key was a coordinate have eight fixed parts: an even count where today's is odd.
    private const int FixedParts = 9;
    private const int FixedPartsBeforeKey = 8;

    private readonly string[] _parts;
    private readonly int _fixed;
    private readonly int _hash;

    private UsageSlice(string[] parts)
    {
        _parts = parts;
        _fixed = parts.Length % 2 == FixedParts % 2 ? FixedParts : FixedPartsBeforeKey;
        var hash = default(HashCode);
        foreach (var part in parts)
        {
            hash.Add(part, StringComparer.Ordinal);
        }

        _hash = hash.ToHashCode();
    }

    public string Hour => _parts[0];

    public static UsageSlice Of(UsageEvent e)
    {
        var tagCount = e.Tags?.Count ?? 0;
        var parts = new string[FixedParts + (2 * tagCount)];
        parts[0] = DailyBucket.HourKey(e.Timestamp);
        parts[1] = e.Agent;
        parts[2] = e.Provider;
        parts[3] = e.Model;
        parts[4] = e.UserId ?? string.Empty;
        parts[5] = e.Team ?? string.Empty;
        parts[6] = e.Framework ?? string.Empty;
        parts[7] = e.TaskType ?? string.Empty;
        parts[8] = e.KeyId ?? string.Empty;
        if (e.Tags is { } tags)
        {
            var i = FixedParts;
            foreach (var (key, value) in tags.OrderBy(t => t.Key, StringComparer.Ordinal))
            {
                parts[i++] = key;
                parts[i++] = value;
            }
        }

        return new UsageSlice(parts);
    }

    /// <summary>The slice's value on a dimension; empty where its events did not say.</summary>
    public string ValueOf(Dimension dimension) => dimension switch
    {
        Dimension.Agent => _parts[1],
        Dimension.Provider => _parts[2],
        Dimension.Model => _parts[3],
        Dimension.User => _parts[4],
        Dimension.Team => _parts[5],
        Dimension.Framework => _parts[6],
        Dimension.TaskType => _parts[7],
        Dimension.Harness => Tag("harness") ?? string.Empty,
        Dimension.Repo => Tag("repo") ?? string.Empty,
        Dimension.Branch => Tag("branch") ?? string.Empty,
        Dimension.Key => _fixed > FixedPartsBeforeKey ? _parts[FixedPartsBeforeKey] : string.Empty,
        _ => throw new ArgumentOutOfRangeException(nameof(dimension)),
    };

    /// <summary>The value of a tag; null when the slice's events do not carry it.</summary>
    public string? Tag(string key)
    {
        for (var i = _fixed; i < _parts.Length; i += 2)
        {
            if (string.Equals(_parts[i], key, StringComparison.Ordinal))
            {
                return _parts[i + 1];
            }
        }

        return null;
    }

    /// <summary>Stored size in characters, at most (JSON escaping can only shrink below this bound for the quotes and commas counted).</summary>
    internal int StoredSize()
    {
        var size = 4 + (UsageCounters.FieldCount * 21);
        foreach (var part in _parts)
        {
            size += JsonEncodedText.Encode(part).EncodedUtf8Bytes.Length + 3;
        }

        return size;
    }

    internal void WriteTo(Utf8JsonWriter writer)
    {
        writer.WriteStartArray();
        foreach (var part in _parts)
        {
            writer.WriteStringValue(part);
        }

        writer.WriteEndArray();
    }

    internal static UsageSlice Read(JsonElement parts)
    {
        var values = new string[parts.GetArrayLength()];
        if (values.Length < FixedPartsBeforeKey)
        {
            throw new InvalidDataException($"A usage slice has {values.Length} parts; expected {FixedParts} and tag pairs.");
        }

        var i = 0;
        foreach (var part in parts.EnumerateArray())
        {
            values[i++] = part.GetString() ?? string.Empty;
        }

        return new UsageSlice(values);
    }

    public bool Equals(UsageSlice? other) =>
        other is not null && (ReferenceEquals(this, other) || (_hash == other._hash && _parts.AsSpan().SequenceEqual(other._parts)));

    public override bool Equals(object? obj) => obj is UsageSlice other && Equals(other);

    public override int GetHashCode() => _hash;
}
