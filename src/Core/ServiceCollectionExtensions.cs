using AgentSpend.Core.Otlp;
using AgentSpend.Core.Aggregation;
using AgentSpend.Core.Audit;
using AgentSpend.Core.Auth;
using AgentSpend.Core.Limits;
using AgentSpend.Core.Configuration;
using AgentSpend.Core.Import;
using AgentSpend.Core.Ingest;
using AgentSpend.Core.Metrics;
using AgentSpend.Core.Pricing;
using AgentSpend.Core.Retention;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Storage.Azure;
using AgentSpend.Core.Workspaces;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AgentSpend.Core;

public static class ServiceCollectionExtensions
{
    /// <summary>Everything the HTTP, queue and timer functions share: options, storage, and the services.</summary>
    public static IServiceCollection AddAgentSpendCore(this IServiceCollection services)
    {
        services.AddOptions<AgentSpendOptions>()
            .Configure<IConfiguration>(AgentSpendOptions.Bind)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<AgentSpendOptions>, AgentSpendOptionsValidator>();
        services.AddSingleton(TimeProvider.System);
        services.AddMemoryCache();

        services.AddSingleton<StorageRequestCounter>();
        services.AddSingleton(sp => StorageConnectionSettings.FromConfiguration(sp.GetRequiredService<IConfiguration>()));
        services.AddSingleton<IStorageProvider, AzureStorageProvider>();

        services.AddSingleton<WorkspaceStore>();
        services.AddSingleton<IWorkspaceDirectory>(sp => sp.GetRequiredService<WorkspaceStore>());
        services.AddSingleton<WorkspacePurgeService>();
        services.AddSingleton<ApiKeyService>();
        services.AddSingleton<Auth.AuthFailureLimiter>();
        services.AddSingleton<StorageFanOut>();
        services.AddMetrics();
        services.AddSingleton<Observability.AgentSpendMetrics>();
        services.AddSingleton<Observability.QueueSampler>();
        services.AddSingleton<AuditLog>();
        services.AddSingleton<PlanLimitEnforcer>();
        services.AddSingleton(sp => PriceCatalog.FromConfiguration(sp.GetRequiredService<IConfiguration>()));
        services.AddSingleton<CostEstimator>();
        services.AddSingleton<PriceOverrideStore>();
        services.AddSingleton<WorkspacePricing>();
        services.AddSingleton<RepriceService>();
        services.AddSingleton<IngestRequestParser>();
        services.AddSingleton<IngestService>();
        services.AddSingleton<ImportService>();
        services.AddSingleton<SessionMetricsReader>();
        services.AddSingleton<DayVersions>();
        services.AddSingleton<Runs.RunIndex>();
        services.AddSingleton<Runs.RunQueries>();
        services.AddSingleton<UsageAggregator>();
        services.AddSingleton<MetricsService>();
        services.AddSingleton<AgentMetrics>();
        services.AddSingleton<EfficiencyMetrics>();
        services.AddSingleton<Governance.BudgetStore>();
        services.AddSingleton<Governance.BudgetUsage>();
        services.AddSingleton<Governance.AgentControls>();
        services.AddSingleton<Governance.ToolRegistry>();
        services.AddSingleton<Alerts.AlertStore>();
        services.AddSingleton<Governance.BudgetReservations>();
        services.AddSingleton<Governance.BudgetEnforcer>();
        services.AddSingleton<Secrets.ISecretKeyRing>(CreateSecretKeyRing);
        services.AddSingleton<Secrets.SecretProtector>();
        services.AddSingleton<Alerts.WebhookStore>();
        services.AddSingleton<Alerts.AlertDeliverer>();
        services.AddHttpClient(Alerts.AlertDeliverer.HttpClientName, (sp, client) =>
                client.Timeout = TimeSpan.FromSeconds(sp.GetRequiredService<IOptions<AgentSpendOptions>>().Value.WebhookTimeoutSeconds))
            // A redirect could lead a post somewhere its owner never configured: it counts as a failure instead.
            // No proxy, so the connection step sees, and checks, the addresses a post really goes to.
            .ConfigurePrimaryHttpMessageHandler(sp => new System.Net.Http.SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                UseCookies = false,
                UseProxy = false,
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                ConnectCallback = Alerts.WebhookDestinations.ConnectCallback(sp.GetRequiredService<IOptions<AgentSpendOptions>>().Value.WebhookAllowPrivateNetworks),
            })
            // The factory's own loggers write each request's URL, and a Slack webhook's URL is its secret.
            .RemoveAllLoggers();
        services.AddSingleton<Poison.PoisonQueues>();
        services.AddSingleton<Poison.QueueHealth>();
        services.AddSingleton<Poison.PoisonedMessageAlerts>();
        services.AddSingleton<Governance.PreflightCheck>();
        services.AddSingleton<Events.RecentEvents>();
        services.AddSingleton<RetentionService>();
        return services;
    }

    // Key Vault in Azure (the Bicep sets its URI), a setting locally; the options validator has made sure there is exactly one.
    private static Secrets.ISecretKeyRing CreateSecretKeyRing(IServiceProvider sp)
    {
        var options = sp.GetRequiredService<IOptions<AgentSpendOptions>>().Value;
        if (options.KeyVaultUri is { } vault)
        {
            var client = new Azure.Security.KeyVault.Secrets.SecretClient(
                new Uri(vault), sp.GetRequiredService<StorageConnectionSettings>().CreateCredential(), new Azure.Security.KeyVault.Secrets.SecretClientOptions());
            return new Secrets.KeyVaultSecretKeyRing(client, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<Secrets.KeyVaultSecretKeyRing>>());
        }

        return new Secrets.SettingsSecretKeyRing(options.SecretKey!, options.SecretKeyPrevious);
    }

    /// <summary>Creates every table and queue the app uses (idempotent).</summary>
    public static async Task EnsureStorageAsync(this IStorageProvider storage, CancellationToken cancellationToken)
    {
        await Task.WhenAll(
            StorageNames.Tables.Select(t => storage.GetTable(t).CreateIfNotExistsAsync(cancellationToken))
                .Concat(StorageNames.Queues.Select(q => storage.GetQueue(q).CreateIfNotExistsAsync(cancellationToken)))).ConfigureAwait(false);
    }
}
