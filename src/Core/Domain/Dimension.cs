namespace AgentSpend.Core.Domain;

/// <summary>The dimensions every daily bucket is broken down by.</summary>
public enum Dimension
{
    Agent,
    Model,
    Provider,
    User,
    Team,

    // Added after the first five: buckets written before them simply have no values for them.
    Framework,
    TaskType,
    Harness,
    Repo,
    Branch,

    /// <summary>The API key the usage was sent with.</summary>
    Key,
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
        Dimension.Framework => "framework",
        Dimension.TaskType => "task_type",
        Dimension.Harness => "harness",
        Dimension.Repo => "repo",
        Dimension.Branch => "branch",
        Dimension.Key => "key",
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

    /// <summary>The names, for messages: "agent, model, … or branch".</summary>
    public static string NameList { get; } = string.Join(", ", All.Take(All.Count - 1).Select(d => d.Name())) + " or " + All[^1].Name();

    /// <summary>The event's value on this dimension; empty when the event does not say (all but agent, model and provider are optional).</summary>
    public static string ValueOf(this Dimension dimension, UsageEvent e) => dimension switch
    {
        Dimension.Agent => e.Agent,
        Dimension.Model => e.Model,
        Dimension.Provider => e.Provider,
        Dimension.User => e.UserId ?? string.Empty,
        Dimension.Team => e.Team ?? string.Empty,
        Dimension.Framework => e.Framework ?? string.Empty,
        Dimension.TaskType => e.TaskType ?? string.Empty,
        Dimension.Harness => e.Tags?.GetValueOrDefault("harness") ?? string.Empty,
        Dimension.Repo => e.Tags?.GetValueOrDefault("repo") ?? string.Empty,
        Dimension.Branch => e.Tags?.GetValueOrDefault("branch") ?? string.Empty,
        Dimension.Key => e.KeyId ?? string.Empty,
        _ => throw new ArgumentOutOfRangeException(nameof(dimension)),
    };
}
