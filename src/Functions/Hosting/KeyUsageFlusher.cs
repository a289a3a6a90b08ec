using AgentSpend.Core.Auth;
using AgentSpend.Core.Configuration;
using Microsoft.Extensions.Options;

namespace AgentSpend.Functions.Hosting;

/// <summary>Writes the keys' last-used times and failure counts every AGENTSPEND_KEY_USAGE_FLUSH_SECONDS, and once more on shutdown.</summary>
internal sealed partial class KeyUsageFlusher(ApiKeyService keys, IOptions<AgentSpendOptions> options, ILogger<KeyUsageFlusher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.KeyUsageFlushSeconds));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await FlushAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        try
        {
            var written = await keys.FlushUsageAsync(cancellationToken).ConfigureAwait(false);
            if (written > 0)
            {
                LogFlushed(logger, written);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogFlushFailed(logger, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Wrote usage of {Keys} keys")]
    private static partial void LogFlushed(ILogger logger, int keys);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing key usage failed; it is retried at the next tick")]
    private static partial void LogFlushFailed(ILogger logger, Exception exception);
}
