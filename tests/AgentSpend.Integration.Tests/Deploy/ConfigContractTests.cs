using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using AgentSpend.Core.Configuration;
using AgentSpend.Core.Pricing;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Storage.Azure;

namespace AgentSpend.Integration.Tests.Deploy;

/// <summary>
/// The settings and storage names of infra/bicep against the code, both ways: what the code reads is set by
/// the Bicep or documented with a reason to leave it out; what the Bicep sets is read by the code or is a
/// listed platform setting; queues and tables are the ones StorageNames and the functions name.
/// </summary>
public sealed partial class ConfigContractTests
{
    /// <summary>Read by the code, deliberately not set by the Bicep, and why.</summary>
    private static readonly Dictionary<string, string> NotSetInAzure = new(StringComparer.Ordinal)
    {
        ["AzureWebJobsStorage"] = "a connection string carries an account key; in Azure shared keys are off and the identity-based settings are used",
        ["AzureWebJobsStorage__accountName"] = "the service URIs are set instead",
        [AgentSpendOptions.LocalTriggersSetting] = "local mode only: in Azure the Functions host runs the queue and timer functions",
        [AgentSpendOptions.SecretKeySetting] = "in Azure the key that encrypts stored secrets is kept in Key Vault (AGENTSPEND_KEY_VAULT_URI), never in an app setting",
        [AgentSpendOptions.SecretKeyPreviousSetting] = "Key Vault keeps older keys as older versions of its secret",
        [AgentSpendOptions.MetricsOtlpEndpointSetting] = "optional: set it to send the app's own metrics to an OTLP collector of your choice",
    };

