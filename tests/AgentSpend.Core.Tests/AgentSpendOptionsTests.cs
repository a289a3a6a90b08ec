using AgentSpend.Core.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace AgentSpend.Core.Tests;

public class AgentSpendOptionsTests
{
    private const string AnyKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    // Every app needs a key for stored secrets; these tests give one unless they are about it.
    private static AgentSpendOptions Bind(params (string Key, string Value)[] settings) =>
        BindExactly(settings.Any(s => s.Key is "AGENTSPEND_SECRET_KEY" or "AGENTSPEND_KEY_VAULT_URI") ? settings : [.. settings, ("AGENTSPEND_SECRET_KEY", AnyKey)]);

    private static AgentSpendOptions BindExactly(params (string Key, string Value)[] settings)
    {
        var options = new AgentSpendOptions();
        AgentSpendOptions.Bind(options, new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build());
        return options;
    }

    [Fact]
    public void Defaults_are_documented_values_and_standalone_runs_local_triggers()
    {
        var options = Bind();

        Assert.Equal(("UTC", 90, 60, 8, true, (string?)null), (options.Timezone, options.RetentionDays, options.QueueLeaseSeconds, options.AggregationConcurrency, options.LocalTriggers, options.AdminKey));
        Assert.True(new AgentSpendOptionsValidator().Validate(null, options).Succeeded);
    }

    [Fact]
    public void Local_triggers_can_be_turned_off_for_an_instance_that_only_serves_http()
    {
        Assert.False(Bind(("AGENTSPEND_LOCAL_TRIGGERS", "false")).LocalTriggers);
        Assert.True(Bind(("AGENTSPEND_LOCAL_TRIGGERS", "true")).LocalTriggers);
    }

    [Fact]
    public void Every_invalid_setting_is_named_with_its_problem()
    {
        var options = Bind(("AGENTSPEND_TIMEZONE", "Mars/Olympus"), ("AGENTSPEND_RETENTION_DAYS", "0"), ("AGENTSPEND_AGGREGATION_CONCURRENCY", "99"), ("AGENTSPEND_ADMIN_KEY", "short"));

        var result = new AgentSpendOptionsValidator().Validate(null, options);

        Assert.Equal(
            [
                "AGENTSPEND_TIMEZONE 'Mars/Olympus' is not a known IANA timezone.",
                "AGENTSPEND_RETENTION_DAYS must be between 1 and 3650, got 0.",
                "AGENTSPEND_AGGREGATION_CONCURRENCY must be between 1 and 64, got 99.",
                "AGENTSPEND_ADMIN_KEY must be at least 24 characters long.",
            ],
            result.Failures);
    }

    [Fact]
    public void Alert_delivery_settings_default_to_a_2_s_backoff_6_attempts_and_a_10_s_timeout_and_are_range_checked()
    {
        var defaults = Bind();
        var invalid = Bind(("AGENTSPEND_ALERT_RETRY_BASE_SECONDS", "-1"), ("AGENTSPEND_ALERT_MAX_ATTEMPTS", "0"), ("AGENTSPEND_WEBHOOK_TIMEOUT_SECONDS", "121"));

        Assert.Equal((2, 6, 10), (defaults.AlertRetryBaseSeconds, defaults.AlertMaxAttempts, defaults.WebhookTimeoutSeconds));
        Assert.Equal(
            [
                "AGENTSPEND_ALERT_RETRY_BASE_SECONDS must be between 0 and 600, got -1.",
                "AGENTSPEND_ALERT_MAX_ATTEMPTS must be between 1 and 20, got 0.",
                "AGENTSPEND_WEBHOOK_TIMEOUT_SECONDS must be between 1 and 120, got 121.",
            ],
            new AgentSpendOptionsValidator().Validate(null, invalid).Failures);
    }

    [Fact]
    public void Alert_retries_wait_the_base_then_double_up_to_the_cap()
    {
        Assert.Equal(
            [2, 4, 8, 16, 32, 900, 900],
            new[] { 1, 2, 3, 4, 5, 10, 20 }.Select(attempts => Alerts.AlertDeliverer.RetryDelay(2, attempts).TotalSeconds));
        Assert.Equal(TimeSpan.Zero, Alerts.AlertDeliverer.RetryDelay(0, 3));
    }

    [Fact]
    public void A_non_number_is_refused_by_name()
    {
        var error = Assert.Throws<OptionsValidationException>(() => Bind(("AGENTSPEND_RETENTION_DAYS", "ninety")));

        Assert.Equal("AGENTSPEND_RETENTION_DAYS must be an integer, got 'ninety'.", error.Message);
    }

    [Fact]
    public void Stored_secrets_need_a_key_from_exactly_one_place_and_a_key_must_be_32_bytes_of_base64()
    {
        static IEnumerable<string> Failures(params (string, string)[] settings) => new AgentSpendOptionsValidator().Validate(null, BindExactly(settings)).Failures ?? [];

        Assert.Equal(
            ["Set AGENTSPEND_KEY_VAULT_URI (Azure: the Bicep sets it) or AGENTSPEND_SECRET_KEY (local: 32 random bytes in base64, e.g. from openssl rand -base64 32): stored webhook secrets are encrypted with that key."],
            Failures());
        Assert.Equal(
            ["Set AGENTSPEND_KEY_VAULT_URI or AGENTSPEND_SECRET_KEY, not both: the key that encrypts stored secrets must come from one place."],
            Failures(("AGENTSPEND_SECRET_KEY", AnyKey), ("AGENTSPEND_KEY_VAULT_URI", "https://kv-x.vault.azure.net/")));
        Assert.Equal(
            ["AGENTSPEND_KEY_VAULT_URI must be the vault's https URI, such as https://kv-agentspend.vault.azure.net/, got 'http://kv-x.vault.azure.net/'."],
            Failures(("AGENTSPEND_KEY_VAULT_URI", "http://kv-x.vault.azure.net/")));
        Assert.Equal(
            [
                "AGENTSPEND_SECRET_KEY must be 32 random bytes in base64 (for example the output of: openssl rand -base64 32).",
                "AGENTSPEND_SECRET_KEY_PREVIOUS must be 32 random bytes in base64 (for example the output of: openssl rand -base64 32).",
            ],
            Failures(("AGENTSPEND_SECRET_KEY", "c2hvcnQ="), ("AGENTSPEND_SECRET_KEY_PREVIOUS", AnyKey + ",not-base64!")));
        Assert.Empty(Failures(("AGENTSPEND_KEY_VAULT_URI", "https://kv-x.vault.azure.net/")));
        Assert.Equal([AnyKey, AnyKey], BindExactly(("AGENTSPEND_SECRET_KEY", AnyKey), ("AGENTSPEND_SECRET_KEY_PREVIOUS", $"{AnyKey}, {AnyKey}")).SecretKeyPrevious);
    }
}
