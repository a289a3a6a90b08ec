using System.Security.Cryptography;
using System.Text;
using AgentSpend.Core.Configuration;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Workspaces;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentSpend.Core.Auth;

/// <summary>Who is calling: the key's workspace and what it may do.</summary>
public sealed record ApiKeyIdentity(string KeyId, string WorkspaceId, string Name, IReadOnlySet<string> Scopes);

public static class ApiKeyScopes
{
    public const string Admin = "admin";
    public const string Ingest = "ingest";
    public const string Read = "read";
}

/// <summary>
/// API keys are stored only as SHA-256 hashes (the row key), never in clear. A presented key is hashed
/// and its row looked up; the stored hash is compared in constant time. Lookups are cached briefly so
/// that authentication costs no storage request on most calls.
/// </summary>
public sealed partial class ApiKeyService(IStorageProvider storage, IMemoryCache cache, IOptions<AgentSpendOptions> options, ILogger<ApiKeyService> logger)
{
    public const string KeyPrefix = "as_";
    private const string KeyPartition = "key";
    private const string BootstrapPartition = "bootstrap";
    private static readonly TimeSpan PositiveCacheTime = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan NegativeCacheTime = TimeSpan.FromSeconds(10);

    private ITableStore Table => storage.GetTable(StorageNames.ApiKeysTable);

    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>A new random key: the prefix, then 43 URL-safe characters (256 bits).</summary>
    public static string Generate()
    {
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return KeyPrefix + secret;
    }

    public async Task<ApiKeyIdentity?> AuthenticateAsync(string presentedKey, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(presentedKey) || presentedKey.Length > 256)
        {
            return null;
        }

        var hash = Hash(presentedKey);
        if (cache.TryGetValue(hash, out ApiKeyIdentity? cached))
        {
            return cached;
        }

        var row = await Table.GetIfExistsAsync(KeyPartition, hash, cancellationToken: cancellationToken).ConfigureAwait(false);
        ApiKeyIdentity? identity = null;
        if (row is not null
            && row.GetBoolean("Revoked") != true
            && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(row.RowKey), Encoding.ASCII.GetBytes(hash)))
        {
            identity = new ApiKeyIdentity(
                row.GetString("KeyId") ?? hash[..12],
                row.GetString("WorkspaceId") ?? Workspace.DefaultId,
                row.GetString("Name") ?? "",
                (row.GetString("Scopes") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal));
        }

        cache.Set(hash, identity, identity is null ? NegativeCacheTime : PositiveCacheTime);
        return identity;
    }

    /// <summary>
    /// Makes sure the default workspace has an admin key: the one in AGENTSPEND_ADMIN_KEY, or on the very
    /// first start a generated one, which is returned (to be printed once) and never again.
    /// </summary>
    public async Task<string?> EnsureBootstrapKeyAsync(CancellationToken cancellationToken)
    {
        var configured = options.Value.AdminKey;
        if (configured is not null)
        {
            await Table.UpsertAsync(NewKeyEntity(configured, "admin key from " + AgentSpendOptions.AdminKeySetting), TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            return null;
        }

        // Whoever inserts the marker first generates the key, so concurrent first starts print one key.
        try
        {
            await Table.InsertAsync(new TableEntity(BootstrapPartition, Workspace.DefaultId) { ["CreatedAt"] = DateTimeOffset.UtcNow }, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            return null;
        }

        var key = Generate();
        await Table.InsertAsync(NewKeyEntity(key, "generated admin key"), cancellationToken).ConfigureAwait(false);
        LogGenerated(logger, key[..8]);
        return key;
    }

    private static TableEntity NewKeyEntity(string key, string name)
    {
        var hash = Hash(key);
        return new TableEntity(KeyPartition, hash)
        {
            ["KeyId"] = hash[..12],
            ["WorkspaceId"] = Workspace.DefaultId,
            ["Name"] = name,
            ["Scopes"] = ApiKeyScopes.Admin,
            ["Prefix"] = key[..Math.Min(8, key.Length)],
            ["CreatedAt"] = DateTimeOffset.UtcNow,
        };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Generated the first admin key ({KeyPrefix}…); it is shown once on the console and stored only as a hash")]
    private static partial void LogGenerated(ILogger logger, string keyPrefix);
}
