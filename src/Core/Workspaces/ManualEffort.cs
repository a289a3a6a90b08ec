namespace AgentSpend.Core.Workspaces;

/// <summary>
/// What a task would take a person without an agent, in minutes: one figure for every task, and figures of
/// their own for some task types. Time saved is reckoned from it.
/// </summary>
public sealed record ManualEffort(int MinutesPerTask, IReadOnlyDictionary<string, int> TaskTypes)
{
    public const int DefaultMinutesPerTask = 30;
    public const int MaxMinutes = 10_080;
    public const int MaxTaskTypes = 100;

    public static ManualEffort Default { get; } = new(DefaultMinutesPerTask, new Dictionary<string, int>());

    public int MinutesFor(string? taskType) =>
        taskType is { Length: > 0 } && TaskTypes.TryGetValue(taskType, out var minutes) ? minutes : MinutesPerTask;
}
