using System.Collections.Concurrent;
using System.Security.Cryptography;
using Azure;
using Azure.Security.KeyVault.Secrets;
using Microsoft.Extensions.Logging;

namespace AgentSpend.Core.Secrets;

/// <summary>
/// Keys kept as the versions of one Key Vault secret, read with the app's managed identity. The latest version
/// encrypts; a key's id is its version, so every version the vault still holds decrypts. Rotating is adding a
/// version (<c>az keyvault secret set</c>); instances take it up within <see cref="RefreshInterval"/>. When the
/// secret does not exist yet, the first instance to need it creates it with 32 random bytes: two instances racing
/// make two versions, and both stay readable.
/// </summary>
public sealed partial class KeyVaultSecretKeyRing(SecretClient client, TimeProvider clock, ILogger<KeyVaultSecretKeyRing> logger) : ISecretKeyRing, IDisposable
{
    public const string SecretName = "agentspend-secret-key";

    public static readonly TimeSpan RefreshInterval = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<string, SecretKey> _versions = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private (SecretKey Key, DateTimeOffset ReadAt)? _current;

    public async ValueTask<SecretKey> GetCurrentAsync(CancellationToken cancellationToken)
    {
        if (_current is { } fresh && clock.GetUtcNow() - fresh.ReadAt < RefreshInterval)
        {
            return fresh.Key;
        }

        await _refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_current is { } raced && clock.GetUtcNow() - raced.ReadAt < RefreshInterval)
            {
                return raced.Key;
            }

            try
            {
                var key = Remember(await ReadLatestOrCreateAsync(cancellationToken).ConfigureAwait(false));
                _current = (key, clock.GetUtcNow());
                return key;
            }
            catch (RequestFailedException ex) when (_current is { } stale)
            {
                // The vault is out of reach: the key read last still encrypts correctly, only a rotation waits.
                LogRefreshFailed(logger, ex.Status, ex.ErrorCode);
                return stale.Key;
            }
            catch (RequestFailedException ex)
            {
                throw new SecretKeyRingException($"Key Vault {client.VaultUri} did not give the secret '{SecretName}' (HTTP {ex.Status}, {ex.ErrorCode}); the app's identity needs the Key Vault Secrets Officer role on it.", ex);
            }
        }
        finally
        {
            _refresh.Release();
        }
    }

    public async ValueTask<SecretKey?> FindAsync(string id, CancellationToken cancellationToken)
    {
        if (_versions.TryGetValue(id, out var known))
        {
            return known;
        }

        // Versions are 32 hex digits; anything else never reaches the vault.
        if (id.Length != 32 || !id.All(char.IsAsciiHexDigit))
        {
            return null;
        }

        try
        {
            return Remember((await client.GetSecretAsync(SecretName, id, cancellationToken).ConfigureAwait(false)).Value);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
        catch (RequestFailedException ex)
        {
            throw new SecretKeyRingException($"Key Vault {client.VaultUri} did not give version {id} of the secret '{SecretName}' (HTTP {ex.Status}, {ex.ErrorCode}).", ex);
        }
    }

    private async Task<KeyVaultSecret> ReadLatestOrCreateAsync(CancellationToken cancellationToken)
    {
        try
        {
            return (await client.GetSecretAsync(SecretName, cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            var created = new KeyVaultSecret(SecretName, Convert.ToBase64String(RandomNumberGenerator.GetBytes(SecretKey.Length)));
            created.Properties.ContentType = "application/octet-stream;base64";
            var stored = (await client.SetSecretAsync(created, cancellationToken).ConfigureAwait(false)).Value;
            LogCreated(logger, SecretName, stored.Properties.Version);
            return stored;
        }
    }

    public void Dispose() => _refresh.Dispose();

    private SecretKey Remember(KeyVaultSecret secret)
    {
        var version = secret.Properties.Version;
        var material = SettingsSecretKeyRing.Parse($"Key Vault secret '{SecretName}' version {version}", secret.Value ?? "").Material;
        return _versions.GetOrAdd(version, _ => new SecretKey(version, material));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Key Vault secret {SecretName} was missing: created version {Version} with a new random key")]
    private static partial void LogCreated(ILogger logger, string secretName, string version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Key Vault could not be read (HTTP {Status}, {ErrorCode}): the key read last keeps encrypting until it can")]
    private static partial void LogRefreshFailed(ILogger logger, int status, string? errorCode);
}
