namespace AgentSpend.Core.Domain;

/// <summary>The dimensions every daily bucket is broken down by.</summary>
public enum Dimension
{
    Agent,
    Model,
    Provider,
    User,
    Team,
}

public static class DimensionExtensions
{
    public static IReadOnlyList<Dimension> All { get; } = Enum.GetValues<Dimension>();

    /// <summary>The name used in URLs and in storage.</summary>
    public static string Name(this Dimension dimension) => dimension switch
    {
        Dimension.Agent => "agent",
        Dimension.Model => "model",
        Dimension.Provider => "provider",
        Dimension.User => "user",
        Dimension.Team => "team",
        _ => throw new ArgumentOutOfRangeException(nameof(dimension)),
    };

    public static bool TryParse(string? name, out Dimension dimension)
    {
        foreach (var candidate in All)
        {
            if (string.Equals(candidate.Name(), name, StringComparison.Ordinal))
            {
                dimension = candidate;
                return true;
            }
        }

        dimension = default;
        return false;
    }

    /// <summary>The event's value on this dimension; empty when the event does not say (user and team are optional).</summary>
    public static string ValueOf(this Dimension dimension, UsageEvent e) => dimension switch
    {
        Dimension.Agent => e.Agent,
        Dimension.Model => e.Model,
        Dimension.Provider => e.Provider,
        Dimension.User => e.UserId ?? string.Empty,
        Dimension.Team => e.Team ?? string.Empty,
        _ => throw new ArgumentOutOfRangeException(nameof(dimension)),
    };
}
