namespace AgentSpend.Tests.Shared;

/// <summary>
/// Finds a captured client payload in tests/Fixtures: a copy of the project's shared/fixtures, kept in the
/// repository so that a bare clone (CI) has them.
/// </summary>
internal static class Fixtures
{
    public static string Path(params string[] parts)
    {
        var path = System.IO.Path.Combine([RepositoryRoot, "tests", "Fixtures", .. parts]);
        return File.Exists(path) ? path : throw new FileNotFoundException($"The fixture {path} is missing.");
    }

    /// <summary>The folder holding AgentSpend.Functions.sln, above the test assembly.</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "AgentSpend.Functions.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("AgentSpend.Functions.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>The day the fixtures were captured on.</summary>
    public static readonly DateTime CapturedOn = new(2026, 11, 22, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>
    /// A fixture's text moved to today (UTC) by whole days, so it falls in the default metrics range: ISO
    /// dates of the capture day, and Unix-nano timestamps (quoted, 19 digits).
    /// </summary>
    public static string TextMovedToToday(params string[] parts) => TextMovedTo(DateTime.UtcNow.Date, parts);

    /// <summary>
    /// A fixture's text moved to <paramref name="day"/> (a UTC date, on or after the capture day) by whole days:
    /// ISO dates of the capture day, and Unix-nano timestamps (quoted, 19 digits).
    /// </summary>
    public static string TextMovedTo(DateTime day, params string[] parts)
    {
        var shift = day.Date - CapturedOn;
        var text = File.ReadAllText(Path(parts)).Replace("2026-11-22T", day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) + "T", StringComparison.Ordinal);
        return System.Text.RegularExpressions.Regex.Replace(text, "\"(1[7-9]\\d{17})\"", m => $"\"{ulong.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) + ((ulong)shift.Ticks * 100)}\"");
    }
}
