using System.Security.Cryptography;
using System.Text;

namespace AgentSpend.Core.Secrets;

/// <summary>
/// Keys from settings, for local use: <c>AGENTSPEND_SECRET_KEY</c> encrypts, and the keys in
/// <c>AGENTSPEND_SECRET_KEY_PREVIOUS</c> still decrypt what they encrypted before a rotation. A key's id is derived
/// from the key, so moving a key from one setting to the other keeps its secrets readable.
/// </summary>
public sealed class SettingsSecretKeyRing : ISecretKeyRing
{
    private readonly SecretKey _current;
    private readonly Dictionary<string, SecretKey> _byId = new(StringComparer.Ordinal);

    public SettingsSecretKeyRing(string current, IEnumerable<string> previous)
    {
        _current = Parse(Configuration.AgentSpendOptions.SecretKeySetting, current);
        _byId[_current.Id] = _current;
        foreach (var raw in previous)
        {
            var key = Parse(Configuration.AgentSpendOptions.SecretKeyPreviousSetting, raw);
            _byId.TryAdd(key.Id, key);
        }
    }

    public ValueTask<SecretKey> GetCurrentAsync(CancellationToken cancellationToken) => ValueTask.FromResult(_current);

    public ValueTask<SecretKey?> FindAsync(string id, CancellationToken cancellationToken) => ValueTask.FromResult(_byId.GetValueOrDefault(id));

    /// <summary>A key given as base64 of 32 bytes, with an id that names it without revealing it.</summary>
    public static SecretKey Parse(string setting, string raw)
    {
        var bytes = new byte[SecretKey.Length + 3];
        if (!Convert.TryFromBase64String(raw.Trim(), bytes, out var written) || written != SecretKey.Length)
        {
            throw new SecretKeyRingException($"{setting} must be {SecretKey.Length} random bytes in base64 (for example the output of: openssl rand -base64 32).");
        }

        var material = bytes[..SecretKey.Length];
        return new SecretKey(IdOf(material), material);
    }

    // A one-way id, so a log or a stored value that names the key says nothing about it.
    private static string IdOf(byte[] material) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(material, Encoding.ASCII.GetBytes("agentspend secret key id")))[..16];
}
