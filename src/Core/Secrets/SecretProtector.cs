using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace AgentSpend.Core.Secrets;

/// <summary>
/// Encrypts secrets before they are stored (AES-256-GCM, a fresh nonce each time) as
/// <c>enc1.&lt;key id&gt;.&lt;base64url of nonce, ciphertext and tag&gt;</c>. The context (which row the secret belongs to) is
/// authenticated too, so a value copied into another row does not decrypt there. Values stored before encryption
/// existed are read as they are, until the start-up sweep encrypts them.
/// </summary>
public sealed class SecretProtector(ISecretKeyRing keys)
{
    private const string Prefix = "enc1.";
    private const int NonceLength = 12;
    private const int TagLength = 16;

    public async Task<string> ProtectAsync(string secret, string context, CancellationToken cancellationToken)
    {
        var key = await keys.GetCurrentAsync(cancellationToken).ConfigureAwait(false);
        var plaintext = Encoding.UTF8.GetBytes(secret);
        var sealedBytes = new byte[NonceLength + plaintext.Length + TagLength];
        var nonce = sealedBytes.AsSpan(0, NonceLength);
        RandomNumberGenerator.Fill(nonce);
        using (var aes = new AesGcm(key.Material.Span, TagLength))
        {
            aes.Encrypt(nonce, plaintext, sealedBytes.AsSpan(NonceLength, plaintext.Length), sealedBytes.AsSpan(NonceLength + plaintext.Length), Encoding.UTF8.GetBytes(context));
        }

        return Prefix + key.Id + "." + Base64Url.EncodeToString(sealedBytes);
    }

    /// <summary>The secret a stored value holds.</summary>
    /// <exception cref="SecretUnreadableException">Its key is no longer held, or the value was altered or moved.</exception>
    public async Task<string> UnprotectAsync(string stored, string context, CancellationToken cancellationToken)
    {
        if (!IsProtected(stored))
        {
            return stored;
        }

        var (keyId, payload) = Split(stored);
        if (await keys.FindAsync(keyId, cancellationToken).ConfigureAwait(false) is not { } key)
        {
            throw new SecretUnreadableException(keyId, "its encryption key is no longer held");
        }

        byte[] sealedBytes;
        try
        {
            sealedBytes = Base64Url.DecodeFromChars(payload);
        }
        catch (FormatException)
        {
            throw new SecretUnreadableException(keyId, "the stored value is damaged");
        }

        if (sealedBytes.Length < NonceLength + TagLength)
        {
            throw new SecretUnreadableException(keyId, "the stored value is damaged");
        }

        var plaintext = new byte[sealedBytes.Length - NonceLength - TagLength];
        try
        {
            using var aes = new AesGcm(key.Material.Span, TagLength);
            aes.Decrypt(sealedBytes.AsSpan(0, NonceLength), sealedBytes.AsSpan(NonceLength, plaintext.Length), sealedBytes.AsSpan(NonceLength + plaintext.Length), plaintext, Encoding.UTF8.GetBytes(context));
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new SecretUnreadableException(keyId, "the stored value was altered or belongs to another row");
        }

        return Encoding.UTF8.GetString(plaintext);
    }

    /// <summary>True when the value is encrypted under the current key: the sweep leaves it alone.</summary>
    public async Task<bool> IsUnderCurrentKeyAsync(string stored, CancellationToken cancellationToken) =>
        IsProtected(stored) && string.Equals(Split(stored).KeyId, (await keys.GetCurrentAsync(cancellationToken).ConfigureAwait(false)).Id, StringComparison.Ordinal);

    public async Task<string> CurrentKeyIdAsync(CancellationToken cancellationToken) =>
        (await keys.GetCurrentAsync(cancellationToken).ConfigureAwait(false)).Id;

    public static bool IsProtected(string stored) => stored.StartsWith(Prefix, StringComparison.Ordinal);

    private static (string KeyId, string Payload) Split(string stored)
    {
        var rest = stored.AsSpan(Prefix.Length);
        var dot = rest.IndexOf('.');
        return dot <= 0 ? ("", "") : (rest[..dot].ToString(), rest[(dot + 1)..].ToString());
    }
}

/// <summary>A stored secret that cannot be decrypted, and why; never says anything about the secret itself.</summary>
public sealed class SecretUnreadableException(string keyId, string reason)
    : Exception($"A stored secret cannot be decrypted: {reason} (key id '{keyId}').")
{
    public string KeyId { get; } = keyId;
}
