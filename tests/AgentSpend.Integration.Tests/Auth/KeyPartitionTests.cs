using AgentSpend.Core.Auth;
using AgentSpend.Core.Configuration;
using AgentSpend.Core.Storage;
using AgentSpend.Integration.Tests.Infrastructure;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AgentSpend.Integration.Tests.Auth;

/// <summary>
/// Key rows live in 256 partitions named by their hash's first two hex digits; those stored in the one legacy
/// <c>key</c> partition keep working, and are moved once at start.
/// </summary>
public sealed class KeyPartitionTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>, IDisposable
{
    private const string Marker = "key-partitions-v2";
    private static readonly Dictionary<string, string?> Settings = new() { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" };
    private static readonly DateTimeOffset Created = new(2026, 3, 1, 9, 30, 0, TimeSpan.Zero);
    private readonly StorageFanOut _fanOut = new();
    private int _written;

    private ITableStore Keys => azurite.Storage.GetTable(StorageNames.ApiKeysTable);

    public void Dispose() => _fanOut.Dispose();

    [Fact]
    public async Task A_created_key_lives_in_the_partition_of_its_hash_prefix_and_nothing_in_the_legacy_partition()
    {
        await using var app = await TestApp.StartAsync(azurite, Settings);
        var (workspace, admin) = await app.CreateWorkspaceAsync(new { name = "spread" });
        var reader = (await app.SendAsync("POST", "/api/v1/keys", new { name = "reader", scopes = new[] { "read" } }, admin)).Body!.Value.Str("key")!;

        foreach (var key in new[] { TestApp.AdminKey, admin, reader })
        {
            var hash = ApiKeyService.Hash(key);
            var row = await Keys.GetIfExistsAsync("key|" + hash[..2], hash);
            Assert.Equal(hash[..12], row?.GetString("KeyId"));
        }

        Assert.Equal(workspace, (await Keys.GetIfExistsAsync("key|" + ApiKeyService.Hash(reader)[..2], ApiKeyService.Hash(reader)))!.GetString("WorkspaceId"));
        Assert.Empty(await RowsAsync("PartitionKey eq 'key'"));
        Assert.Equal(200, (await app.SendAsync("GET", "/api/v1/metrics/overview", key: reader)).Status);
    }

    [Fact]
    public async Task Legacy_keys_work_before_the_move_and_an_unknown_key_then_costs_two_point_reads()
    {
        await ForgetMoveAsync();
        var workspace = "legacy-before";
        var (active, activeHash) = await WriteLegacyKeyAsync(workspace, "active", "admin", lastUsed: Created.AddDays(3), failures: 4);
        var (reader, readerHash) = await WriteLegacyKeyAsync(workspace, "reader", "read");
        var (revoked, _) = await WriteLegacyKeyAsync(workspace, "revoked", "read", revokedAt: Created.AddDays(5));
        var keys = Service();

        var listed = await keys.ListAsync(workspace, CancellationToken.None);
        var identity = await keys.AuthenticateAsync(active, CancellationToken.None);
        var refused = await keys.AuthenticateAsync(revoked, CancellationToken.None);
        var revokedNow = await keys.RevokeAsync(workspace, readerHash[..12], CancellationToken.None);
        var readerAfter = await Service().AuthenticateAsync(reader, CancellationToken.None);
        var before = azurite.Counter.Requests;
        var unknown = await keys.AuthenticateAsync("as_legacy-before_" + new string('x', 43), CancellationToken.None);
        var unknownReads = azurite.Counter.Requests - before;

        Assert.Equal(["active", "reader", "revoked"], listed.Select(k => k.Name).ToArray());
        Assert.Equal((4L, Created.AddDays(3)), (listed[0].AuthFailuresCount, listed[0].LastUsedAt));
        Assert.Equal(("active", workspace, true), (identity?.Name, identity?.WorkspaceId, identity?.Scopes.SetEquals(["admin"])));
        Assert.Null(refused);
        Assert.Equal(((ApiKeyStatus?)ApiKeyStatus.Active, (ApiKeyStatus?)ApiKeyStatus.Revoked), (revokedNow?.Before.Status(DateTimeOffset.UtcNow), revokedNow?.After.Status(DateTimeOffset.UtcNow)));
        Assert.Null(readerAfter);
        Assert.Null(unknown);
        Assert.Equal(2, unknownReads); // its partition, then the legacy one

        // The revocation moved its key first: a legacy row is only ever moved, never written.
        Assert.Null(await Keys.GetIfExistsAsync("key", readerHash));
        Assert.NotNull((await Keys.GetIfExistsAsync("key|" + readerHash[..2], readerHash))?.GetDateTimeOffset("RevokedAt"));

        // A usage flush moves its keys too (the active one used, the revoked one refused), adding to what they carried.
        Assert.Equal(2, await keys.FlushUsageAsync(CancellationToken.None));
        var used = await Keys.GetIfExistsAsync("key|" + activeHash[..2], activeHash);
        var failed = await Keys.GetIfExistsAsync("key|" + ApiKeyService.Hash(revoked)[..2], ApiKeyService.Hash(revoked));
        Assert.Equal((4L, 1L), (used?.GetInt64("AuthFailures"), failed?.GetInt64("AuthFailures")));
        Assert.True(used?.GetDateTimeOffset("LastUsedAt") > DateTimeOffset.UtcNow.AddMinutes(-1));
        Assert.DoesNotContain(await RowsAsync("PartitionKey eq 'key'"), r => r.GetString("WorkspaceId") == workspace);
    }

    [Fact]
    public async Task Legacy_keys_are_moved_at_start_with_every_property_and_work_after_it_through_the_api()
    {
        await ForgetMoveAsync();
        string workspace, admin;
        await using (var first = await TestApp.StartAsync(azurite, Settings))
        {
            (workspace, admin) = await first.CreateWorkspaceAsync(new { name = "legacy-after" });
        }

        var (reader, readerHash) = await WriteLegacyKeyAsync(workspace, "reader", "read", lastUsed: Created.AddDays(2), failures: 7, lastFailed: Created.AddDays(1));
        var (revoked, revokedHash) = await WriteLegacyKeyAsync(workspace, "revoked", "read", revokedAt: Created.AddDays(5));
        var (expiring, expiringHash) = await WriteLegacyKeyAsync(workspace, "expiring", "ingest", expiresAt: DateTimeOffset.UtcNow.AddDays(10));
        await ForgetMoveAsync();
        var legacy = await RowsAsync("PartitionKey eq 'key'");

        await using var app = await TestApp.StartAsync(azurite, Settings);
        var moved = new List<TableEntity>();
        foreach (var hash in new[] { readerHash, revokedHash, expiringHash })
        {
            moved.Add((await Keys.GetIfExistsAsync("key|" + hash[..2], hash))!);
        }

        var listed = (await app.SendAsync("GET", "/api/v1/keys", key: admin)).Body!.Value.GetProperty("items").EnumerateArray()
            .Select(k => (k.Str("name"), k.Str("status"), k.Long("auth_failures_count"))).ToArray();
        var readerRead = await app.SendAsync("GET", "/api/v1/metrics/overview", key: reader);
        var revokedRead = await app.SendAsync("GET", "/api/v1/metrics/overview", key: revoked);
        var revoke = await app.SendAsync("POST", $"/api/v1/keys/{expiringHash[..12]}/revoke", null, admin);
        var expiringIngest = await app.SendAsync("POST", "/api/v1/ingest", new { events = Array.Empty<object>() }, expiring);

        Assert.Equal([("reader", "active", 7L), ("revoked", "revoked", 0L), ("expiring", "expiring", 0L), ("admin", "active", 0L)], listed);
        Assert.Equal((200, 401), (readerRead.Status, revokedRead.Status));
        Assert.Equal((200, "revoked"), (revoke.Status, revoke.Body!.Value.Str("status")));
        Assert.Equal(401, expiringIngest.Status);
        Assert.Empty(await RowsAsync("PartitionKey eq 'key'"));
        Assert.NotNull(await Keys.GetIfExistsAsync("bootstrap", Marker));
        Assert.Equal(legacy.Where(r => r.GetString("WorkspaceId") == workspace).ToDictionary(r => r.RowKey, Properties), moved.ToDictionary(r => r.RowKey, Properties));
        Assert.Equal((7L, Created.AddDays(2), Created.AddDays(1)), (moved[0].GetInt64("AuthFailures"), moved[0].GetDateTimeOffset("LastUsedAt"), moved[0].GetDateTimeOffset("LastFailedAt")));
        Assert.Equal(Created.AddDays(5), moved[1].GetDateTimeOffset("RevokedAt"));
    }

    [Fact]
    public async Task Two_moves_at_once_and_one_that_stopped_half_way_end_in_the_same_state_and_unknown_keys_then_cost_one_read()
    {
        await ForgetMoveAsync();
        var hashes = new List<string>();
        for (var i = 0; i < 30; i++)
        {
            hashes.Add((await WriteLegacyKeyAsync("legacy-race", $"k{i:00}", "read", failures: i, revokedAt: i % 3 == 0 ? Created.AddHours(i) : null)).Hash);
        }

        var legacy = (await RowsAsync("PartitionKey eq 'key'")).Where(r => hashes.Contains(r.RowKey)).ToList();
        var expected = legacy.ToDictionary(r => r.RowKey, Properties);

        // As a start that stopped half-way leaves it: five rows copied, their legacy rows still there.
        foreach (var row in legacy.Take(5))
        {
            var copy = new TableEntity("key|" + row.RowKey[..2], row.RowKey);
            foreach (var (name, value) in Properties(row))
            {
                copy[name] = value;
            }

            await Keys.InsertAsync(copy);
        }

        var (first, second) = (Service(), Service());
        await Task.WhenAll(first.EnsureKeyPartitionsAsync(CancellationToken.None), second.EnsureKeyPartitionsAsync(CancellationToken.None));
        var moved = (await RowsAsync("PartitionKey ge 'key|' and PartitionKey lt 'key}'")).Where(r => hashes.Contains(r.RowKey)).ToList();
        await first.EnsureKeyPartitionsAsync(CancellationToken.None); // a later start: the marker says done
        var before = azurite.Counter.Requests;
        Assert.Null(await first.AuthenticateAsync("as_legacy-race_" + new string('y', 43), CancellationToken.None));
        var unknownReads = azurite.Counter.Requests - before;

        Assert.Empty(await RowsAsync("PartitionKey eq 'key'"));
        Assert.Equal(30, moved.Count);
        Assert.All(moved, r => Assert.Equal("key|" + r.RowKey[..2], r.PartitionKey));
        Assert.Equal(expected, moved.ToDictionary(r => r.RowKey, Properties));
        Assert.Equal(1, unknownReads);
        Assert.Equal(30, (await Service().ListAsync("legacy-race", CancellationToken.None)).Count);
    }

    private ApiKeyService Service() =>
        new(azurite.Storage, Options.Create(new AgentSpendOptions()), TimeProvider.System, _fanOut, NullLogger<ApiKeyService>.Instance);

    /// <summary>As before this version: no marker, so the next start moves whatever the legacy partition holds.</summary>
    private async Task ForgetMoveAsync()
    {
        await Keys.CreateIfNotExistsAsync();
        await Keys.TryDeleteAsync("bootstrap", Marker, ETag.All);
    }

    /// <summary>A key as the previous version stored it: its row in the one <c>key</c> partition, and its workspace's index row.</summary>
    private async Task<(string Raw, string Hash)> WriteLegacyKeyAsync(
        string workspace, string name, string scopes, DateTimeOffset? lastUsed = null, long failures = 0, DateTimeOffset? lastFailed = null,
        DateTimeOffset? revokedAt = null, DateTimeOffset? expiresAt = null)
    {
        var raw = ApiKeyService.Generate(workspace);
        var hash = ApiKeyService.Hash(raw);
        var row = new TableEntity("key", hash)
        {
            ["KeyId"] = hash[..12],
            ["WorkspaceId"] = workspace,
            ["Name"] = name,
            ["Scopes"] = scopes,
            ["Prefix"] = ApiKeyService.DisplayPrefix(raw),
            ["CreatedAt"] = Created.AddMinutes(_written++), // listed in the order written
            ["CreatedBy"] = "legacy-admin",
            ["LastUsedAt"] = lastUsed,
            ["AuthFailures"] = failures,
            ["LastFailedAt"] = lastFailed,
            ["RevokedAt"] = revokedAt,
            ["ExpiresAt"] = expiresAt,
        };
        await Keys.InsertAsync(row);
        await Keys.UpsertAsync(new TableEntity("ws|" + workspace, hash[..12]) { ["Hash"] = hash }, TableUpdateMode.Replace);
        return (raw, hash);
    }

    private async Task<List<TableEntity>> RowsAsync(string filter)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in Keys.QueryAsync(filter))
        {
            rows.Add(row);
        }

        return rows;
    }

    /// <summary>A row's own properties: not its keys, timestamp or ETag.</summary>
    private static Dictionary<string, object> Properties(TableEntity row) =>
        row.Where(p => p.Key is not ("PartitionKey" or "RowKey" or "Timestamp" or "odata.etag")).ToDictionary(p => p.Key, p => p.Value);
}