    /// <summary>Set by the Bicep for the Functions host or the platform, not read by the app, and why.</summary>
    private static readonly Dictionary<string, string> PlatformSettings = new(StringComparer.Ordinal)
    {
        ["AzureWebJobsStorage__blobServiceUri"] = "the host keeps leases, timer schedules and keys in blobs; the app uses no blobs",
        ["APPLICATIONINSIGHTS_CONNECTION_STRING"] = "the host sends its logs and traces to Application Insights",
        ["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] = "the host authenticates to Application Insights with the managed identity (local auth is off)",
        ["FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"] = "the host refuses a body over 100 MiB unless this says more: an import is up to 100 MiB of file, with its multipart envelope",
    };

    private static readonly BicepFile Main = BicepFile.Load("infra", "bicep", "main.bicep");

    private static IReadOnlyList<KeyValuePair<string, string>> BicepAppSettings => Main.ObjectVariable("appSettings");

    [Fact]
    public void Only_the_known_files_read_configuration()
    {
        // A new reader elsewhere must be added to CodeSettings() below, or the contract misses its setting.
        var readers = Directory.GetFiles(Repository.PathOf("src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal))
            .Where(f => ConfigurationRead().IsMatch(File.ReadAllText(f)))
            .Select(f => Path.GetRelativePath(Repository.PathOf("src"), f))
            .Order(StringComparer.Ordinal);
        Assert.Equal(
            ["Core/Configuration/AgentSpendOptions.cs", "Core/Pricing/PriceCatalog.cs", "Core/Storage/Azure/StorageConnectionSettings.cs"],
            readers);

        // AgentSpendOptions reads only its *Setting constants.
        var options = Repository.Read("src", "Core", "Configuration", "AgentSpendOptions.cs");
        Assert.All(ConfigurationIndex().Matches(options).Select(m => m.Groups["key"].Value), key => Assert.True(key == "name" || key.EndsWith("Setting", StringComparison.Ordinal), key));
        Assert.Equal(["CatalogPathSetting"], ConfigurationIndex().Matches(Repository.Read("src", "Core", "Pricing", "PriceCatalog.cs")).Select(m => m.Groups["key"].Value));
    }

    [Fact]
    public void The_code_reads_exactly_these_settings()
    {
        Assert.Equal(
            [
                "AGENTSPEND_ADMIN_KEY", "AGENTSPEND_AGGREGATE_RETENTION_DAYS", "AGENTSPEND_AGGREGATION_CONCURRENCY", "AGENTSPEND_ALERT_MAX_ATTEMPTS",
                "AGENTSPEND_ALERT_RETRY_BASE_SECONDS", "AGENTSPEND_CONCENTRATION_THRESHOLD_PCT", "AGENTSPEND_CORS_ORIGINS", "AGENTSPEND_KEY_BURST",
                "AGENTSPEND_KEY_RATE_PER_SECOND", "AGENTSPEND_KEY_USAGE_FLUSH_SECONDS", "AGENTSPEND_KEY_VAULT_URI", "AGENTSPEND_LOCAL_TRIGGERS", "AGENTSPEND_LONG_SESSION_MINUTES",
                "AGENTSPEND_PRICE_CATALOG", "AGENTSPEND_QUEUE_LEASE_SECONDS", "AGENTSPEND_RETENTION_DAYS", "AGENTSPEND_RUN_IDLE_MINUTES",
                "AGENTSPEND_SECRET_KEY", "AGENTSPEND_SECRET_KEY_PREVIOUS", "AGENTSPEND_SPIKE_FACTOR", "AGENTSPEND_TIMEZONE", "AGENTSPEND_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "AGENTSPEND_WEBHOOK_TIMEOUT_SECONDS", "AzureWebJobsStorage",
                "AzureWebJobsStorage__accountName", "AzureWebJobsStorage__clientId", "AzureWebJobsStorage__credential",
                "AzureWebJobsStorage__queueServiceUri", "AzureWebJobsStorage__tableServiceUri",
                "OTEL_EXPORTER_OTLP_ENDPOINT",
            ],
            CodeSettings());
    }

    [Fact]
    public void Every_setting_the_code_reads_is_set_by_the_bicep_or_documented_and_left_out_for_a_reason()
    {
        var set = BicepAppSettings.Select(s => s.Key).ToHashSet(StringComparer.Ordinal);
        var documented = DocumentedSettings();
        var notSet = CodeSettings().Where(s => !set.Contains(s)).ToList();
        Assert.Equal(NotSetInAzure.Keys.Order(StringComparer.Ordinal), notSet);
        Assert.All(notSet, s => Assert.Contains(s, documented));
        Assert.All(CodeSettings(), s => Assert.Contains(s, documented)); // docs/settings.md's table lists every setting
    }

    [Fact]
    public void Every_setting_the_bicep_sets_is_read_by_the_code_or_is_a_listed_platform_setting()
    {
        var code = CodeSettings().ToHashSet(StringComparer.Ordinal);
        var keys = BicepAppSettings.Select(s => s.Key).ToList();
        Assert.Equal(keys.Distinct(StringComparer.Ordinal).Count(), keys.Count);
        Assert.Equal(PlatformSettings.Keys.Order(StringComparer.Ordinal), keys.Where(k => !code.Contains(k)).Order(StringComparer.Ordinal));

        // Flex Consumption takes the runtime from functionAppConfig; these settings are refused there.
        Assert.DoesNotContain("FUNCTIONS_WORKER_RUNTIME", Main.Text, StringComparison.Ordinal);
        Assert.Equal($"string({Core.Import.ImportService.MaxUploadBytes} + 1048576)", BicepAppSettings.Single(s => s.Key == "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT").Value);
        Assert.DoesNotContain("FUNCTIONS_EXTENSION_VERSION", Main.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Storage_is_reached_only_with_the_managed_identity()
    {
        var settings = BicepAppSettings.ToDictionary(s => s.Key, s => s.Value, StringComparer.Ordinal);
        Assert.Equal("'managedidentity'", settings["AzureWebJobsStorage__credential"]);
        Assert.Equal("identity.outputs.clientId", settings["AzureWebJobsStorage__clientId"]);
        Assert.Equal("storage.outputs.blobEndpoint", settings["AzureWebJobsStorage__blobServiceUri"]);
        Assert.Equal("storage.outputs.queueEndpoint", settings["AzureWebJobsStorage__queueServiceUri"]);
        Assert.Equal("storage.outputs.tableEndpoint", settings["AzureWebJobsStorage__tableServiceUri"]);
        Assert.Equal("'ClientId=${identity.outputs.clientId};Authorization=AAD'", settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]);
        foreach (var file in BicepFile.All())
        {
            Assert.DoesNotContain("listKeys", file.Text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("AccountKey", file.Text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("InstrumentationKey", file.Text, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public void Every_agentspend_setting_comes_from_a_parameter_with_the_documented_default()
    {
        var sample = JsonDocument.Parse(Repository.Read("local.settings.sample.json")).RootElement.GetProperty("Values")
            .EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString(), StringComparer.Ordinal);
        var parameters = Main.Params.ToDictionary(p => p.Name, StringComparer.Ordinal);
        var checkedSettings = new List<string>();
        foreach (var (setting, value) in BicepAppSettings.Where(s => s.Key.StartsWith("AGENTSPEND_", StringComparison.Ordinal)))
        {
            if (setting == AgentSpendOptions.WebhookAllowPrivateNetworksSetting)
            {
                Assert.Equal("'false'", value); // in Azure a webhook never reaches the app's own network
                continue;
            }

            if (setting == AgentSpendOptions.KeyVaultUriSetting)
            {
                Assert.Equal("keyVault.outputs.uri", value); // the vault the Bicep creates, read with the app's identity
                continue;
            }

            var match = ParameterValue().Match(value);
            Assert.True(match.Success, $"{setting} is set to '{value}', not from a parameter");
            var parameter = parameters[match.Groups["param"].Value];
            Assert.NotNull(parameter.Description);
            Assert.StartsWith("'" + setting + ":", parameter.Description, StringComparison.Ordinal);
            if (setting == AgentSpendOptions.AdminKeySetting)
            {
                Assert.True(parameter.Has("@secure"), "the admin key parameter is @secure()");
                Assert.Equal("@minLength(24)", Assert.Single(parameter.Decorators, d => d.StartsWith("@minLength", StringComparison.Ordinal)));
                Assert.Null(parameter.Default);
            }
            else
            {
                Assert.NotNull(parameter.Default);
                var @default = parameter.Type == "string" ? BicepFile.Unquote(parameter.Default) : parameter.Default;
                Assert.True(sample[setting] == @default, $"{setting}: the parameter's default is '{@default}', local.settings.sample.json says '{sample[setting]}'");
            }

            checkedSettings.Add(setting);
        }

        Assert.Equal(
            CodeSettings().Where(s => s.StartsWith("AGENTSPEND_", StringComparison.Ordinal) && s is not (AgentSpendOptions.WebhookAllowPrivateNetworksSetting or AgentSpendOptions.KeyVaultUriSetting)
                && !NotSetInAzure.ContainsKey(s)),
            checkedSettings.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task The_queues_and_tables_are_the_ones_the_code_and_the_functions_name()
    {
        var queues = Main.StringArray("queueNames");
        var tables = Main.StringArray("tableNames");
        Assert.Equal(StorageNames.Queues, queues);
        Assert.Equal(StorageNames.Tables, tables);

        var triggered = (await new Functions.GeneratedFunctionMetadataProvider().GetFunctionMetadataAsync(AppContext.BaseDirectory))
            .OrderBy(f => f.Name, StringComparer.Ordinal) // AggregateUsage (usage-ingest), then DeliverAlerts (alerts), as StorageNames lists them
            .SelectMany(f => f.RawBindings!.Select(b => JsonDocument.Parse(b).RootElement))
            .Where(b => b.TryGetProperty("queueName", out _))
            .Select(b => (Queue: b.GetProperty("queueName").GetString()!, Connection: b.GetProperty("connection").GetString()))
            .ToList();
        Assert.Equal(["usage-ingest", "alerts"], triggered.Select(t => t.Queue));
        Assert.Equal(StorageNames.TriggerQueues, triggered.Select(t => t.Queue)); // what the admin API and health list
        Assert.All(triggered, t =>
        {
            Assert.Contains(t.Queue, queues);
            Assert.Contains(StorageNames.PoisonQueueOf(t.Queue), queues);
            Assert.Equal("AzureWebJobsStorage", t.Connection); // the identity-based AzureWebJobsStorage__* settings
        });

        // The storage module creates them from these lists; main.bicep passes them on.
        var storageCall = Assert.Single(Main.Modules(), m => m.Name == "storage");
        Assert.Contains("queueNames", storageCall.Params);
        Assert.Contains("tableNames", storageCall.Params);
        Assert.Contains("queueNames: queueNames", Main.Text, StringComparison.Ordinal);
        Assert.Contains("tableNames: tableNames", Main.Text, StringComparison.Ordinal);
    }

    /// <summary>Every setting the code reads: the *Setting constants, the price catalog's, and the storage settings.</summary>
    private static IReadOnlyList<string> CodeSettings()
    {
        var constants = typeof(AgentSpendOptions).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.Name.EndsWith("Setting", StringComparison.Ordinal))
            .Select(f => (string)f.GetRawConstantValue()!);
        var storageSource = Repository.Read("src", "Core", "Storage", "Azure", "StorageConnectionSettings.cs");
        var storageKeys = StorageSectionKey().Matches(storageSource).Select(m => StorageConnectionSettings.SettingName + "__" + m.Groups["key"].Value);
        return [.. constants.Append(PriceCatalog.CatalogPathSetting).Append(StorageConnectionSettings.SettingName).Concat(storageKeys)
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    /// <summary>The settings named in docs/settings.md's table (a row may name several: `A__x` / `__y`).</summary>
    private static HashSet<string> DocumentedSettings()
    {
        var doc = Repository.Read("docs", "settings.md");
        var start = doc.IndexOf("| Setting |", StringComparison.Ordinal);
        Assert.True(start >= 0, "docs/settings.md has no settings table");
        var end = doc.IndexOf("\n\n", start, StringComparison.Ordinal);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var row in doc[start..(end < 0 ? doc.Length : end)].Split('\n').Where(l => l.StartsWith("| `", StringComparison.Ordinal)))
        {
            var firstCell = row.Split('|')[1];
            var tokens = Regex.Matches(firstCell, "`([^`]+)`").Select(m => m.Groups[1].Value).ToList();
            names.Add(tokens[0]);
            var prefix = tokens[0].Contains("__", StringComparison.Ordinal) ? tokens[0][..tokens[0].IndexOf("__", StringComparison.Ordinal)] : tokens[0];
            foreach (var more in tokens.Skip(1))
            {
                names.Add(more.StartsWith("__", StringComparison.Ordinal) ? prefix + more : more);
            }
        }

        return names;
    }

    [GeneratedRegex(@"[cC]onfiguration\[|GetSection\(|\.GetValue<|GetEnvironmentVariable\(")]
    private static partial Regex ConfigurationRead();

    [GeneratedRegex(@"[cC]onfiguration\[(?<key>[\w.]+)\]")]
    private static partial Regex ConfigurationIndex();

    [GeneratedRegex(@"section\[""(?<key>\w+)""\]|ParseUri\(section, ""(?<key>\w+)""\)")]
    private static partial Regex StorageSectionKey();

    [GeneratedRegex(@"^(string\((?<param>\w+)\)|(?<param>\w+))$")]
    private static partial Regex ParameterValue();
}
