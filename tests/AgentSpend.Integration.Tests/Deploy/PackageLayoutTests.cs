using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json;

namespace AgentSpend.Integration.Tests.Deploy;

/// <summary>Runs scripts/publish.sh once, into a temporary folder, and opens the package it built.</summary>
public sealed class PublishedPackageFixture : IAsyncLifetime
{
    private string _directory = "";

    public string PackagePath { get; private set; } = "";

    public string PublishLog { get; private set; } = "";

    public async Task InitializeAsync()
    {
        _directory = Directory.CreateTempSubdirectory("agentspend-package-").FullName;
        PackagePath = Path.Combine(_directory, "agentspend-functions.zip");
        var start = new ProcessStartInfo("bash", [Repository.PathOf("scripts", "publish.sh"), "--output", PackagePath])
        {
            WorkingDirectory = Repository.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(15));
        await process.WaitForExitAsync(timeout.Token);
        PublishLog = await stdout + await stderr;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"scripts/publish.sh exited with {process.ExitCode}:\n{PublishLog}");
        }
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }
}

/// <summary>
/// The package as the Flex Consumption platform unpacks it for the dotnet-isolated runtime: host.json at the root, the
/// worker's assembly and config, the generated functions.metadata, the host-side extensions, the dashboard's files.
/// </summary>
public sealed class PackageLayoutTests(PublishedPackageFixture package) : IClassFixture<PublishedPackageFixture>
{
    [Fact]
    public void Publish_builds_the_package_at_the_path_given()
    {
        Assert.True(File.Exists(package.PackagePath));
        Assert.Contains(package.PackagePath, package.PublishLog, StringComparison.Ordinal);
    }

    [Fact]
    public void Host_json_is_at_the_root_and_is_the_one_in_the_repository_without_a_custom_handler_or_bundle()
    {
        using var zip = ZipFile.OpenRead(package.PackagePath);
        var hostJson = ReadText(zip, "host.json");
        Assert.Equal(Repository.Read("src", "Functions", "host.json"), hostJson);
        var root = JsonDocument.Parse(hostJson).RootElement;
        Assert.False(root.TryGetProperty("customHandler", out _));
        Assert.False(root.TryGetProperty("extensionBundle", out _));
        Assert.Equal("", root.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());
    }

    [Fact]
    public void The_worker_is_framework_dependent_and_started_by_dotnet_as_its_config_says()
    {
        using var zip = ZipFile.OpenRead(package.PackagePath);
        var description = JsonDocument.Parse(ReadText(zip, "worker.config.json")).RootElement.GetProperty("description");
        Assert.Equal(("dotnet-isolated", "dotnet", "AgentSpend.Functions.dll"),
            (description.GetProperty("language").GetString(), description.GetProperty("defaultExecutablePath").GetString(), description.GetProperty("defaultWorkerPath").GetString()));
        Assert.NotNull(zip.GetEntry("AgentSpend.Functions.dll"));
        var runtime = JsonDocument.Parse(ReadText(zip, "AgentSpend.Functions.runtimeconfig.json")).RootElement.GetProperty("runtimeOptions");
        Assert.Equal("net10.0", runtime.GetProperty("tfm").GetString());
        Assert.True(runtime.TryGetProperty("frameworks", out _) || runtime.TryGetProperty("framework", out _), "framework-dependent: it names the shared frameworks it runs on");
        Assert.DoesNotContain(zip.Entries, e => e.Name is "libcoreclr.so" or "System.Private.CoreLib.dll"); // no runtime of its own
    }

    [Fact]
    public void The_functions_and_the_host_side_queue_extension_are_in_the_package()
    {
        using var zip = ZipFile.OpenRead(package.PackagePath);
        var functions = JsonDocument.Parse(ReadText(zip, "functions.metadata")).RootElement.EnumerateArray().Select(f => f.GetProperty("name").GetString()!).ToArray();
        Assert.Equal(77, functions.Length);
        Assert.Contains("AggregateUsage", functions);
        Assert.Contains("GetMetricsOverview", functions);
        var extensions = JsonDocument.Parse(ReadText(zip, "extensions.json")).RootElement.GetProperty("extensions").EnumerateArray().Select(e => e.GetProperty("name").GetString()).ToArray();
        Assert.Contains("AzureStorageQueues", extensions);
        Assert.Contains(zip.Entries, e => e.FullName.StartsWith(".azurefunctions/", StringComparison.Ordinal) && e.Name == "Microsoft.Azure.WebJobs.Extensions.Storage.Queues.dll");
        Assert.DoesNotContain(zip.Entries, e => e.Name == "function.json");

        // Nothing sits above the root or outside it.
        Assert.All(zip.Entries, e => Assert.False(e.FullName.StartsWith('/') || e.FullName.Split('/').Contains(".."), e.FullName));
    }

    [Fact]
    public void The_built_dashboard_is_in_the_package_as_vite_built_it()
    {
        using var zip = ZipFile.OpenRead(package.PackagePath);
        var built = Repository.PathOf("src", "Dashboard", "dist");
        var expected = Directory.GetFiles(built, "*", SearchOption.AllDirectories)
            .Select(f => "dashboard-assets/" + Path.GetRelativePath(built, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal)
            .ToArray();
        var packaged = zip.Entries.Select(e => e.FullName).Where(n => n.StartsWith("dashboard-assets/", StringComparison.Ordinal) && !n.EndsWith('/')).Order(StringComparer.Ordinal).ToArray();

        Assert.Equal(expected, packaged);
        Assert.Contains("dashboard-assets/index.html", packaged);
        Assert.Contains(packaged, n => n.StartsWith("dashboard-assets/assets/", StringComparison.Ordinal) && n.EndsWith(".js", StringComparison.Ordinal));
        Assert.Contains(packaged, n => n.StartsWith("dashboard-assets/assets/", StringComparison.Ordinal) && n.EndsWith(".css", StringComparison.Ordinal));
        Assert.Equal(File.ReadAllText(Path.Combine(built, "index.html")), ReadText(zip, "dashboard-assets/index.html"));
    }

    private static string ReadText(ZipArchive zip, string name)
    {
        var entry = zip.GetEntry(name) ?? throw new FileNotFoundException($"{name} is not in the package.");
        using var reader = new StreamReader(entry.Open());
        return reader.ReadToEnd();
    }
}
