namespace AgentSpend.Core.Secrets;

/// <summary>A 256-bit key that encrypts secrets at rest, and the id stored beside what it encrypted.</summary>
public sealed record SecretKey(string Id, ReadOnlyMemory<byte> Material)
{
    public const int Length = 32;
}

/// <summary>
/// Where the keys that encrypt stored secrets live: never in the storage account that holds what they encrypt.
/// The current key encrypts; every key still held can decrypt, so a rotation leaves older secrets readable.
/// </summary>
public interface ISecretKeyRing
{
    /// <summary>The key new secrets are encrypted with.</summary>
    ValueTask<SecretKey> GetCurrentAsync(CancellationToken cancellationToken);

    /// <summary>The key with this id; null when the ring no longer holds it.</summary>
    ValueTask<SecretKey?> FindAsync(string id, CancellationToken cancellationToken);
}

/// <summary>A key source that is missing or misconfigured, named by its setting.</summary>
public sealed class SecretKeyRingException(string message, Exception? inner = null) : Exception(message, inner);
