using AgentSpend.Core.Auth;
using AgentSpend.Functions.Audit;
using AgentSpend.Integration.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.Tenancy;

public sealed class AuditLogTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly Dictionary<string, string?> Settings = new() { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" };

    [Fact]
    public async Task Every_administrative_action_is_recorded_with_actor_time_source_and_before_after()
    {
        await using var app = await TestApp.StartAsync(azurite, Settings);
        var adminKeyId = ApiKeyService.Hash(TestApp.AdminKey)[..12];
        var started = DateTimeOffset.UtcNow.AddSeconds(-1);

        var (workspace, wsAdmin) = await app.CreateWorkspaceAsync(new { name = "audited" });
        await app.SendAsync("PATCH", $"/api/v1/workspaces/{workspace}", new { name = "audited-2" });
        var reader = (await app.SendAsync("POST", "/api/v1/keys", new { name = "reader", scopes = new[] { "read" } }, wsAdmin)).Body!.Value;
        var rotated = (await app.SendAsync("POST", $"/api/v1/keys/{reader.Str("id")}/rotate", null, wsAdmin)).Body!.Value;
        await app.SendAsync("POST", $"/api/v1/keys/{rotated.GetProperty("new").Str("id")}/revoke", null, wsAdmin);
        var wsAdminId = ApiKeyService.Hash(wsAdmin)[..12];

        var log = (await app.SendAsync("GET", "/api/v1/audit", key: wsAdmin)).Body!.Value.GetProperty("items").EnumerateArray().ToArray();
        var instanceLog = (await app.SendAsync("GET", "/api/v1/audit")).Body!.Value.GetProperty("items").EnumerateArray().ToArray();

        Assert.Equal(["key.revoke", "key.rotate", "key.create", "workspace.update", "key.create", "workspace.create"], log.Select(e => e.Str("action")!).ToArray());
        Assert.Equal([wsAdminId, wsAdminId, wsAdminId, adminKeyId, adminKeyId, adminKeyId], log.Select(e => e.Str("actor_key_id")!).ToArray());
        Assert.All(log, e => Assert.Equal("127.0.0.1", e.Str("source_ip")));
        Assert.All(log, e => Assert.InRange(e.GetProperty("at").GetDateTimeOffset(), started, DateTimeOffset.UtcNow.AddSeconds(1)));
        var update = log[3];
        Assert.Equal(("audited", "audited-2"), (update.GetProperty("before").Str("name"), update.GetProperty("after").Str("name")));
        var revoke = log[0];
        Assert.Equal(("active", "revoked"), (revoke.GetProperty("before").Str("status"), revoke.GetProperty("after").Str("status")));
        Assert.Equal(JsonValueKindNull, log[2].GetProperty("before").ValueKind);
        Assert.DoesNotContain(reader.Str("key")!, string.Join('\n', log.Select(e => e.GetRawText())));
        Assert.DoesNotContain(rotated.GetProperty("new").Str("key")!, string.Join('\n', log.Select(e => e.GetRawText())));
        Assert.Equal(["workspace.update", "workspace.create"], instanceLog.Where(e => e.Str("target") == workspace).Select(e => e.Str("action")!).ToArray());
    }

    private const System.Text.Json.JsonValueKind JsonValueKindNull = System.Text.Json.JsonValueKind.Null;

    [Fact]
    public async Task The_log_filters_pages_and_exports_csv()
    {
        await using var app = await TestApp.StartAsync(azurite, Settings);
        var (_, admin) = await app.CreateWorkspaceAsync(new { name = "paged" });
        for (var i = 0; i < 5; i++)
        {
            await app.SendAsync("POST", "/api/v1/keys", new { name = $"k{i}, \"quoted\"", scopes = new[] { "read" } }, admin);
        }

        var creates = await app.SendAsync("GET", "/api/v1/audit?action=key.create&limit=4", key: admin);
        var next = await app.SendAsync("GET", $"/api/v1/audit?action=key.create&limit=4&cursor={creates.Body!.Value.Str("next_cursor")}", key: admin);
        var future = await app.SendAsync("GET", $"/api/v1/audit?from={DateTime.UtcNow.AddDays(1):yyyy-MM-dd}", key: admin);
        var csv = await app.SendAsync("GET", "/api/v1/audit?format=csv&action=key.create", key: admin);

        Assert.Equal(4, creates.Body.Value.GetProperty("items").GetArrayLength());
        Assert.Equal(2, next.Body!.Value.GetProperty("items").GetArrayLength()); // 5 by the workspace admin + 1 by the instance admin
        Assert.Equal(JsonValueKindNull, next.Body.Value.GetProperty("next_cursor").ValueKind);
        Assert.Equal(0, future.Body!.Value.GetProperty("items").GetArrayLength());
        Assert.Equal("text/csv", csv.MediaType);
        var lines = csv.Text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("id,at,action,target,actor_key_id,source_ip,before,after", lines[0]);
        Assert.Equal(7, lines.Length);
        Assert.Contains(",\"{\"\"id\"\":", csv.Text, StringComparison.Ordinal); // JSON in a quoted field, its quotes doubled
    }

    [Fact]
    public async Task The_log_can_only_be_read_through_the_api()
    {
        await using var app = await TestApp.StartAsync(azurite, Settings);

        var routes = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText!.StartsWith("/api/v1/audit", StringComparison.Ordinal))
            .SelectMany(e => e.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods)
            .ToArray();

        Assert.Equal(["GET"], routes);
        foreach (var method in new[] { "POST", "PUT", "PATCH", "DELETE" })
        {
            var reply = await app.SendAsync(method, "/api/v1/audit", "{}");
            Assert.Equal((405, "application/problem+json"), (reply.Status, reply.MediaType));
        }

        Assert.Equal(typeof(AuditEndpoints).GetMethods().Where(m => m.IsStatic && m.DeclaringType == typeof(AuditEndpoints)).Select(m => m.Name).Order(), new[] { "GetAsync" });
        Assert.Equal(typeof(AuditFunctions).GetMethods().Where(m => m.IsStatic && m.DeclaringType == typeof(AuditFunctions)).Select(m => m.Name).Order(), new[] { "ListAuditEntries" });
    }

    [Fact]
    public async Task A_value_too_long_for_a_table_property_is_cut_and_marked_never_dropped()
    {
        await using var app = await TestApp.StartAsync(azurite, Settings);
        var audit = app.Services.GetRequiredService<Core.Audit.AuditLog>();
        var huge = new { note = new string('"', 40_000) + new string('x', 60_000) }; // quotes grow sixfold when escaped

        await audit.AppendAsync("default", "test.large", "t", "actor", "192.0.2.1", huge, new { ok = true });
        var entry = Assert.Single((await app.SendAsync("GET", "/api/v1/audit?action=test.large")).Body!.Value.GetProperty("items").EnumerateArray());

        var before = entry.GetProperty("before");
        Assert.True(before.GetProperty("truncated").GetBoolean());
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(huge, Core.Audit.AuditJson.Options).Length, before.GetProperty("original_chars").GetInt32());
        Assert.StartsWith("{\"note\":\"\\u0022", before.Str("head"), StringComparison.Ordinal);
        Assert.InRange(before.GetRawText().Length, 1, Core.Audit.AuditLog.MaxValueChars);
        Assert.True(entry.GetProperty("after").GetProperty("ok").GetBoolean());
    }
}
