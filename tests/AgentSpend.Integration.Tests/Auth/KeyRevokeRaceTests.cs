using AgentSpend.Core.Storage;
using AgentSpend.Integration.Tests.Infrastructure;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.Auth;

/// <summary>A revocation that races another write of the key's row (a usage flush) still revokes, and keeps that write.</summary>
public sealed class KeyRevokeRaceTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task A_usage_write_between_the_read_and_the_write_of_a_revocation_does_not_fail_it()
    {
        var usedAt = new DateTimeOffset(2026, 12, 4, 9, 0, 0, TimeSpan.Zero);
        InterferingKeysStorage? storage = null;
        await using var app = await TestApp.StartAsync(azurite, services: s => s.AddSingleton<IStorageProvider>(sp =>
            storage = new InterferingKeysStorage(new AgentSpend.Core.Storage.Azure.AzureStorageProvider(
                new AgentSpend.Core.Storage.Azure.StorageConnectionSettings { ConnectionString = azurite.ConnectionString }, sp.GetRequiredService<StorageRequestCounter>()), usedAt)));
        var (_, admin) = await app.CreateWorkspaceAsync(new { name = "revoke-race" });
        var created = await app.SendAsync("POST", "/api/v1/keys", new { name = "doomed", scopes = new[] { "ingest" } }, admin);
        var (id, raw) = (created.Body!.Value.Str("id")!, created.Body.Value.Str("key")!);
        storage!.InterfereWithNextRevocation = true;

        var revoked = await app.SendAsync("POST", $"/api/v1/keys/{id}/revoke", null, admin);

        Assert.Equal(1, storage.Interfered); // the first write met a changed row (412) and was tried again
        Assert.Equal((200, "revoked"), (revoked.Status, revoked.Body!.Value.Str("status")));
        Assert.Equal(401, (await app.SendAsync("GET", "/api/v1/keys/current", key: raw)).Status);
        var listed = (await app.SendAsync("GET", "/api/v1/keys", key: admin)).Body!.Value.GetProperty("items").EnumerateArray().Single(k => k.Str("id") == id);
        Assert.Equal(usedAt, listed.GetProperty("last_used_at").GetDateTimeOffset()); // the racing write is kept
    }

    /// <summary>Before the next revocation's write of a key row, writes that row itself (as a usage flush would), so the revocation's ETag no longer matches.</summary>
    private sealed class InterferingKeysStorage(IStorageProvider inner, DateTimeOffset usedAt) : IStorageProvider
    {
        public bool InterfereWithNextRevocation { get; set; }

        public int Interfered { get; private set; }

        public DateTimeOffset UsedAt => usedAt;

        public ITableStore GetTable(string name) => name == StorageNames.ApiKeysTable ? new Table(inner.GetTable(name), this) : inner.GetTable(name);

        public IQueueStore GetQueue(string name) => inner.GetQueue(name);

        private sealed class Table(ITableStore inner, InterferingKeysStorage owner) : DelegatingTableStore(inner)
        {
            public override async Task<ETag> UpdateAsync(ITableEntity entity, ETag ifMatch, TableUpdateMode mode, CancellationToken cancellationToken = default)
            {
                if (owner.InterfereWithNextRevocation && entity is TableEntity row && row.ContainsKey("RevokedAt"))
                {
                    owner.InterfereWithNextRevocation = false;
                    owner.Interfered += 1;
                    await Inner.UpdateAsync(new TableEntity(row.PartitionKey, row.RowKey) { ["LastUsedAt"] = owner.UsedAt }, ETag.All, TableUpdateMode.Merge, cancellationToken);
                }

                return await base.UpdateAsync(entity, ifMatch, mode, cancellationToken);
            }
        }
    }
}
