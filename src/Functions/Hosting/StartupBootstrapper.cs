using AgentSpend.Core;
using AgentSpend.Core.Auth;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Workspaces;

namespace AgentSpend.Functions.Hosting;

/// <summary>
/// Before the app serves or triggers anything: creates the tables and queues, and makes sure there is
/// an instance-admin key, printing a generated one once; ensures the default workspace.
/// </summary>
internal sealed partial class StartupBootstrapper(IStorageProvider storage, WorkspaceStore workspaces, ApiKeyService keys, ILogger<StartupBootstrapper> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await storage.EnsureStorageAsync(cancellationToken).ConfigureAwait(false);
        await workspaces.EnsureDefaultAsync(cancellationToken).ConfigureAwait(false);
        var generated = await keys.EnsureBootstrapKeyAsync(cancellationToken).ConfigureAwait(false);
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Storage ready: tables and queues exist, default workspace and admin key in place")]
    private static partial void LogReady(ILogger logger);
}
