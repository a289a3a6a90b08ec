using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentSpend.Core.Secrets;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Security.KeyVault.Secrets;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentSpend.Core.Tests.Secrets;

/// <summary>The Key Vault key ring over the real SecretClient, with a transport that answers as Key Vault does.</summary>
public class KeyVaultSecretKeyRingTests
{
    private const string VaultUri = "https://kv-agentspend-test.vault.azure.net/";

    [Fact]
    public async Task A_missing_secret_is_created_once_with_32_random_bytes_and_its_version_is_the_key_id()
    {
        var vault = new FakeVault();
        using var ring = Ring(vault, new MovableClock(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero)));

        var key = await ring.GetCurrentAsync(CancellationToken.None);

        var created = Assert.Single(vault.Versions);
        Assert.Equal(created.Version, key.Id);
        Assert.Equal(32, key.Length());
        Assert.Equal(Convert.FromBase64String(created.Value), key.Material.ToArray());
        Assert.Equal("application/octet-stream;base64", created.ContentType);
        // Every request carried the identity's token, after Key Vault's challenge named the resource.
        Assert.All(vault.Requests.Where(r => r.Authorized), r => Assert.Equal("Bearer token-for-https://vault.azure.net/.default", r.Authorization));
        Assert.Equal(["GET latest", "PUT"], vault.Requests.Where(r => r.Authorized).Select(r => r.What));

