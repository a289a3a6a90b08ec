using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using AgentSpend.Core.Storage;
using AgentSpend.Integration.Tests.Infrastructure;
using Azure.Data.Tables;

namespace AgentSpend.Integration.Tests.Hostile;

/// <summary>
/// Malformed and malicious requests across every endpoint. Each must get a 4xx problem+json, never a
/// 5xx, and none may store anything; no key may show up in an answer or a log line.
/// </summary>
public sealed class HostileInputTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private sealed record Case(string Name, string Method, string Path, byte[]? Body, string? ContentType = "application/json", string Key = "admin", int? Expected = null);

    private static Case Json(string name, string method, string path, string body, string key = "admin", int? expected = null) =>
        new(name, method, path, Encoding.UTF8.GetBytes(body), Key: key, Expected: expected);

    private static string Event(string overrides) =>
        "{\"events\":[{\"agent_name\":\"a\",\"provider\":\"p\",\"model\":\"m\",\"timestamp\":\"2026-11-01T10:00:00Z\"" + overrides + "}]}";

    private static IEnumerable<Case> Cases(string workspaceId)
    {
        const string ingest = "/api/v1/ingest";
        yield return Json("truncated JSON", "POST", ingest, "{\"events\":[{\"agent_name\":\"a\"", expected: 400);
        yield return Json("deeply nested JSON", "POST", ingest, "{\"events\":" + new string('[', 5000) + new string(']', 5000) + "}", expected: 400);
        yield return Json("empty body", "POST", ingest, "", expected: 400);
        yield return Json("JSON null", "POST", ingest, "null", expected: 400);
        yield return Json("array instead of object", "POST", ingest, "[]", expected: 400);
        yield return Json("events is an object", "POST", ingest, "{\"events\":{}}", expected: 400);
        yield return Json("1,001 events", "POST", ingest, "{\"events\":[" + string.Join(',', Enumerable.Repeat("{}", 1001)) + "]}", expected: 413);
        yield return Json("body over 1 MiB", "POST", ingest, "{\"events\":[],\"pad\":\"" + new string('x', 1024 * 1024 + 10) + "\"}", expected: 413);
        yield return new Case("text/plain body", "POST", ingest, Encoding.UTF8.GetBytes(Event("")), "text/plain", Expected: 415);
        yield return new Case("XML body", "POST", ingest, Encoding.UTF8.GetBytes("<events/>"), "application/xml", Expected: 415);
        yield return new Case("JSON in latin-1", "POST", ingest, Encoding.Latin1.GetBytes(Event("")), "application/json; charset=iso-8859-1", Expected: 415);
        yield return new Case("invalid UTF-8", "POST", ingest, [(byte)'{', 0xC3, 0x28, 0xFF, (byte)'}'], Expected: 400);
        yield return Json("agent_name of the wrong type", "POST", ingest, Event(",\"agent_name\":5").Replace("\"agent_name\":\"a\",", ""), expected: 400);
        yield return Json("tokens beyond double range", "POST", ingest, Event(",\"input_tokens\":1e400"), expected: 400);
        yield return Json("tokens beyond 64 bits", "POST", ingest, Event(",\"input_tokens\":99999999999999999999999"), expected: 400);
        yield return Json("fractional tokens", "POST", ingest, Event(",\"output_tokens\":1.5"), expected: 400);
        yield return Json("NaN literal", "POST", ingest, Event(",\"cost_usd\":NaN"), expected: 400);
        yield return Json("NaN as a string", "POST", ingest, Event(",\"cost_usd\":\"NaN\""), expected: 400);
        yield return Json("Infinity literal", "POST", ingest, Event(",\"cost_usd\":Infinity"), expected: 400);
        yield return Json("negative tokens", "POST", ingest, Event(",\"input_tokens\":-1"), expected: 400);
        yield return Json("negative cost", "POST", ingest, Event(",\"cost_usd\":-0.01"), expected: 400);
        yield return Json("absurd cost", "POST", ingest, Event(",\"cost_usd\":1e30"), expected: 400);
        yield return Json("overlong agent_name", "POST", ingest, Event("").Replace("\"agent_name\":\"a\"", "\"agent_name\":\"" + new string('a', 257) + "\""), expected: 400);
        yield return Json("control character in model", "POST", ingest, Event("").Replace("\"model\":\"m\"", "\"model\":\"m\\u0007\""), expected: 400);
        yield return Json("NUL in provider", "POST", ingest, Event("").Replace("\"provider\":\"p\"", "\"provider\":\"p\\u0000x\""), expected: 400);
        yield return Json("timestamp without offset", "POST", ingest, Event("").Replace("10:00:00Z", "10:00:00"), expected: 400);
        yield return Json("timestamp in year 9999", "POST", ingest, Event("").Replace("2026-11-01", "9999-12-31"), expected: 400);
        yield return Json("33 tags", "POST", ingest, Event(",\"tags\":{" + string.Join(',', Enumerable.Range(0, 33).Select(i => $"\"t{i}\":\"v\"")) + "}"), expected: 400);
        yield return Json("tag of the wrong type", "POST", ingest, Event(",\"tags\":{\"team\":{\"x\":1}}"), expected: 400);
        yield return Json("overlong tag key", "POST", ingest, Event(",\"tags\":{\"" + new string('k', 65) + "\":\"v\"}"), expected: 400);
        yield return Json("task_success as a string", "POST", ingest, Event(",\"task_success\":\"yes\""), expected: 400);
        yield return Json("trailing garbage", "POST", ingest, Event("") + "xyz", expected: 400);

        const string workspaces = "/api/v1/workspaces";
        yield return Json("workspace: truncated", "POST", workspaces, "{\"name\":\"x\"", "instance", 400);
        yield return Json("workspace: nested too deep", "POST", workspaces, "{\"name\":\"x\",\"limits\":" + new string('[', 50) + new string(']', 50) + "}", "instance", 400);
        yield return Json("workspace: name of the wrong type", "POST", workspaces, "{\"name\":[\"x\"]}", "instance", 400);
        yield return Json("workspace: unknown field", "POST", workspaces, "{\"name\":\"x\",\"is_admin\":true}", "instance", 400);
        yield return Json("workspace: retention beyond int", "POST", workspaces, "{\"name\":\"x\",\"retention_days\":99999999999}", "instance", 400);
        yield return Json("workspace: retention 1e400", "POST", workspaces, "{\"name\":\"x\",\"retention_days\":1e400}", "instance", 400);
        yield return Json("workspace: retention as a string", "POST", workspaces, "{\"name\":\"x\",\"retention_days\":\"30\"}", "instance", 400);
        yield return Json("workspace: control character in name", "POST", workspaces, "{\"name\":\"a\\u001bb\"}", "instance", 400);
        yield return Json("workspace: overlong name", "POST", workspaces, "{\"name\":\"" + new string('n', 101) + "\"}", "instance", 400);
        yield return Json("workspace: path in timezone", "POST", workspaces, "{\"name\":\"x\",\"timezone\":\"../../../etc/passwd\"}", "instance", 400);
        yield return Json("workspace: body over 16 KiB", "POST", workspaces, "{\"name\":\"" + new string('n', 20_000) + "\"}", "instance", 413);
        yield return new Case("workspace: form-encoded body", "POST", workspaces, Encoding.UTF8.GetBytes("name=x"), "application/x-www-form-urlencoded", "instance", 415);
        yield return Json("workspace: PATCH with an escape character in the id", "PATCH", workspaces + "/%1B%5B2J", "{\"name\":\"x\"}", "instance", 404);
        yield return Json("workspace: forbidden key characters in the id", "GET", workspaces + "/a%2Fb%23c%3Fd", "", "instance", 404);
        yield return Json("workspace: another workspace's id with a trailing slash trick", "DELETE", workspaces + "/" + workspaceId + "%2F..", "", "instance", 404);

        const string keys = "/api/v1/keys";
        yield return Json("key: scopes not an array", "POST", keys, "{\"name\":\"k\",\"scopes\":\"admin\"}", expected: 400);
        yield return Json("key: scopes with nulls", "POST", keys, "{\"name\":\"k\",\"scopes\":[null]}", expected: 400);
        yield return Json("key: missing name", "POST", keys, "{\"scopes\":[\"read\"]}", expected: 400);
        yield return Json("key: negative grace", "POST", keys + "/abc123/rotate", "{\"grace_seconds\":-1}", expected: 400);
        yield return Json("key: grace as a string", "POST", keys + "/abc123/rotate", "{\"grace_seconds\":\"10\"}", expected: 400);
        yield return Json("key: traversal in the id", "POST", keys + "/..%2F..%2Fx/revoke", "", expected: 404);
        yield return Json("key: forbidden key characters in the id", "GET", keys + "/a%5Cb%23c", "", expected: 404);

        yield return Json("metrics: impossible date", "GET", "/api/v1/metrics/overview?from=2026-13-45", "", expected: 400);
        yield return Json("metrics: injected filter in by", "GET", "/api/v1/metrics/breakdown?by=agent%27%20or%20true", "", expected: 400);
        yield return Json("metrics: unknown granularity", "GET", "/api/v1/metrics/timeseries?granularity=minute", "", expected: 400);
        yield return Json("metrics: reversed range", "GET", "/api/v1/metrics/overview?from=2026-11-10&to=2026-11-01", "", expected: 400);

        yield return Json("audit: garbage cursor", "GET", "/api/v1/audit?cursor=garbage", "", expected: 400);
        yield return Json("audit: forged cursor", "GET", "/api/v1/audit?cursor=a1:AAAA", "", expected: 400);
        yield return Json("audit: cursor with a filter injection", "GET", "/api/v1/audit?cursor=a1:" + Convert.ToBase64String(Encoding.ASCII.GetBytes("' or PartitionKey ne '")), "", expected: 400);
        yield return Json("audit: negative limit", "GET", "/api/v1/audit?limit=-1", "", expected: 400);
        yield return Json("audit: huge limit", "GET", "/api/v1/audit?limit=1000000000000", "", expected: 400);
        yield return Json("audit: word for a date", "GET", "/api/v1/audit?from=yesterday", "", expected: 400);
        yield return Json("audit: unknown format", "GET", "/api/v1/audit?format=xlsx", "", expected: 400);

        yield return Json("event older than the workspace keeps raw events", "POST", ingest, Event("").Replace("2026-11-01", DateTime.UtcNow.AddDays(-91).ToString("yyyy-MM-dd")), expected: 400);

        const string webhooks = "/api/v1/alerts/webhooks";
        yield return Json("webhook: the cloud metadata service", "POST", webhooks, "{\"url\":\"https://169.254.169.254/metadata/identity/oauth2/token\"}", expected: 400);
        yield return Json("webhook: Azure's WireServer", "POST", webhooks, "{\"url\":\"https://168.63.129.16/machine?comp=goalstate\"}", expected: 400);
        yield return Json("webhook: loopback as one number", "POST", webhooks, "{\"url\":\"https://2130706433:10002/\"}", expected: 400);
        yield return Json("webhook: IPv4-mapped loopback", "POST", webhooks, "{\"url\":\"https://[::ffff:127.0.0.1]/\"}", expected: 400);
        yield return Json("webhook: a private network", "POST", webhooks, "{\"url\":\"https://10.0.0.4/\"}", expected: 400);
        yield return Json("webhook: localhost by name", "POST", webhooks, "{\"url\":\"https://localhost:7071/api/health\"}", expected: 400);
        yield return Json("webhook: plain http", "POST", webhooks, "{\"url\":\"http://hooks.example.com/x\"}", expected: 400);
        yield return Json("webhook: credentials in the URL", "POST", webhooks, "{\"url\":\"https://user:pass@hooks.example.com/x\"}", expected: 400);
        yield return Json("webhook: a file URL", "POST", webhooks, "{\"url\":\"file:///etc/passwd\"}", expected: 400);
        yield return Json("budget: control character in the agent", "POST", "/api/v1/budgets", "{\"scope\":\"agent\",\"scope_value\":\"a\\u0007\",\"metric\":\"calls\",\"period\":\"daily\",\"limit\":1}", expected: 400);

        yield return Json("unknown route", "GET", "/api/v1/nope", "", expected: 404);
        yield return Json("unknown route without a key", "GET", "/api/v1/nope", "", "none", 401);
        yield return Json("key too short to be one", "GET", "/api/v1/metrics/overview", "", "short", 401);
        yield return Json("wrong method", "DELETE", ingest, "", expected: 405);
        yield return Json("overlong key", "GET", "/api/v1/metrics/overview", "", "overlong", 401);
        yield return Json("key with control characters", "GET", "/api/v1/metrics/overview", "", "control", 401);
    }

    [Fact]
    public async Task Every_hostile_request_gets_a_4xx_problem_json_and_nothing_is_stored_or_leaked()
    {
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?>
        {
            ["AGENTSPEND_LOCAL_TRIGGERS"] = "false",
            ["AGENTSPEND_WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = "false", // as in Azure
        });
        var (workspaceId, admin) = await app.CreateWorkspaceAsync(new { name = "target" });
        var keys = new Dictionary<string, string>
        {
            ["admin"] = admin,
            ["instance"] = TestApp.AdminKey,
            ["overlong"] = "as_" + new string('k', 5000),
            ["control"] = "as_\u0001\u0002key",
            ["short"] = "as_x",
            ["none"] = "",
        };
        var before = await SnapshotAsync(app);
        var cases = Cases(workspaceId).ToArray();
        var failures = new List<string>();

        foreach (var c in cases)
        {
            using var client = new HttpClient { BaseAddress = app.BaseAddress };
            using var request = new HttpRequestMessage(new HttpMethod(c.Method), c.Path);
            if (keys[c.Key].Length > 0)
            {
                request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + keys[c.Key]);
            }

            if (c.Body is { Length: > 0 } || c.Method is "POST" or "PATCH")
            {
                request.Content = new ByteArrayContent(c.Body ?? []);
                if (c.ContentType is not null)
                {
                    request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(c.ContentType);
                }
            }

            using var response = await client.SendAsync(request);
            var status = (int)response.StatusCode;
            var text = await response.Content.ReadAsStringAsync();
            var media = response.Content.Headers.ContentType?.MediaType;
            if (status is < 400 or >= 500 || (c.Expected is { } expected && status != expected))
            {
                failures.Add($"{c.Name}: {c.Method} {c.Path} answered {status} (expected {c.Expected?.ToString() ?? "4xx"}): {text[..Math.Min(300, text.Length)]}");
            }
            else if (media != "application/problem+json" || JsonDocument.Parse(text).RootElement.GetProperty("status").GetInt32() != status)
            {
                failures.Add($"{c.Name}: {status} without a problem+json body ({media})");
            }
            else if (keys.Values.Any(k => k.Length > 0 && text.Contains(k, StringComparison.Ordinal)))
            {
                failures.Add($"{c.Name}: the answer echoes an API key");
            }
        }

        Assert.True(cases.Length >= 80, $"only {cases.Length} cases");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Equal(before, await SnapshotAsync(app));
        Assert.DoesNotContain(app.LogLines, line => keys.Values.Any(k => k.Length > 0 && line.Contains(k, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Every_answer_carries_security_headers_and_cors_is_off_by_default()
    {
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" });
        using var client = new HttpClient { BaseAddress = app.BaseAddress };

        foreach (var path in new[] { "/api/health", "/api/v1/metrics/overview", "/api/v1/nope" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Add("Origin", "https://evil.example");
            using var response = await client.SendAsync(request);
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
            Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
            Assert.StartsWith("default-src 'none'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
            Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
        }
    }

    [Fact]
    public async Task Cors_answers_only_the_configured_origins()
    {
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?>
        {
            ["AGENTSPEND_LOCAL_TRIGGERS"] = "false",
            ["AGENTSPEND_CORS_ORIGINS"] = "https://dashboard.example.com",
        });
        using var client = new HttpClient { BaseAddress = app.BaseAddress };

        async Task<string?> AllowedOriginAsync(string origin)
        {
            using var preflight = new HttpRequestMessage(HttpMethod.Options, "/api/v1/metrics/overview");
            preflight.Headers.Add("Origin", origin);
            preflight.Headers.Add("Access-Control-Request-Method", "GET");
            preflight.Headers.Add("Access-Control-Request-Headers", "authorization");
            using var response = await client.SendAsync(preflight);
            return response.Headers.TryGetValues("Access-Control-Allow-Origin", out var values) ? values.Single() : null;
        }

        Assert.Equal("https://dashboard.example.com", await AllowedOriginAsync("https://dashboard.example.com"));
        Assert.Null(await AllowedOriginAsync("https://evil.example"));
    }

    /// <summary>Every row of every table and the queue's length: any stored change shows up here.</summary>
    private static async Task<string> SnapshotAsync(TestApp app)
    {
        var snapshot = new StringBuilder();
        foreach (var name in StorageNames.Tables)
        {
            await foreach (var row in app.Storage.GetTable(name).QueryAsync(null))
            {
                snapshot.Append(name).Append('|').Append(row.PartitionKey).Append('|').Append(row.RowKey).Append('|').Append(row.ETag).Append('\n');
            }
        }

        snapshot.Append("queued=").Append(await app.Storage.GetQueue(StorageNames.IngestQueue).GetApproximateCountAsync());
        return snapshot.ToString();
    }
}
