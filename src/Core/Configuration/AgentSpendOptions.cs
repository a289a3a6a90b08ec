using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace AgentSpend.Core.Configuration;

/// <summary>
/// App settings (environment variables / Functions app settings). Each one is listed with its default
/// in local.settings.sample.json and docs/settings.md.
/// </summary>
public sealed class AgentSpendOptions
{
    public const string TimezoneSetting = "AGENTSPEND_TIMEZONE";
    public const string AdminKeySetting = "AGENTSPEND_ADMIN_KEY";
    public const string RetentionDaysSetting = "AGENTSPEND_RETENTION_DAYS";
    public const string LocalTriggersSetting = "AGENTSPEND_LOCAL_TRIGGERS";
    public const string QueueLeaseSecondsSetting = "AGENTSPEND_QUEUE_LEASE_SECONDS";
    public const string AggregationConcurrencySetting = "AGENTSPEND_AGGREGATION_CONCURRENCY";
    public const string AggregateRetentionDaysSetting = "AGENTSPEND_AGGREGATE_RETENTION_DAYS";
    public const string CorsOriginsSetting = "AGENTSPEND_CORS_ORIGINS";
    public const string KeyUsageFlushSecondsSetting = "AGENTSPEND_KEY_USAGE_FLUSH_SECONDS";
    public const string ConcentrationThresholdSetting = "AGENTSPEND_CONCENTRATION_THRESHOLD_PCT";
    public const string RunIdleMinutesSetting = "AGENTSPEND_RUN_IDLE_MINUTES";
    public const string LongSessionMinutesSetting = "AGENTSPEND_LONG_SESSION_MINUTES";
    public const string KeyRatePerSecondSetting = "AGENTSPEND_KEY_RATE_PER_SECOND";
    public const string KeyBurstSetting = "AGENTSPEND_KEY_BURST";
    public const string SpikeFactorSetting = "AGENTSPEND_SPIKE_FACTOR";
    public const string AlertRetryBaseSecondsSetting = "AGENTSPEND_ALERT_RETRY_BASE_SECONDS";
    public const string AlertMaxAttemptsSetting = "AGENTSPEND_ALERT_MAX_ATTEMPTS";
    public const string WebhookTimeoutSecondsSetting = "AGENTSPEND_WEBHOOK_TIMEOUT_SECONDS";
    public const string WebhookAllowPrivateNetworksSetting = "AGENTSPEND_WEBHOOK_ALLOW_PRIVATE_NETWORKS";
    public const string SecretKeySetting = "AGENTSPEND_SECRET_KEY";
    public const string SecretKeyPreviousSetting = "AGENTSPEND_SECRET_KEY_PREVIOUS";
    public const string KeyVaultUriSetting = "AGENTSPEND_KEY_VAULT_URI";
    public const string MetricsOtlpEndpointSetting = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>IANA timezone of the default workspace: its days are the metrics' days.</summary>
    public string Timezone { get; set; } = "UTC";

    /// <summary>True when AGENTSPEND_TIMEZONE was given: it then overrides the default workspace's stored timezone.</summary>
    public bool TimezoneIsSet { get; set; }

    /// <summary>True when AGENTSPEND_RETENTION_DAYS was given: it then overrides the default workspace's stored retention.</summary>
    public bool RetentionDaysIsSet { get; set; }

    /// <summary>Daily buckets older than this many days are deleted.</summary>
    public int AggregateRetentionDays { get; set; } = 400;

    /// <summary>Origins allowed to call the API from a browser; empty: CORS off.</summary>
    public IReadOnlyList<string> CorsOrigins { get; set; } = [];

    /// <summary>How often the keys' last-used times and failure counts are written (they are kept in memory in between).</summary>
    public int KeyUsageFlushSeconds { get; set; } = 60;

    /// <summary>When set, this key is an instance-admin key of the default workspace.</summary>
    public string? AdminKey { get; set; }

    /// <summary>Raw events older than this many days are deleted; buckets are kept.</summary>
    public int RetentionDays { get; set; } = 90;

    /// <summary>
    /// Local mode: run the queue and timer triggers inside the app. Off, an instance only serves HTTP (another
    /// instance counts). Under the Functions host the host runs the triggers and this is not read.
    /// </summary>
    public bool LocalTriggers { get; set; } = true;