        Assert.Same(key, await ring.GetCurrentAsync(CancellationToken.None));
        Assert.Equal(2, vault.Requests.Count(r => r.Authorized)); // read once, then kept
    }

    [Fact]
    public async Task A_new_version_becomes_current_after_the_refresh_interval_and_old_versions_stay_readable()
    {
        var vault = new FakeVault();
        var first = vault.AddVersion();
        var clock = new MovableClock(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero));
        using var ring = Ring(vault, clock);
        Assert.Equal(first.Version, (await ring.GetCurrentAsync(CancellationToken.None)).Id);

        var second = vault.AddVersion();
        clock.Now += KeyVaultSecretKeyRing.RefreshInterval - TimeSpan.FromSeconds(1);
        Assert.Equal(first.Version, (await ring.GetCurrentAsync(CancellationToken.None)).Id);
        clock.Now += TimeSpan.FromSeconds(1);
        Assert.Equal(second.Version, (await ring.GetCurrentAsync(CancellationToken.None)).Id);

        using var fresh = Ring(vault, clock); // another instance, which never saw the first version as current
        var old = await fresh.FindAsync(first.Version, CancellationToken.None);
        Assert.Equal(Convert.FromBase64String(first.Value), old!.Material.ToArray());
        Assert.Null(await fresh.FindAsync("0123456789abcdef0123456789abcdef", CancellationToken.None));
        var before = vault.Requests.Count;
        Assert.Null(await fresh.FindAsync("../../keys/other", CancellationToken.None)); // never sent
        Assert.Equal(before, vault.Requests.Count);
    }

    [Fact]
    public async Task An_unreachable_vault_keeps_the_last_key_and_a_vault_never_read_fails_with_the_role_to_grant()
    {
        var vault = new FakeVault();
        vault.AddVersion();
        var clock = new MovableClock(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero));
        using var ring = Ring(vault, clock);
        var key = await ring.GetCurrentAsync(CancellationToken.None);

        vault.FailWith = HttpStatusCode.ServiceUnavailable;
        clock.Now += KeyVaultSecretKeyRing.RefreshInterval;
        Assert.Equal(key.Id, (await ring.GetCurrentAsync(CancellationToken.None)).Id);

        vault.FailWith = HttpStatusCode.Forbidden;
        using var denied = Ring(vault, clock);
        var error = await Assert.ThrowsAsync<SecretKeyRingException>(() => denied.GetCurrentAsync(CancellationToken.None).AsTask());
        Assert.Equal(
            $"Key Vault {VaultUri} did not give the secret 'agentspend-secret-key' (HTTP 403, Forbidden); the app's identity needs the Key Vault Secrets Officer role on it.",
            error.Message);
    }

    [Fact]
    public async Task A_version_that_is_not_a_32_byte_key_is_refused_by_name()
    {
        var vault = new FakeVault();
        var bad = vault.AddVersion(Convert.ToBase64String(new byte[16]));
        using var ring = Ring(vault, new MovableClock(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero)));

        var error = await Assert.ThrowsAsync<SecretKeyRingException>(() => ring.GetCurrentAsync(CancellationToken.None).AsTask());
        Assert.Equal($"Key Vault secret 'agentspend-secret-key' version {bad.Version} must be 32 random bytes in base64 (for example the output of: openssl rand -base64 32).", error.Message);
    }

    private static KeyVaultSecretKeyRing Ring(FakeVault vault, TimeProvider clock)
    {
        var options = new SecretClientOptions { Transport = new HttpClientTransport(new HttpClient(vault)) };
        options.Retry.MaxRetries = 0;
        var credential = DelegatedTokenCredential.Create((context, _) => new AccessToken("token-for-" + string.Join(' ', context.Scopes), DateTimeOffset.UtcNow.AddHours(1)));
        return new KeyVaultSecretKeyRing(new SecretClient(new Uri(VaultUri), credential, options), clock, NullLogger<KeyVaultSecretKeyRing>.Instance);
    }

    /// <summary>One secret's versions, served as Key Vault serves them: a bearer challenge first, then JSON secret bundles.</summary>
    private sealed class FakeVault : HttpMessageHandler
    {
        public sealed record SecretVersion(string Version, string Value, string? ContentType);

        public sealed record Request(string What, bool Authorized, string? Authorization);

        public List<SecretVersion> Versions { get; } = [];

        public List<Request> Requests { get; } = [];

        public HttpStatusCode? FailWith { get; set; }

        public SecretVersion AddVersion(string? value = null)
        {
            var version = new SecretVersion(Guid.NewGuid().ToString("N"), value ?? Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)), null);
            Versions.Add(version);
            return version;
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var path = request.RequestUri!.AbsolutePath.TrimEnd('/');
            var version = path.StartsWith("/secrets/agentspend-secret-key/", StringComparison.Ordinal) ? path["/secrets/agentspend-secret-key/".Length..] : null;
            var what = request.Method == HttpMethod.Put ? "PUT" : version is null ? "GET latest" : "GET " + version;
            var authorization = request.Headers.Authorization?.ToString();
            Requests.Add(new Request(what, authorization is not null, authorization));
            if (authorization is null)
            {
                var challenge = new HttpResponseMessage(HttpStatusCode.Unauthorized);
                challenge.Headers.TryAddWithoutValidation("WWW-Authenticate", "Bearer authorization=\"https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001\", resource=\"https://vault.azure.net\"");
                return challenge;
            }

            if (FailWith is { } status)
            {
                return Json(status, new JsonObject { ["error"] = new JsonObject { ["code"] = status.ToString(), ["message"] = "refused" } });
            }

            if (request.Method == HttpMethod.Put)
            {
                var body = JsonNode.Parse(await request.Content!.ReadAsStringAsync(cancellationToken))!;
                var created = new SecretVersion(Guid.NewGuid().ToString("N"), (string)body["value"]!, (string?)body["contentType"]);
                Versions.Add(created);
                return Json(HttpStatusCode.OK, Bundle(created));
            }

            var found = version is null ? Versions.LastOrDefault() : Versions.FirstOrDefault(v => v.Version == version);
            return found is null
                ? Json(HttpStatusCode.NotFound, new JsonObject { ["error"] = new JsonObject { ["code"] = "SecretNotFound", ["message"] = "no such secret" } })
                : Json(HttpStatusCode.OK, Bundle(found));
        }

        private static JsonObject Bundle(SecretVersion v) => new()
        {
            ["value"] = v.Value,
            ["contentType"] = v.ContentType,
            ["id"] = $"{VaultUri}secrets/agentspend-secret-key/{v.Version}",
            ["attributes"] = new JsonObject { ["enabled"] = true, ["created"] = 1_700_000_000, ["updated"] = 1_700_000_000 },
        };

        private static HttpResponseMessage Json(HttpStatusCode status, JsonNode body) =>
            new(status) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
    }
}

internal static class SecretKeyTestExtensions
{
    public static int Length(this SecretKey key) => key.Material.Length;
}
