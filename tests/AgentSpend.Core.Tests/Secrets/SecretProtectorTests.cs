using System.Security.Cryptography;
using AgentSpend.Core.Secrets;

namespace AgentSpend.Core.Tests.Secrets;

public class SecretProtectorTests
{
    private static readonly string KeyA = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
    private static readonly string KeyB = Convert.ToBase64String(Enumerable.Range(101, 32).Select(i => (byte)i).ToArray());

    private static SecretProtector With(string current, params string[] previous) => new(new SettingsSecretKeyRing(current, previous));

    [Fact]
    public async Task A_secret_is_stored_encrypted_under_the_current_key_and_reads_back()
    {
        var protector = With(KeyA);

        var stored = await protector.ProtectAsync("whsec_hunter2-hunter2", "webhooks/ws/wh_1/secret", CancellationToken.None);

        var keyId = SettingsSecretKeyRing.Parse("k", KeyA).Id;
        Assert.StartsWith($"enc1.{keyId}.", stored, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", stored, StringComparison.Ordinal);
        Assert.Equal("whsec_hunter2-hunter2", await protector.UnprotectAsync(stored, "webhooks/ws/wh_1/secret", CancellationToken.None));
        Assert.True(await protector.IsUnderCurrentKeyAsync(stored, CancellationToken.None));
        // A fresh nonce each time: the same secret never stores the same way twice.
        Assert.NotEqual(stored, await protector.ProtectAsync("whsec_hunter2-hunter2", "webhooks/ws/wh_1/secret", CancellationToken.None));
    }

    [Fact]
    public async Task A_value_copied_into_another_row_or_altered_does_not_decrypt()
    {
        var protector = With(KeyA);
        var stored = await protector.ProtectAsync("https://hooks.slack.com/services/T0/B0/xyz", "webhooks/ws/wh_1/url", CancellationToken.None);

        var moved = await Assert.ThrowsAsync<SecretUnreadableException>(() => protector.UnprotectAsync(stored, "webhooks/other/wh_1/url", CancellationToken.None));
        Assert.Contains("altered or belongs to another row", moved.Message, StringComparison.Ordinal);

        var flipped = stored[..^3] + (stored[^3] == 'A' ? 'B' : 'A') + stored[^2..];
        await Assert.ThrowsAsync<SecretUnreadableException>(() => protector.UnprotectAsync(flipped, "webhooks/ws/wh_1/url", CancellationToken.None));
        var truncated = await Assert.ThrowsAsync<SecretUnreadableException>(() => protector.UnprotectAsync(stored[..30], "webhooks/ws/wh_1/url", CancellationToken.None));
        Assert.Contains("damaged", truncated.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task After_a_rotation_old_secrets_stay_readable_while_the_old_key_is_kept_and_only_then()
    {
        var before = await With(KeyA).ProtectAsync("s3cret-s3cret-s3cret", "ctx", CancellationToken.None);

        var rotated = With(KeyB, KeyA);
        Assert.Equal("s3cret-s3cret-s3cret", await rotated.UnprotectAsync(before, "ctx", CancellationToken.None));
        Assert.False(await rotated.IsUnderCurrentKeyAsync(before, CancellationToken.None));
        var after = await rotated.ProtectAsync("s3cret-s3cret-s3cret", "ctx", CancellationToken.None);
        Assert.StartsWith($"enc1.{SettingsSecretKeyRing.Parse("k", KeyB).Id}.", after, StringComparison.Ordinal);

        var dropped = await Assert.ThrowsAsync<SecretUnreadableException>(() => With(KeyB).UnprotectAsync(before, "ctx", CancellationToken.None));
        Assert.Equal(SettingsSecretKeyRing.Parse("k", KeyA).Id, dropped.KeyId);
        Assert.DoesNotContain("s3cret", dropped.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_value_stored_before_encryption_reads_as_it_is_and_is_not_under_the_current_key()
    {
        var protector = With(KeyA);

        Assert.Equal("whsec_legacy_plain_text", await protector.UnprotectAsync("whsec_legacy_plain_text", "ctx", CancellationToken.None));
        Assert.False(await protector.IsUnderCurrentKeyAsync("whsec_legacy_plain_text", CancellationToken.None));
    }

    [Fact]
    public void A_key_id_names_the_key_without_revealing_it_and_does_not_depend_on_the_setting()
    {
        var key = SettingsSecretKeyRing.Parse("AGENTSPEND_SECRET_KEY", KeyA);
        var same = SettingsSecretKeyRing.Parse("AGENTSPEND_SECRET_KEY_PREVIOUS", " " + KeyA + "\n");

        Assert.Equal(key.Id, same.Id);
        Assert.Equal(16, key.Id.Length);
        Assert.NotEqual(key.Id, SettingsSecretKeyRing.Parse("k", KeyB).Id);
        Assert.DoesNotContain(key.Id, Convert.ToHexStringLower(Convert.FromBase64String(KeyA)), StringComparison.Ordinal);
        Assert.DoesNotContain(key.Id, Convert.ToHexStringLower(SHA256.HashData(Convert.FromBase64String(KeyA))), StringComparison.Ordinal);
    }
}
