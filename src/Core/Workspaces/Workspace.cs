using System.Globalization;

namespace AgentSpend.Core.Workspaces;

/// <summary>A tenant. Its timezone decides which calendar day an event belongs to.</summary>
public sealed record Workspace(string Id, TimeZoneInfo TimeZone)
{
    public const string DefaultId = "default";

    public const string DayFormat = "yyyy-MM-dd";

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

/// <summary>Finds workspaces. For now there is one, <c>default</c>, configured by app settings.</summary>
public interface IWorkspaceDirectory
{
    Workspace Find(string workspaceId);
}
