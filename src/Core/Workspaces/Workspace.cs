using System.Globalization;

namespace AgentSpend.Core.Workspaces;

/// <summary>What a workspace's plan allows; null means no limit.</summary>
public sealed record PlanLimits(int? MaxAgents = null, long? EventsPerDay = null, int? RetentionCeilingDays = null)
{
    public static PlanLimits None { get; } = new();
}

public enum WorkspaceState
{
    Active,

    /// <summary>Deletion requested: its keys no longer work and the purge timer is removing its data.</summary>
    Deleting,

    /// <summary>Every row is gone; the record stays so that the id is never reused.</summary>
    Deleted,
}

/// <summary>Progress of a workspace's purge.</summary>
public sealed record WorkspaceDeletion(DateTimeOffset RequestedAt, long DeletedRows, DateTimeOffset? FinishedAt);

/// <summary>A tenant. Its timezone decides which calendar day an event belongs to.</summary>
public sealed record Workspace(string Id, TimeZoneInfo TimeZone)
{
    public const string DefaultId = "default";

    public const string DayFormat = "yyyy-MM-dd";

    public const int DefaultRetentionDays = 90;

    public string Name { get; init; } = "";

    public int RetentionDays { get; init; } = DefaultRetentionDays;

    public PlanLimits Limits { get; init; } = PlanLimits.None;

    public WorkspaceState State { get; init; } = WorkspaceState.Active;

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset UpdatedAt { get; init; }

    public WorkspaceDeletion? Deletion { get; init; }

    /// <summary>The manual effort a task would take without an agent; null: <see cref="ManualEffort.Default"/>.</summary>
    public ManualEffort? Effort { get; init; }

    public bool IsActive => State == WorkspaceState.Active;

    public DateOnly LocalDayOf(DateTimeOffset instant) =>
        DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(instant, TimeZone).DateTime);

    public static string FormatDay(DateOnly day) => day.ToString(DayFormat, CultureInfo.InvariantCulture);

    public DateOnly Today(TimeProvider clock) => LocalDayOf(clock.GetUtcNow());

    /// <summary>The UTC instant at which a local day starts (handles DST and half-hour offsets).</summary>
    public DateTimeOffset StartOfDayUtc(DateOnly day)
    {
        var local = day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified);
        // A day can begin inside a DST gap; step forward to the first valid local time.
        while (TimeZone.IsInvalidTime(local))
        {
            local = local.AddMinutes(15);
        }

        return new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(local, TimeZone), TimeSpan.Zero);
    }
}

/// <summary>Finds workspaces. Lookups are cached briefly: a change made on another instance shows within seconds.</summary>
public interface IWorkspaceDirectory
{
    /// <summary>The workspace, whatever its state; null when there is none with this id.</summary>
    Task<Workspace?> FindAsync(string workspaceId, CancellationToken cancellationToken);

    Task<IReadOnlyList<Workspace>> ListAsync(CancellationToken cancellationToken);
}
