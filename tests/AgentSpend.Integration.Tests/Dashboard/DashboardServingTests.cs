using System.Net;
using System.Text.Json;
using AgentSpend.Functions.Dashboard;
using AgentSpend.Functions.Hosting;
using AgentSpend.Integration.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.Dashboard;

/// <summary>
/// GET /dashboard/…: the built files of a folder laid out as Vite lays out its output, with the page's own
/// Content-Security-Policy and caching, while API answers keep theirs.
/// </summary>
public sealed class DashboardServingTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>, IAsyncLifetime
{
    private const string IndexHtml = "<!doctype html><title>AgentSpend</title><script type=\"module\" src=\"/dashboard/assets/index-Ab12Cd34.js\"></script>";
    private const string Script = "console.log('dashboard');";

    // The built files sit one level down, so a path that climbs out of them has a file to find.
    private readonly string _outside = Directory.CreateTempSubdirectory("agentspend-dashboard-").FullName;
    private string _built = "";
    private TestApp _app = null!;

    public async Task InitializeAsync()
    {
        _built = Path.Combine(_outside, "dist");
        Directory.CreateDirectory(Path.Combine(_built, "assets"));
        await File.WriteAllTextAsync(Path.Combine(_outside, "host.json"), "{\"outside\":true}");
        await File.WriteAllTextAsync(Path.Combine(_built, "index.html"), IndexHtml);
        await File.WriteAllTextAsync(Path.Combine(_built, "assets", "index-Ab12Cd34.js"), Script);
        await File.WriteAllTextAsync(Path.Combine(_built, "assets", "index-Ef56Gh78.css"), "body{margin:0}");
        await File.WriteAllTextAsync(Path.Combine(_built, "favicon.svg"), "<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
        _app = await TestApp.StartAsync(azurite, services: s => s.AddSingleton(new DashboardFiles(_built)));
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        Directory.Delete(_outside, recursive: true);
    }

    [Theory]
    [InlineData("/dashboard")]
    [InlineData("/dashboard/")]
    [InlineData("/dashboard/agents/pr-reviewer")]
    public async Task The_page_and_every_client_side_route_answer_index_html_with_the_dashboard_policy(string path)
    {
        using var response = await _app.CreateClient(null).GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(IndexHtml, await response.Content.ReadAsStringAsync());
        Assert.Equal(SecurityHeaders.DashboardPolicy, Header(response, "Content-Security-Policy"));
        Assert.Equal(DashboardEndpoints.RevalidateCaching, Header(response, "Cache-Control"));
        Assert.Equal("nosniff", Header(response, "X-Content-Type-Options"));
        Assert.Equal("DENY", Header(response, "X-Frame-Options"));
    }

    [Fact]
    public void The_dashboard_policy_allows_the_page_its_own_files_and_api_and_nothing_inline_or_foreign()
    {
        var directives = SecurityHeaders.DashboardPolicy.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .ToDictionary(d => d.Split(' ')[0], d => d.Split(' ')[1..]);

        Assert.Equal(["'none'"], directives["default-src"]);
        Assert.Equal(["'self'"], directives["script-src"]);
        Assert.Equal(["'self'"], directives["style-src"]);
        Assert.Equal(["'self'"], directives["connect-src"]);
        Assert.Equal(["'none'"], directives["frame-ancestors"]);
        Assert.DoesNotContain(directives.Values.SelectMany(v => v), v => v.Contains("unsafe", StringComparison.Ordinal) || v.Contains("http", StringComparison.Ordinal) || v == "*");
    }

    [Theory]
    [InlineData("/dashboard/assets/index-Ab12Cd34.js", "text/javascript", DashboardEndpoints.ImmutableCaching)]
    [InlineData("/dashboard/assets/index-Ef56Gh78.css", "text/css", DashboardEndpoints.ImmutableCaching)]
    [InlineData("/dashboard/favicon.svg", "image/svg+xml", DashboardEndpoints.RevalidateCaching)]
    public async Task Files_answer_with_their_content_type_and_hashed_assets_are_cached_for_good(string path, string mediaType, string caching)
    {
        using var response = await _app.CreateClient(null).GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(caching, Header(response, "Cache-Control"));
        Assert.Equal(SecurityHeaders.DashboardPolicy, Header(response, "Content-Security-Policy"));
    }

    [Fact]
    public async Task A_file_asked_again_with_its_etag_answers_304()
    {
        using var client = _app.CreateClient(null);
        using var first = await client.GetAsync("/dashboard/assets/index-Ab12Cd34.js");
        using var again = new HttpRequestMessage(HttpMethod.Get, "/dashboard/assets/index-Ab12Cd34.js");
        again.Headers.IfNoneMatch.Add(first.Headers.ETag!);

        using var response = await client.SendAsync(again);

        Assert.Equal(Script, await first.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
    }

    [Theory]
    [InlineData("/dashboard/assets/index-00000000.js")]
    [InlineData("/dashboard/missing.png")]
    [InlineData("/dashboard/assets/..%2f..%2fhost.json")]
    public async Task A_missing_file_is_a_404_problem_that_is_not_stored(string path)
    {
        using var response = await _app.CreateClient(null).GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-store", Header(response, "Cache-Control"));
        Assert.Equal("path", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("errors")[0].Str("field"));
    }

    [Theory]
    [InlineData("/dashboard/%2e%2e/host.json")]
    [InlineData("/dashboard/..%2fhost.json")]
    [InlineData("/dashboard/assets/%2e%2e/%2e%2e/AgentSpend.Functions.dll")]
    public async Task No_path_reaches_a_file_outside_the_dashboard_folder(string path)
    {
        using var response = await _app.CreateClient(null).GetAsync(path);

        // A path the dashboard route keeps is 404; one the server normalises out of /dashboard/ is served by nothing,
        // and so needs a key (401): either way no file.
        Assert.Contains(response.StatusCode, new[] { HttpStatusCode.NotFound, HttpStatusCode.Unauthorized });
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("outside", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Api_answers_keep_their_own_policy_and_are_never_stored()
    {
        using var response = await _app.CreateClient(null).GetAsync("/api/health");

        Assert.Equal(SecurityHeaders.ApiPolicy, Header(response, "Content-Security-Policy"));
        Assert.Equal("no-store", Header(response, "Cache-Control"));
    }

    [Fact]
    public async Task An_app_without_a_built_dashboard_says_how_to_build_it()
    {
        await using var unbuilt = await TestApp.StartAsync(azurite, services: s => s.AddSingleton(new DashboardFiles(Path.Combine(_built, "none-such"))));

        var reply = await unbuilt.SendAsync("GET", "/dashboard", key: null);

        Assert.Equal((404, "application/problem+json"), (reply.Status, reply.MediaType));
        Assert.Contains("scripts/run.sh", reply.Text, StringComparison.Ordinal);
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values) ? string.Join(", ", values) : "";
}

/// <summary>GET /api/v1/keys/current: what the dashboard asks first, with any key.</summary>
public sealed class CurrentKeyTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Every_key_learns_its_scopes_what_they_grant_and_its_workspace_timezone_and_no_key_learns_nothing()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (workspace, admin) = await app.CreateWorkspaceAsync(new { name = "kathmandu-team", timezone = "Asia/Kathmandu" });
        var read = await app.SendAsync("POST", "/api/v1/keys", new { name = "dashboard viewer", scopes = new[] { "read" } }, admin);
        var ingest = await app.SendAsync("POST", "/api/v1/keys", new { name = "collector", scopes = new[] { "ingest" } }, admin);

        var asReader = await app.SendAsync("GET", "/api/v1/keys/current", key: read.Body!.Value.Str("key"));
        var asIngest = await app.SendAsync("GET", "/api/v1/keys/current", key: ingest.Body!.Value.Str("key"));
        var asAdmin = await app.SendAsync("GET", "/api/v1/keys/current", key: admin);
        var asInstanceAdmin = await app.SendAsync("GET", "/api/v1/keys/current");
        var anonymous = await app.SendAsync("GET", "/api/v1/keys/current", key: null);

        Assert.Equal(200, asReader.Status);
        var reader = asReader.Body!.Value;
        Assert.Equal((read.Body!.Value.Str("id"), "dashboard viewer"), (reader.Str("id"), reader.Str("name")));
        Assert.Equal(["read"], Strings(reader, "scopes"));
        Assert.Equal(["read"], Strings(reader, "grants"));
        Assert.Equal((workspace, "kathmandu-team", "Asia/Kathmandu"), (reader.GetProperty("workspace").Str("id"), reader.GetProperty("workspace").Str("name"), reader.GetProperty("workspace").Str("timezone")));
        Assert.Equal(["ingest"], Strings(asIngest.Body!.Value, "grants"));
        Assert.Equal(["ingest", "read", "admin"], Strings(asAdmin.Body!.Value, "grants"));
        Assert.Equal(["ingest", "read", "admin", "instance-admin"], Strings(asInstanceAdmin.Body!.Value, "grants"));
        Assert.Equal("default", asInstanceAdmin.Body!.Value.GetProperty("workspace").Str("id"));
        Assert.Equal(401, anonymous.Status);
        Assert.DoesNotContain("\"key\"", asReader.Text, StringComparison.Ordinal); // never the raw key
    }

    private static string[] Strings(JsonElement element, string name) => [.. element.GetProperty(name).EnumerateArray().Select(e => e.GetString()!)];
}
