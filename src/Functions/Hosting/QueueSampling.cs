using AgentSpend.Core.Observability;

namespace AgentSpend.Functions.Hosting;

/// <summary>Samples the queues for the metrics every <see cref="QueueSampler.Interval"/>, while a metrics exporter reads them.</summary>
internal sealed class QueueSampling(QueueSampler sampler, AgentSpendMetrics metrics, TimeProvider clock) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(QueueSampler.Interval, clock);
        try
        {
            do
            {
                if (metrics.QueueGaugesObserved)
                {
                    await sampler.SampleAsync(stoppingToken).ConfigureAwait(false);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
