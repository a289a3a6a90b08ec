using AgentSpend.Core.Auth;
using AgentSpend.Core.Configuration;
using AgentSpend.Core.Storage;
using AgentSpend.Integration.Tests.Infrastructure;
using Azure.Data.Tables;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AgentSpend.Integration.Tests.Auth;

public sealed class ApiKeyBootstrapTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>, IDisposable
{
    private readonly StorageFanOut _fanOut = new();

    public void Dispose() => _fanOut.Dispose();

    private ApiKeyService Service(string? adminKey = null) => new(
        azurite.Storage,
        Options.Create(new AgentSpendOptions { AdminKey = adminKey }),
        TimeProvider.System,
        _fanOut,
        NullLogger<ApiKeyService>.Instance);

    [Fact]
    public async Task The_first_start_generates_one_key_shown_once_and_stored_only_as_a_hash()
    {
        await azurite.Storage.GetTable(StorageNames.ApiKeysTable).CreateIfNotExistsAsync();

        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Service().EnsureBootstrapKeyAsync(CancellationToken.None)));
        var again = await Service().EnsureBootstrapKeyAsync(CancellationToken.None);

        var key = Assert.Single(results, r => r is not null)!; // concurrent first starts print one key
        Assert.Null(again);
        Assert.Matches("^as_default_[A-Za-z0-9_-]{43}$", key);
        var identity = await Service().AuthenticateAsync(key, CancellationToken.None);
        Assert.Equal(("default", true), (identity?.WorkspaceId, identity?.Scopes.Contains(ApiKeyScopes.InstanceAdmin)));
        Assert.Null(await Service().AuthenticateAsync(key + "x", CancellationToken.None));

        var rows = new List<TableEntity>();
        await foreach (var row in azurite.Storage.GetTable(StorageNames.ApiKeysTable).QueryAsync("PartitionKey ge 'key' and PartitionKey lt 'key}'"))
        {
            rows.Add(row);
        }

        var stored = Assert.Single(rows);
        Assert.Equal(("key|" + ApiKeyService.Hash(key)[..2], ApiKeyService.Hash(key)), (stored.PartitionKey, stored.RowKey));
        Assert.DoesNotContain(rows.SelectMany(r => r.Select(p => p.Value)).OfType<string>(), v => v.Contains(key[3..], StringComparison.Ordinal));
    }
}
