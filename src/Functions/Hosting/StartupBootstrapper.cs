using AgentSpend.Core;
using AgentSpend.Core.Alerts;
using AgentSpend.Core.Auth;
using AgentSpend.Core.Configuration;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Workspaces;
using Microsoft.Extensions.Options;

namespace AgentSpend.Functions.Hosting;

/// <summary>
/// Before the app serves or triggers anything: creates the tables and queues, and makes sure there is
/// an instance-admin key, printing a generated one once; ensures the default workspace; encrypts webhook URLs and
/// secrets stored in clear or under an older key.
/// </summary>
internal sealed partial class StartupBootstrapper(
    IStorageProvider storage, WorkspaceStore workspaces, ApiKeyService keys, WebhookStore webhooks, IOptions<AgentSpendOptions> options, AppHost host, ILogger<StartupBootstrapper> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await storage.EnsureStorageAsync(cancellationToken).ConfigureAwait(false);
        await workspaces.EnsureDefaultAsync(cancellationToken).ConfigureAwait(false);
        // Under the Functions host the console goes to the platform's logs, where a key must never be: there the
        // first key comes from AGENTSPEND_ADMIN_KEY only, and none is generated.
        var underHost = host.IsFunctionsHost;
        await keys.EnsureKeyIndexAsync(cancellationToken).ConfigureAwait(false);
        await keys.EnsureKeyPartitionsAsync(cancellationToken).ConfigureAwait(false);
        await webhooks.EncryptStoredAsync(cancellationToken).ConfigureAwait(false);
        var generated = await keys.EnsureBootstrapKeyAsync(generateIfNone: !underHost, cancellationToken).ConfigureAwait(false);
        if (underHost && options.Value.AdminKey is null)
        {
            LogNoAdminKeyUnderHost(logger, AgentSpendOptions.AdminKeySetting);
        }

        if (generated is not null)
        {
            // Shown once, on the console only: it is stored as a hash and cannot be recovered.
            Console.WriteLine();
            Console.WriteLine("==================================================================");
            Console.WriteLine(" AgentSpend admin key (shown once, store it now):");
            Console.WriteLine(" " + generated);
            Console.WriteLine("==================================================================");
            Console.WriteLine();
        }

        LogReady(logger);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Setting} is not set: under the Functions host no admin key is generated (it would be printed into the platform's logs); set it to have one")]
    private static partial void LogNoAdminKeyUnderHost(ILogger logger, string setting);

    [LoggerMessage(Level = LogLevel.Information, Message = "Storage ready: tables and queues exist, default workspace and admin key in place")]
    private static partial void LogReady(ILogger logger);
}
