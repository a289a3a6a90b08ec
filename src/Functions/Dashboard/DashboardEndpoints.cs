using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;

namespace AgentSpend.Functions.Dashboard;

/// <summary>
/// Where the dashboard's built files are: <c>dashboard-assets/</c> beside the app, which the build copies from
/// <c>src/Dashboard/dist</c>. Tests point it at a folder of their own.
/// </summary>
public sealed class DashboardFiles(string root)
{
    public const string FolderName = "dashboard-assets";

    public static DashboardFiles BesideTheApp() => new(Path.Combine(AppContext.BaseDirectory, FolderName));

    public string Root { get; } = root;

    /// <summary>A provider that never resolves a path outside <see cref="Root"/>; null while the dashboard is not built.</summary>
    public IFileProvider? Provider { get; } = Directory.Exists(root) ? new PhysicalFileProvider(root) : null;
}

/// <summary>
/// GET /dashboard/{*path}: the web dashboard's static files. The page is public; the API calls it makes carry
/// the key the user types in. <c>/dashboard</c>, <c>/dashboard/</c> and any path without a file extension
/// answer index.html (the page routes on the client); a missing file with an extension is a 404 problem.
/// </summary>
public static class DashboardEndpoints
{
    public const string RoutePrefix = "/dashboard";

    /// <summary>Vite names every file under assets/ by a hash of its content, so a cached copy is never stale.</summary>
    public const string ImmutableCaching = "public, max-age=31536000, immutable";

    /// <summary>index.html names the current assets, so a browser must ask again each time (it may use a 304).</summary>
    public const string RevalidateCaching = "no-cache";

    private const string HashedAssetsFolder = "assets/";
    private const string IndexFile = "index.html";
    private static readonly FileExtensionContentTypeProvider ContentTypes = new();

    public static Results<FileStreamHttpResult, ProblemHttpResult> ServeFile(string? path, HttpContext context, DashboardFiles files)
    {
        if (files.Provider is null)
        {
            return Problems.NotFound("path", "The dashboard is not built: scripts/run.sh, scripts/test.sh and scripts/publish.sh build it (npm ci and vite build in src/Dashboard).");
        }

        var relative = (path ?? "").TrimStart('/');
        var isPage = relative.Length == 0 || !Path.HasExtension(relative);
        var file = files.Provider.GetFileInfo(isPage ? IndexFile : relative);
        if (!file.Exists || file.IsDirectory || relative.Contains("..", StringComparison.Ordinal))
        {
            return Problems.NotFound("path", "The dashboard has no such file.");
        }

        if (!ContentTypes.TryGetContentType(file.Name, out var contentType))
        {
            contentType = "application/octet-stream";
        }

        context.Response.Headers.CacheControl = !isPage && relative.StartsWith(HashedAssetsFolder, StringComparison.Ordinal) ? ImmutableCaching : RevalidateCaching;
        return TypedResults.Stream(file.CreateReadStream(), contentType, lastModified: file.LastModified, entityTag: EntityTagOf(file));
    }

    private static Microsoft.Net.Http.Headers.EntityTagHeaderValue EntityTagOf(IFileInfo file) =>
        new($"\"{file.Length:x}-{file.LastModified.UtcTicks:x}\"");
}
