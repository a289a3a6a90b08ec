namespace AgentSpend.Tests.Shared;

/// <summary>
/// Finds a captured client payload in tests/Fixtures: a copy of the project's shared/fixtures, kept in the
/// repository so that a bare clone (CI) has them.
/// </summary>
internal static class Fixtures
{
    public static string Path(params string[] parts)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "AgentSpend.Functions.sln")))
            {
                var path = System.IO.Path.Combine([dir.FullName, "tests", "Fixtures", .. parts]);
                return File.Exists(path) ? path : throw new FileNotFoundException($"The fixture {path} is missing.");
            }
        }

        throw new DirectoryNotFoundException("AgentSpend.Functions.sln not found above " + AppContext.BaseDirectory);
    }
}
