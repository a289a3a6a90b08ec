namespace AgentSpend.Integration.Tests.Deploy;

/// <summary>Files of the repository the tests run from (the folder holding AgentSpend.Functions.sln).</summary>
internal static class Repository
{
    public static string Root => AgentSpend.Tests.Shared.Fixtures.RepositoryRoot;

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    public static string Read(params string[] parts) => File.ReadAllText(PathOf(parts));

    /// <summary>The function folders of src/Functions: each one holds a function.json.</summary>
    public static IReadOnlyList<string> FunctionFolders() =>
        [.. Directory.GetDirectories(PathOf("src", "Functions"))
            .Where(d => File.Exists(Path.Combine(d, "function.json")))
            .Select(Path.GetFileName)
            .OfType<string>()
            .Order(StringComparer.Ordinal)];
}