    /// <summary>Standalone mode: how long a received message stays invisible while it is worked on (renewed while work goes on).</summary>
    public int QueueLeaseSeconds { get; set; } = 60;

    /// <summary>How many workspace-day partitions one aggregation pass writes at once.</summary>
    public int AggregationConcurrency { get; set; } = 8;

    /// <summary>A provider holding at least this share (%) of cost, tokens or calls is reported as over-relied on.</summary>
    public int ConcentrationThresholdPct { get; set; } = 70;

    /// <summary>A run, session or agent with no event for this many minutes is no longer active (runs are then marked completed).</summary>
    public int RunIdleMinutes { get; set; } = 5;

    /// <summary>An active session running longer than this many minutes is reported by the burn rate's long-running-session detector.</summary>
    public int LongSessionMinutes { get; set; } = 120;

    /// <summary>Requests a second one API key may make to ingest and check (per instance); 0: no limit.</summary>
    public int KeyRatePerSecond { get; set; } = 1000;

    /// <summary>How many requests a key may make at once above its rate.</summary>
    public int KeyBurst { get; set; } = 2000;

    /// <summary>An hour costing more than this many times the trailing 7-day hourly mean raises a spend-spike alert; 0: never.</summary>
    public decimal SpikeFactor { get; set; } = 3m;

    /// <summary>
    /// An alert whose webhooks failed is tried again after this many seconds, doubling with each attempt
    /// (capped at <see cref="AlertMaxRetryDelay"/>); 0 retries at once.
    /// </summary>
    public int AlertRetryBaseSeconds { get; set; } = 2;

    /// <summary>Delivery attempts per alert, the first included; after the last, its message goes to the alerts poison queue.</summary>
    public int AlertMaxAttempts { get; set; } = 6;

    /// <summary>How long one webhook post may take, connection included, before it counts as failed.</summary>
    public int WebhookTimeoutSeconds { get; set; } = 10;

    /// <summary>
    /// Lets webhooks use http and reach loopback, private and link-local addresses: for local use and tests.
    /// Cloud metadata addresses stay refused even then.
    /// </summary>
    public bool WebhookAllowPrivateNetworks { get; set; }

    /// <summary>Base64 of 32 random bytes: encrypts stored secrets (webhook signing secrets) when no Key Vault is set. Local use.</summary>
    public string? SecretKey { get; set; }

    /// <summary>Keys that encrypted secrets before the last rotation, still read (comma-separated, base64 each).</summary>
    public IReadOnlyList<string> SecretKeyPrevious { get; set; } = [];

    /// <summary>The Key Vault holding the key that encrypts stored secrets, read with the app's managed identity (Azure).</summary>
    public string? KeyVaultUri { get; set; }

    /// <summary>Where the app's own metrics are sent over OTLP (the OpenTelemetry SDK's standard setting); null: not exported.</summary>
    public Uri? MetricsOtlpEndpoint { get; set; }

    /// <summary>The longest wait between two delivery attempts of an alert, however many came before.</summary>
    public static TimeSpan AlertMaxRetryDelay { get; } = TimeSpan.FromMinutes(15);

    public TimeZoneInfo ResolveTimeZone() => TimeZoneInfo.FindSystemTimeZoneById(Timezone);

