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
/// The package as the Flex Consumption worker unpacks it: host.json at the root, the custom handler's
/// executable where host.json says, a linux-x64 ELF file with its execute bit, every function folder.
/// </summary>
public sealed class PackageLayoutTests(PublishedPackageFixture package) : IClassFixture<PublishedPackageFixture>
{
    private const int UnixFileTypeMask = 0xF000; // S_IFMT
    private const int UnixRegularFile = 0x8000;  // S_IFREG

    [Fact]
    public void Publish_builds_the_package_at_the_path_given()
    {
        Assert.True(File.Exists(package.PackagePath));
        Assert.Contains(package.PackagePath, package.PublishLog, StringComparison.Ordinal);
    }

    [Fact]
    public void Host_json_is_at_the_root_and_is_the_one_in_the_repository()
    {
        using var zip = ZipFile.OpenRead(package.PackagePath);
        Assert.Equal(Repository.Read("src", "Functions", "host.json"), ReadText(zip, "host.json"));
    }

    [Fact]
    public void The_custom_handler_executable_resolves_inside_the_package_as_a_linux_x64_executable()
    {
        using var zip = ZipFile.OpenRead(package.PackagePath);
        var handler = JsonDocument.Parse(ReadText(zip, "host.json")).RootElement.GetProperty("customHandler");
        var description = handler.GetProperty("description");
        Assert.True(handler.GetProperty("enableForwardingHttpRequest").GetBoolean());
        Assert.Equal("", description.GetProperty("workingDirectory").GetString()); // the package root
        Assert.Empty(description.GetProperty("arguments").EnumerateArray()); // no argument names a file to resolve
        var path = description.GetProperty("defaultExecutablePath").GetString();
        Assert.Equal("AgentSpend.Functions", path);

        var entry = zip.GetEntry(path!);
        Assert.NotNull(entry);

        // Made on unix, a regular file, mode rwxr-xr-x: the worker can execute it.
        var mode = (entry.ExternalAttributes >> 16) & 0xFFFF;
        Assert.Equal(UnixRegularFile, mode & UnixFileTypeMask);
        Assert.Equal(Convert.ToInt32("755", 8), mode & Convert.ToInt32("777", 8));

        // ELF, 64-bit, little-endian, x86-64.
        var header = new byte[20];
        using (var stream = entry.Open())
        {
            stream.ReadExactly(header);
        }

        Assert.Equal([0x7F, (byte)'E', (byte)'L', (byte)'F'], header[..4]);
        Assert.Equal(2, header[4]); // EI_CLASS: ELFCLASS64
        Assert.Equal(1, header[5]); // EI_DATA: little-endian
        Assert.Equal(0x3E, BitConverter.ToUInt16(header, 18)); // e_machine: EM_X86_64
    }

    [Fact]
    public void The_app_is_self_contained_so_the_worker_needs_no_dotnet_runtime()
    {
        using var zip = ZipFile.OpenRead(package.PackagePath);
        var runtime = JsonDocument.Parse(ReadText(zip, "AgentSpend.Functions.runtimeconfig.json")).RootElement.GetProperty("runtimeOptions");
        Assert.Equal(
            ["Microsoft.AspNetCore.App", "Microsoft.NETCore.App"],
            runtime.GetProperty("includedFrameworks").EnumerateArray().Select(f => f.GetProperty("name").GetString()).Order(StringComparer.Ordinal));
        Assert.False(runtime.TryGetProperty("frameworks", out _));
        Assert.NotNull(zip.GetEntry("libcoreclr.so"));
        Assert.NotNull(zip.GetEntry("AgentSpend.Functions.dll"));
        Assert.NotNull(zip.GetEntry("AgentSpend.Core.dll"));
        Assert.Null(zip.GetEntry("local.settings.json"));
    }

    [Fact]
    public void Every_function_folder_is_at_the_root_with_its_function_json()
    {
        using var zip = ZipFile.OpenRead(package.PackagePath);
        var folders = Repository.FunctionFolders();
        Assert.Equal(28, folders.Count);
        Assert.Equal(
            folders.Select(f => f + "/function.json"),
            zip.Entries.Select(e => e.FullName).Where(n => n.EndsWith("/function.json", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        Assert.All(folders, f => Assert.Equal(Repository.Read("src", "Functions", f, "function.json"), ReadText(zip, f + "/function.json")));

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
