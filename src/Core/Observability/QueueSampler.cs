using AgentSpend.Core.Storage;
using Microsoft.Extensions.Logging;

namespace AgentSpend.Core.Observability;

/// <summary>
/// Reads the queues' depths and the age of the oldest waiting ingest message, for <see cref="AgentSpendMetrics"/>'s
/// gauges: a few requests per <see cref="Interval"/>, whatever the number of metric readers.
/// </summary>
public sealed partial class QueueSampler(IStorageProvider storage, AgentSpendMetrics metrics, TimeProvider clock, ILogger<QueueSampler> logger)
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(15);

    // Storage queues are roughly first in, first out: the oldest of the first few peeked stands for the queue's oldest.
    private const int Peeked = 32;

    public async Task<QueueSample?> SampleAsync(CancellationToken cancellationToken)
    {
        try
        {
            var depths = await Task.WhenAll(StorageNames.TriggerQueues.Select(async queue =>
            {
                var counts = await Task.WhenAll(
                    storage.GetQueue(queue).GetApproximateCountAsync(cancellationToken),
                    storage.GetQueue(StorageNames.PoisonQueueOf(queue)).GetApproximateCountAsync(cancellationToken)).ConfigureAwait(false);
                return new QueueDepth(queue, counts[0], counts[1]);
            })).ConfigureAwait(false);

            var now = clock.GetUtcNow();
            var oldest = (await storage.GetQueue(StorageNames.IngestQueue).PeekAsync(Peeked, cancellationToken).ConfigureAwait(false))
                .Select(m => m.InsertedOn).Where(t => t is not null).Min();
            var sample = new QueueSample(now, depths, oldest is { } inserted && inserted < now ? now - inserted : TimeSpan.Zero);
            metrics.Observe(sample);
            return sample;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The gauges keep their last figures; storage outages are reported by health and by the work that waits on them.
            LogSampleFailed(logger, ex);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not sample the queues for the metrics; the last figures stand")]
    private static partial void LogSampleFailed(ILogger logger, Exception exception);
}