    public static void Bind(AgentSpendOptions options, IConfiguration configuration)
    {
        options.TimezoneIsSet = configuration[TimezoneSetting] is { Length: > 0 };
        options.Timezone = configuration[TimezoneSetting] is { Length: > 0 } tz ? tz : options.Timezone;
        options.RetentionDaysIsSet = configuration[RetentionDaysSetting] is { Length: > 0 };
        options.AggregateRetentionDays = ReadInt(configuration, AggregateRetentionDaysSetting, options.AggregateRetentionDays);
        options.KeyUsageFlushSeconds = ReadInt(configuration, KeyUsageFlushSecondsSetting, options.KeyUsageFlushSeconds);
        options.CorsOrigins = (configuration[CorsOriginsSetting] ?? "")
            .Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        options.AdminKey = configuration[AdminKeySetting] is { Length: > 0 } key ? key : null;
        options.RetentionDays = ReadInt(configuration, RetentionDaysSetting, options.RetentionDays);
        options.QueueLeaseSeconds = ReadInt(configuration, QueueLeaseSecondsSetting, options.QueueLeaseSeconds);
        options.AggregationConcurrency = ReadInt(configuration, AggregationConcurrencySetting, options.AggregationConcurrency);
        options.ConcentrationThresholdPct = ReadInt(configuration, ConcentrationThresholdSetting, options.ConcentrationThresholdPct);
        options.RunIdleMinutes = ReadInt(configuration, RunIdleMinutesSetting, options.RunIdleMinutes);
        options.LongSessionMinutes = ReadInt(configuration, LongSessionMinutesSetting, options.LongSessionMinutes);
        options.KeyRatePerSecond = ReadInt(configuration, KeyRatePerSecondSetting, options.KeyRatePerSecond);
        options.KeyBurst = ReadInt(configuration, KeyBurstSetting, options.KeyBurst);
        options.SpikeFactor = configuration[SpikeFactorSetting] is { Length: > 0 } spike
            ? decimal.TryParse(spike, System.Globalization.NumberStyles.Number, System.Globalization.CultureInfo.InvariantCulture, out var factor)
                ? factor
                : throw new OptionsValidationException(SpikeFactorSetting, typeof(AgentSpendOptions), [$"{SpikeFactorSetting} must be a number, got '{spike}'."])
            : options.SpikeFactor;
        options.AlertRetryBaseSeconds = ReadInt(configuration, AlertRetryBaseSecondsSetting, options.AlertRetryBaseSeconds);
        options.AlertMaxAttempts = ReadInt(configuration, AlertMaxAttemptsSetting, options.AlertMaxAttempts);
        options.WebhookTimeoutSeconds = ReadInt(configuration, WebhookTimeoutSecondsSetting, options.WebhookTimeoutSeconds);
        options.WebhookAllowPrivateNetworks = configuration[WebhookAllowPrivateNetworksSetting] is { Length: > 0 } allow
            ? ParseBool(WebhookAllowPrivateNetworksSetting, allow)
            : options.WebhookAllowPrivateNetworks;
        options.SecretKey = configuration[SecretKeySetting] is { Length: > 0 } secretKey ? secretKey : null;
        options.SecretKeyPrevious = (configuration[SecretKeyPreviousSetting] ?? "").Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        options.KeyVaultUri = configuration[KeyVaultUriSetting] is { Length: > 0 } vault ? vault : null;
        options.MetricsOtlpEndpoint = configuration[MetricsOtlpEndpointSetting] is { Length: > 0 } otlp
            ? Uri.TryCreate(otlp, UriKind.Absolute, out var endpoint) && endpoint.Scheme is "http" or "https"
                ? endpoint
                : throw new OptionsValidationException(MetricsOtlpEndpointSetting, typeof(AgentSpendOptions), [$"{MetricsOtlpEndpointSetting} must be an http or https URL such as http://127.0.0.1:4318, got '{otlp}'."])
            : null;
        options.LocalTriggers = configuration[LocalTriggersSetting] is { Length: > 0 } local
            ? ParseBool(LocalTriggersSetting, local)
            : options.LocalTriggers;
    }

