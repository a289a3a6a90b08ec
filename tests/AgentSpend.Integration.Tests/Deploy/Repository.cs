namespace AgentSpend.Integration.Tests.Deploy;

/// <summary>Files of the repository the tests run from (the folder holding AgentSpend.Functions.sln).</summary>
internal static class Repository
{
    public static string Root => AgentSpend.Tests.Shared.Fixtures.RepositoryRoot;

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    public static string Read(params string[] parts) => File.ReadAllText(PathOf(parts));
}
