using AgentSpend.Core.Auth;
using AgentSpend.Core.Storage;
using AgentSpend.Integration.Tests.Infrastructure;
using Azure.Data.Tables;

namespace AgentSpend.Integration.Tests.Tenancy;

/// <summary>A workspace's keys are found through its own index partition, at most <see cref="ApiKeyService.MaxKeysPerWorkspace"/> of them.</summary>
public sealed class KeyIndexTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly Dictionary<string, string?> Settings = new() { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" };

    [Fact]
    public async Task Keys_created_at_once_stop_exactly_at_the_cap_and_keys_retired_a_month_ago_make_room()
    {
        await using var app = await TestApp.StartAsync(azurite, Settings);
        var (workspace, admin) = await app.CreateWorkspaceAsync(new { name = "many-keys" }); // its first key is one

        var replies = await Task.WhenAll(Enumerable.Range(0, ApiKeyService.MaxKeysPerWorkspace + 20).Select(i =>
            app.SendAsync("POST", "/api/v1/keys", new { name = $"k{i}", scopes = new[] { "read" } }, admin)));
        var listed = (await app.SendAsync("GET", "/api/v1/keys", key: admin)).Body!.Value.GetProperty("items").EnumerateArray().ToArray();

        Assert.Equal((ApiKeyService.MaxKeysPerWorkspace - 1, 21), (replies.Count(r => r.Status == 201), replies.Count(r => r.Status == 409)));
        Assert.Equal(ApiKeyService.MaxKeysPerWorkspace, listed.Length);
        Assert.Equal("keys", replies.First(r => r.Status == 409).Body!.Value.GetProperty("errors")[0].Str("field"));

        // Three keys revoked 31 days ago (as if): the next key takes the place of one of them, and they are forgotten.
        var table = app.Storage.GetTable(StorageNames.ApiKeysTable);
        var retired = listed.Where(k => k.Str("name") != "admin").Take(3).Select(k => k.Str("id")!).ToArray();
        foreach (var id in retired)
        {
            Assert.Equal(200, (await app.SendAsync("POST", $"/api/v1/keys/{id}/revoke", null, admin)).Status);
        }

        await foreach (var row in table.QueryAsync(TableClient.CreateQueryFilter($"PartitionKey ge {"key|"} and PartitionKey lt {"key}"} and WorkspaceId eq {workspace}")))
        {
            if (row.GetDateTimeOffset("RevokedAt") is not null)
            {
                row["RevokedAt"] = DateTimeOffset.UtcNow.AddDays(-31);
                await table.UpdateAsync(row, row.ETag, TableUpdateMode.Replace);
            }
        }

        var more = await app.SendAsync("POST", "/api/v1/keys", new { name = "after the clean-up", scopes = new[] { "read" } }, admin);
        var after = (await app.SendAsync("GET", "/api/v1/keys", key: admin)).Body!.Value.GetProperty("items").EnumerateArray().Select(k => k.Str("id")!).ToArray();

        Assert.Equal(201, more.Status);
        Assert.Equal(ApiKeyService.MaxKeysPerWorkspace - 2, after.Length);
        Assert.Empty(after.Intersect(retired));
    }

    [Fact]
    public async Task Keys_stored_before_the_index_are_indexed_on_start_and_keep_working()
    {
        string workspace, admin, reader;
        await using (var first = await TestApp.StartAsync(azurite, Settings))
        {
            (workspace, admin) = await first.CreateWorkspaceAsync(new { name = "before-index" });
            reader = (await first.SendAsync("POST", "/api/v1/keys", new { name = "reader", scopes = new[] { "read" } }, admin)).Body!.Value.Str("key")!;
        }

        // As stored before the index existed: no index rows, no marker.
        var table = azurite.Storage.GetTable(StorageNames.ApiKeysTable);
        await table.DeletePartitionRowsAsync(TableClient.CreateQueryFilter($"PartitionKey eq {"ws|" + workspace}"), CancellationToken.None);
        await table.TryDeleteAsync("bootstrap", "key-index-v1", Azure.ETag.All);

        await using var app = await TestApp.StartAsync(azurite, Settings);
        var listed = (await app.SendAsync("GET", "/api/v1/keys", key: admin)).Body!.Value.GetProperty("items").EnumerateArray().Select(k => k.Str("name")!).Order().ToArray();
        var readerId = ApiKeyService.Hash(reader)[..12];

        Assert.Equal(["admin", "reader"], listed);
        Assert.Equal(200, (await app.SendAsync("GET", $"/api/v1/keys/{readerId}", key: admin)).Status);
        Assert.Equal(200, (await app.SendAsync("POST", $"/api/v1/keys/{readerId}/revoke", null, admin)).Status);
        Assert.Equal(401, (await app.SendAsync("GET", "/api/v1/metrics/overview", key: reader)).Status);
        Assert.NotNull(await table.GetIfExistsAsync("bootstrap", "key-index-v1"));
    }
}
