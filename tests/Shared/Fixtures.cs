namespace AgentSpend.Tests.Shared;

/// <summary>Finds ../shared/fixtures beside the repository (CI clones the repository with shared/ next to it).</summary>
internal static class Fixtures
{
    public static string Path(params string[] parts)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "AgentSpend.Functions.sln")))
            {
                var path = System.IO.Path.Combine([dir.FullName, "..", "shared", "fixtures", .. parts]);
                return File.Exists(path) ? path : throw new FileNotFoundException($"The fixture {path} is missing: shared/ must sit beside the repository.");
            }
        }

        throw new DirectoryNotFoundException("AgentSpend.Functions.sln not found above " + AppContext.BaseDirectory);
    }
}