    private static int ReadInt(IConfiguration configuration, string name, int fallback)
    {
        var raw = configuration[name];
        if (string.IsNullOrWhiteSpace(raw))
        {
            return fallback;
        }

        return int.TryParse(raw, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new OptionsValidationException(name, typeof(AgentSpendOptions), [$"{name} must be an integer, got '{raw}'."]);
    }

    private static bool ParseBool(string name, string raw) =>
        bool.TryParse(raw, out var value)
            ? value
            : throw new OptionsValidationException(name, typeof(AgentSpendOptions), [$"{name} must be true or false, got '{raw}'."]);
}

/// <summary>Fails start-up with the setting's name and what is wrong with it.</summary>
public sealed class AgentSpendOptionsValidator : IValidateOptions<AgentSpendOptions>
{
    public ValidateOptionsResult Validate(string? name, AgentSpendOptions options)
    {
        var failures = new List<string>();
        void InRange(string setting, int value, int min, int max)
        {
            if (value < min || value > max)
            {
                failures.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{setting} must be between {min} and {max}, got {value}."));
            }
        }

        if (!TimeZoneInfo.TryFindSystemTimeZoneById(options.Timezone, out _))
        {
            failures.Add($"{AgentSpendOptions.TimezoneSetting} '{options.Timezone}' is not a known IANA timezone.");
        }

        InRange(AgentSpendOptions.RetentionDaysSetting, options.RetentionDays, 1, 3650);
        InRange(AgentSpendOptions.QueueLeaseSecondsSetting, options.QueueLeaseSeconds, 2, 600);
        InRange(AgentSpendOptions.AggregationConcurrencySetting, options.AggregationConcurrency, 1, 64);
        InRange(AgentSpendOptions.AggregateRetentionDaysSetting, options.AggregateRetentionDays, 1, 3650);
        InRange(AgentSpendOptions.ConcentrationThresholdSetting, options.ConcentrationThresholdPct, 1, 100);
        InRange(AgentSpendOptions.RunIdleMinutesSetting, options.RunIdleMinutes, 1, 1440);
        InRange(AgentSpendOptions.LongSessionMinutesSetting, options.LongSessionMinutes, 1, 10080);

        if (options.KeyRatePerSecond is < 0 or > 1_000_000)
        {
            failures.Add($"{AgentSpendOptions.KeyRatePerSecondSetting} must be between 0 (no limit) and 1000000, got {options.KeyRatePerSecond}.");
        }

        if (options.KeyBurst < 1 || (options.KeyRatePerSecond > 0 && options.KeyBurst < options.KeyRatePerSecond))
        {
            failures.Add($"{AgentSpendOptions.KeyBurstSetting} must be at least 1 and at least {AgentSpendOptions.KeyRatePerSecondSetting}, got {options.KeyBurst}.");
        }

        InRange(AgentSpendOptions.KeyUsageFlushSecondsSetting, options.KeyUsageFlushSeconds, 1, 3600);
        InRange(AgentSpendOptions.AlertRetryBaseSecondsSetting, options.AlertRetryBaseSeconds, 0, 600);
        InRange(AgentSpendOptions.AlertMaxAttemptsSetting, options.AlertMaxAttempts, 1, 20);
        InRange(AgentSpendOptions.WebhookTimeoutSecondsSetting, options.WebhookTimeoutSeconds, 1, 120);

        if (options.SpikeFactor is < 0 or > 1000 || (options.SpikeFactor > 0 && options.SpikeFactor < 1))
        {
            failures.Add($"{AgentSpendOptions.SpikeFactorSetting} must be 0 (no spike alerts) or between 1 and 1000, got {options.SpikeFactor}.");
        }

        foreach (var origin in options.CorsOrigins)
        {
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.AbsolutePath != "/")
            {
                failures.Add($"{AgentSpendOptions.CorsOriginsSetting}: '{origin}' is not an origin such as https://dashboard.example.com.");
            }
        }

        ValidateSecretKeys(options, failures);

        if (options.AdminKey is { Length: < 24 })
        {
            failures.Add($"{AgentSpendOptions.AdminKeySetting} must be at least 24 characters long.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    // Stored secrets are encrypted with a key from exactly one place; without one the app would have to store them in clear.
    private static void ValidateSecretKeys(AgentSpendOptions options, List<string> failures)
    {
        if (options.SecretKey is null && options.KeyVaultUri is null)
        {
            failures.Add($"Set {AgentSpendOptions.KeyVaultUriSetting} (Azure: the Bicep sets it) or {AgentSpendOptions.SecretKeySetting} (local: 32 random bytes in base64, e.g. from openssl rand -base64 32): stored webhook secrets are encrypted with that key.");
        }
        else if (options.SecretKey is not null && options.KeyVaultUri is not null)
        {
            failures.Add($"Set {AgentSpendOptions.KeyVaultUriSetting} or {AgentSpendOptions.SecretKeySetting}, not both: the key that encrypts stored secrets must come from one place.");
        }

        if (options.KeyVaultUri is { } vault && (!Uri.TryCreate(vault, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps))
        {
            failures.Add($"{AgentSpendOptions.KeyVaultUriSetting} must be the vault's https URI, such as https://kv-agentspend.vault.azure.net/, got '{vault}'.");
        }

        foreach (var (setting, raw) in new[] { (AgentSpendOptions.SecretKeySetting, options.SecretKey) }
            .Concat(options.SecretKeyPrevious.Select(p => (AgentSpendOptions.SecretKeyPreviousSetting, (string?)p))))
        {
            try
            {
                if (raw is not null)
                {
                    Secrets.SettingsSecretKeyRing.Parse(setting, raw);
                }
            }
            catch (Secrets.SecretKeyRingException ex)
            {
                failures.Add(ex.Message);
            }
        }
    }
}
