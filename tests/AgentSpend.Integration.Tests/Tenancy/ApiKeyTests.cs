using AgentSpend.Core.Auth;
using AgentSpend.Core.Storage;
using AgentSpend.Integration.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.Tenancy;

public sealed class ApiKeyTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["AGENTSPEND_LOCAL_TRIGGERS"] = "false",
        ["AGENTSPEND_KEY_USAGE_FLUSH_SECONDS"] = "3600", // the tests flush by hand
    };

    [Fact]
    public async Task A_created_key_is_shown_once_carries_the_workspace_prefix_and_is_stored_only_as_a_hash()
    {
        await using var app = await TestApp.StartAsync(azurite, Settings);
        var (workspace, admin) = await app.CreateWorkspaceAsync(new { name = "keys" });

        var created = await app.SendAsync("POST", "/api/v1/keys", new { name = "ci ingest", scopes = new[] { "ingest" } }, admin);
        var raw = created.Body!.Value.Str("key")!;
        var id = created.Body.Value.Str("id")!;
        var listed = await app.SendAsync("GET", "/api/v1/keys", key: admin);
        var single = await app.SendAsync("GET", $"/api/v1/keys/{id}", key: admin);

        Assert.Equal(201, created.Status);
        Assert.Matches($"^as_{workspace}_[A-Za-z0-9_-]{{43}}$", raw);
        Assert.Equal(raw[..(4 + workspace.Length + 4)], created.Body.Value.Str("prefix"));
        var items = listed.Body!.Value.GetProperty("items").EnumerateArray().ToArray();
        Assert.Equal(["admin", "ci ingest"], items.Select(k => k.Str("name")!).ToArray());
        Assert.DoesNotContain(raw, listed.Text);
        Assert.DoesNotContain(raw, single.Text);
        Assert.False(items[1].TryGetProperty("key", out _));
        Assert.Equal(["ingest"], items[1].GetProperty("scopes").EnumerateArray().Select(s => s.GetString()!).ToArray());
        Assert.Equal(("active", 0L), (items[1].Str("status"), items[1].Long("auth_failures_count")));
        var row = await app.Storage.GetTable(StorageNames.ApiKeysTable).GetIfExistsAsync(ApiKeyService.KeyPartition(ApiKeyService.Hash(raw)), ApiKeyService.Hash(raw));
        Assert.NotNull(row);
        Assert.DoesNotContain(row, p => p.Value is string s && s.Contains(raw[^20..], StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("ingest", "GET", "/api/v1/metrics/overview", 403)]
    [InlineData("ingest", "GET", "/api/v1/keys", 403)]
    [InlineData("ingest", "GET", "/api/v1/audit", 403)]
    [InlineData("read", "POST", "/api/v1/ingest", 403)]
    [InlineData("read", "GET", "/api/v1/metrics/overview", 200)]
    [InlineData("read", "POST", "/api/v1/keys", 403)]
    [InlineData("admin", "GET", "/api/v1/workspaces", 403)]
    [InlineData("admin", "GET", "/api/v1/keys", 200)]
    [InlineData("admin", "GET", "/api/v1/metrics/overview", 200)]
    [InlineData("ingest", "POST", "/api/v1/ingest", 202)]
    public async Task Each_scope_reaches_what_it_should_and_nothing_else(string scope, string method, string path, int expected)
    {
        await using var app = await TestApp.StartAsync(azurite, Settings);
        var (_, admin) = await app.CreateWorkspaceAsync(new { name = "scopes" });
        var key = (await app.SendAsync("POST", "/api/v1/keys", new { name = scope, scopes = new[] { scope } }, admin)).Body!.Value.Str("key")!;
        var body = method == "POST" && path.EndsWith("ingest", StringComparison.Ordinal)
            ? new { events = new[] { EventFactory.Wire(1, DateOnly.FromDateTime(DateTime.UtcNow), "scope-1") } }
            : (object?)(method == "POST" ? new { name = "x", scopes = new[] { "read" } } : null);

        var reply = await app.SendAsync(method, path, body, key);

        Assert.Equal(expected, reply.Status);
        if (expected == 403)
        {
            Assert.Equal("application/problem+json", reply.MediaType);
        }
    }

    [Fact]
    public async Task A_workspace_admin_cannot_issue_instance_admin_keys_and_unknown_scopes_are_refused()
    {
        await using var app = await TestApp.StartAsync(azurite, Settings);
        var (_, admin) = await app.CreateWorkspaceAsync(new { name = "escalation" });

        var escalate = await app.SendAsync("POST", "/api/v1/keys", new { name = "root", scopes = new[] { "instance-admin" } }, admin);
        var unknown = await app.SendAsync("POST", "/api/v1/keys", new { name = "x", scopes = new[] { "superuser" } }, admin);
        var none = await app.SendAsync("POST", "/api/v1/keys", new { name = "x", scopes = Array.Empty<string>() }, admin);

        Assert.Equal((403, 400, 400), (escalate.Status, unknown.Status, none.Status));
        Assert.Single((await app.SendAsync("GET", "/api/v1/keys", key: admin)).Body!.Value.GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task A_workspace_admin_can_neither_rotate_nor_revoke_an_instance_admin_key()
    {
        await using var app = await TestApp.StartAsync(azurite, Settings);
        // The default workspace holds the instance-admin keys; an admin of it sees them in its list.
        var created = await app.SendAsync("POST", "/api/v1/keys", new { name = "tenant admin", scopes = new[] { "admin" } }, TestApp.AdminKey);
        var admin = created.Body!.Value.Str("key")!;
        var listed = (await app.SendAsync("GET", "/api/v1/keys", key: admin)).Body!.Value.GetProperty("items").EnumerateArray()
            .Where(k => k.GetProperty("scopes").EnumerateArray().Any(s => s.GetString() == "instance-admin"))
            .Select(k => k.Str("id")!)
            .ToArray();
        Assert.NotEmpty(listed);

        foreach (var id in listed)
        {
            var rotate = await app.SendAsync("POST", $"/api/v1/keys/{id}/rotate", new { grace_seconds = 604800 }, admin);
            var revoke = await app.SendAsync("POST", $"/api/v1/keys/{id}/revoke", null, admin);

            Assert.Equal((403, "application/problem+json", "id"), (rotate.Status, rotate.MediaType, FieldOf(rotate)));
            Assert.DoesNotContain("as_", rotate.Text, StringComparison.Ordinal);
            Assert.Equal((403, "application/problem+json", "id"), (revoke.Status, revoke.MediaType, FieldOf(revoke)));
        }

        // Nothing changed: the instance-admin key still works and still stands alone, and the refusals left no audit entry.
        var keys = (await app.SendAsync("GET", "/api/v1/keys", key: TestApp.AdminKey)).Body!.Value.GetProperty("items").EnumerateArray().ToArray();
        Assert.Equal(200, (await app.SendAsync("GET", "/api/v1/workspaces", key: TestApp.AdminKey)).Status);
        Assert.Equal(listed.Length, keys.Count(k => k.GetProperty("scopes").EnumerateArray().Any(s => s.GetString() == "instance-admin")));
        Assert.All(keys, k => Assert.Equal("active", k.Str("status")));
        var audit = await app.SendAsync("GET", "/api/v1/audit", key: TestApp.AdminKey);
        Assert.DoesNotContain("key.rotate", audit.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("key.revoke", audit.Text, StringComparison.Ordinal);

        // An instance admin still may.
        var own = await app.SendAsync("POST", $"/api/v1/keys/{listed[0]}/rotate", new { grace_seconds = 60 }, TestApp.AdminKey);
        Assert.Equal(200, own.Status);
    }

    [Fact]
    public async Task Rotation_issues_a_working_key_before_the_old_one_stops()
    {
        await using var app = await TestApp.StartAsync(azurite, Settings);
        var (_, admin) = await app.CreateWorkspaceAsync(new { name = "rotate" });
        var old = (await app.SendAsync("POST", "/api/v1/keys", new { name = "reader", scopes = new[] { "read" } }, admin)).Body!.Value;
        var oldKey = old.Str("key")!;

        // Callers keep calling with the old key throughout the rotation: not one call may fail.
        using var stop = new CancellationTokenSource();
        var failures = 0;
        var calls = 0;
        var hammer = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var status = (await app.SendAsync("GET", "/api/v1/metrics/overview", key: oldKey)).Status;
                Interlocked.Increment(ref calls);
                if (status != 200)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        });
        await Task.Delay(200);
        var rotated = await app.SendAsync("POST", $"/api/v1/keys/{old.Str("id")}/rotate", new { grace_seconds = 300 }, admin);
        var newKey = rotated.Body!.Value.GetProperty("new").Str("key")!;
        var newWorks = (await app.SendAsync("GET", "/api/v1/metrics/overview", key: newKey)).Status;
        await Task.Delay(200);
        await stop.CancelAsync();
        await hammer;

        Assert.Equal(200, rotated.Status);
        Assert.Equal((0, true), (failures, calls > 2));
        Assert.Equal(200, newWorks);
        Assert.Equal("expiring", rotated.Body.Value.GetProperty("old").Str("status"));
        Assert.Equal(["read"], rotated.Body.Value.GetProperty("new").GetProperty("scopes").EnumerateArray().Select(s => s.GetString()!).ToArray());

        // Without a grace period the old key stops as the new one starts.
        var again = await app.SendAsync("POST", $"/api/v1/keys/{rotated.Body.Value.GetProperty("new").Str("id")}/rotate", null, admin);
        var newest = again.Body!.Value.GetProperty("new").Str("key")!;
        Assert.Equal((200, "revoked"), (again.Status, again.Body.Value.GetProperty("old").Str("status")));
        Assert.Equal(401, (await app.SendAsync("GET", "/api/v1/metrics/overview", key: newKey)).Status);
        Assert.Equal(200, (await app.SendAsync("GET", "/api/v1/metrics/overview", key: newest)).Status);
        Assert.Equal(409, (await app.SendAsync("POST", $"/api/v1/keys/{rotated.Body.Value.GetProperty("new").Str("id")}/rotate", null, admin)).Status);
    }

    [Fact]
    public async Task A_revoked_key_stops_at_once_and_its_failed_attempts_are_counted_in_the_list()
    {
        await using var app = await TestApp.StartAsync(azurite, Settings);
        var (_, admin) = await app.CreateWorkspaceAsync(new { name = "revoke" });
        var created = (await app.SendAsync("POST", "/api/v1/keys", new { name = "leaked", scopes = new[] { "ingest" } }, admin)).Body!.Value;
        var (id, leaked) = (created.Str("id")!, created.Str("key")!);
        var day = DateOnly.FromDateTime(DateTime.UtcNow);
        Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new { events = new[] { EventFactory.Wire(1, day, "r1") } }, leaked)).Status);

        var revoked = await app.SendAsync("POST", $"/api/v1/keys/{id}/revoke", null, admin);
        var attempts = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            attempts.Add((await app.SendAsync("POST", "/api/v1/ingest", new { events = new[] { EventFactory.Wire(2, day, "r2") } }, leaked)).Status);
        }

        await app.Services.GetRequiredService<ApiKeyService>().FlushUsageAsync(CancellationToken.None);
        var listed = (await app.SendAsync("GET", "/api/v1/keys", key: admin)).Body!.Value.GetProperty("items").EnumerateArray().Single(k => k.Str("id") == id);

        Assert.Equal((200, "revoked"), (revoked.Status, revoked.Body!.Value.Str("status")));
        Assert.Equal([401, 401, 401], attempts);
        Assert.Equal(("revoked", 3L), (listed.Str("status"), listed.Long("auth_failures_count")));
        Assert.NotNull(listed.Str("last_failed_at"));
        Assert.NotNull(listed.Str("last_used_at"));
        Assert.Equal(404, (await app.SendAsync("POST", "/api/v1/keys/000000000000/revoke", null, admin)).Status);
    }

    [Fact]
    public async Task Last_use_is_recorded_without_a_storage_write_per_request()
    {
        await using var app = await TestApp.StartAsync(azurite, Settings);
        var (_, admin) = await app.CreateWorkspaceAsync(new { name = "usage" });
        var reader = (await app.SendAsync("POST", "/api/v1/keys", new { name = "reader", scopes = new[] { "read" } }, admin)).Body!.Value.Str("key")!;
        var keys = app.Storage.GetTable(StorageNames.ApiKeysTable);
        var (partition, hash) = (ApiKeyService.KeyPartition(ApiKeyService.Hash(reader)), ApiKeyService.Hash(reader));
        var etagBefore = (await keys.GetIfExistsAsync(partition, hash))!.ETag;

        for (var i = 0; i < 25; i++)
        {
            Assert.Equal(200, (await app.SendAsync("GET", "/api/v1/metrics/overview", key: reader)).Status);
        }

        var etagAfterCalls = (await keys.GetIfExistsAsync(partition, hash))!.ETag;
        var written = await app.Services.GetRequiredService<ApiKeyService>().FlushUsageAsync(CancellationToken.None);
        var row = (await keys.GetIfExistsAsync(partition, hash))!;

        Assert.Equal(etagBefore, etagAfterCalls); // 25 calls, no write
        Assert.True(written >= 1);
        Assert.NotEqual(etagBefore, row.ETag); // one write at the flush
        Assert.True(row.GetDateTimeOffset("LastUsedAt") > DateTimeOffset.UtcNow.AddMinutes(-1));
    }

    private static string? FieldOf(Reply reply) => reply.Body!.Value.GetProperty("errors")[0].Str("field");
}
