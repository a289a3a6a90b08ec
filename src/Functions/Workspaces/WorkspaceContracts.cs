using AgentSpend.Core.Workspaces;

namespace AgentSpend.Functions.Workspaces;

public sealed record PlanLimitsBody(int? MaxAgents = null, long? EventsPerDay = null, int? RetentionCeilingDays = null);

/// <summary>POST body. Only <c>name</c> is required.</summary>
public sealed record CreateWorkspaceBody(string? Name, string? Timezone = null, int? RetentionDays = null, PlanLimitsBody? Limits = null);

/// <summary>PATCH body: absent fields stay as they are; <c>limits</c>, when given, replaces all limits.</summary>
public sealed record UpdateWorkspaceBody(string? Name = null, string? Timezone = null, int? RetentionDays = null, PlanLimitsBody? Limits = null);

public sealed record PlanLimitsView(int? MaxAgents, long? EventsPerDay, int? RetentionCeilingDays);

public sealed record DeletionView(DateTimeOffset RequestedAt, long DeletedRows, DateTimeOffset? FinishedAt, string Status);

public sealed record WorkspaceView(
    string Id, string Name, string Timezone, int RetentionDays, PlanLimitsView Limits, string State, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DeletionView? Deletion)
{
    public static WorkspaceView Of(Workspace w) => new(
        w.Id,
        w.Name,
        w.TimeZone.Id,
        w.RetentionDays,
        new PlanLimitsView(w.Limits.MaxAgents, w.Limits.EventsPerDay, w.Limits.RetentionCeilingDays),
        w.State.ToString().ToLowerInvariant(),
        w.CreatedAt,
        w.UpdatedAt,
        w.Deletion is { } d ? new DeletionView(d.RequestedAt, d.DeletedRows, d.FinishedAt, d.FinishedAt is null ? "purging" : "purged") : null);
}

public sealed record WorkspaceList(IReadOnlyList<WorkspaceView> Items);

/// <summary>Checks a workspace's settings; the first problem found, as (field, reason).</summary>
public static class WorkspaceRules
{
    public const int MaxNameLength = 100;
    public const int MaxRetentionDays = 3650;
    public const int MaxAgentsCeiling = 1_000_000;
    public const long MaxEventsPerDay = 10_000_000_000;

    public static (string Field, string Reason)? CheckName(string? name) => name switch
    {
        null => ("name", "is required."),
        _ when string.IsNullOrWhiteSpace(name) => ("name", "must not be empty."),
        _ when name.Length > MaxNameLength => ("name", $"must be at most {MaxNameLength} characters."),
        _ when name.Any(char.IsControl) => ("name", "must not contain control characters."),
        _ => null,
    };

    public static (string Field, string Reason)? CheckTimezone(string timezone, out TimeZoneInfo? zone)
    {
        zone = null;
        return timezone.Length <= 64 && TimeZoneInfo.TryFindSystemTimeZoneById(timezone, out zone) && zone.HasIanaId
            ? null
            : ("timezone", $"'{Truncate(timezone)}' is not an IANA timezone such as Europe/Berlin.");
    }

    public static (string Field, string Reason)? CheckLimits(PlanLimitsBody? limits) => limits switch
    {
        null => null,
        { MaxAgents: < 1 or > MaxAgentsCeiling } => ("limits.max_agents", $"must be between 1 and {MaxAgentsCeiling}."),
        { EventsPerDay: < 1 or > MaxEventsPerDay } => ("limits.events_per_day", $"must be between 1 and {MaxEventsPerDay}."),
        { RetentionCeilingDays: < 1 or > MaxRetentionDays } => ("limits.retention_ceiling_days", $"must be between 1 and {MaxRetentionDays}."),
        _ => null,
    };

    public static (string Field, string Reason)? CheckRetention(int retentionDays, PlanLimits limits) =>
        retentionDays is < 1 or > MaxRetentionDays
            ? ("retention_days", $"must be between 1 and {MaxRetentionDays}.")
            : retentionDays > limits.RetentionCeilingDays
                ? ("retention_days", $"must not exceed the plan's retention ceiling of {limits.RetentionCeilingDays} days.")
                : null;

    public static PlanLimits ToLimits(PlanLimitsBody? body) =>
        body is null ? PlanLimits.None : new PlanLimits(body.MaxAgents, body.EventsPerDay, body.RetentionCeilingDays);

    private static string Truncate(string text) => text.Length <= 64 ? text : text[..64] + "…";
}
