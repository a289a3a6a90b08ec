using AgentSpend.Core.Storage;
using Microsoft.Extensions.Logging;

namespace AgentSpend.Core.Poison;

/// <summary>How many messages wait in a trigger queue and in its poison queue (Azure's approximate counts).</summary>
public sealed record QueueDepth(string Queue, int ApproximateMessages, string PoisonQueue, int PoisonApproximateMessages);

/// <summary>
/// What a replay did: how many messages its poison queue held when it started (<see cref="Found"/>, the most it moves),
/// how many it moved back to the queue, and how many the poison queue holds after it.
/// </summary>
public sealed record ReplayOutcome(string Queue, int Found, int Replayed, int Remaining);

/// <summary>
/// The trigger queues and their poison queues (<see cref="StorageNames.TriggerQueues"/>): how deep each is, and the
/// replay that moves a poison queue's messages back to its queue for another round of tries.
/// </summary>
public sealed partial class PoisonQueues(IStorageProvider storage, TimeProvider clock, ILogger<PoisonQueues> logger)
{
    /// <summary>Messages taken from the poison queue per receive: the most one receive may take.</summary>
    public const int PageSize = 32;

    /// <summary>
    /// How long a message taken from the poison queue stays invisible while it is sent back and deleted. If the replay
    /// dies meanwhile, the message shows up in the poison queue again: nothing is lost.
    /// </summary>
    public static readonly TimeSpan ReplayLease = TimeSpan.FromMinutes(2);

    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(2);

    public static IReadOnlyList<string> Queues => StorageNames.TriggerQueues;

    public static bool IsKnown(string queue) => Queues.Contains(queue, StringComparer.Ordinal);

    public async Task<IReadOnlyList<QueueDepth>> ReadDepthsAsync(CancellationToken cancellationToken) =>
        await Task.WhenAll(Queues.Select(async queue =>
        {
            var poison = StorageNames.PoisonQueueOf(queue);
            var counts = await Task.WhenAll(CountAsync(queue, cancellationToken), CountAsync(poison, cancellationToken)).ConfigureAwait(false);
            return new QueueDepth(queue, counts[0], poison, counts[1]);
        })).ConfigureAwait(false);

    /// <summary>Per poison queue, how many messages wait in it; for health, which reads nothing else.</summary>
    public async Task<IReadOnlyList<(string PoisonQueue, int ApproximateMessages)>> ReadPoisonDepthsAsync(CancellationToken cancellationToken) =>
        await Task.WhenAll(Queues.Select(StorageNames.PoisonQueueOf).Select(async poison =>
            (poison, await CountAsync(poison, cancellationToken).ConfigureAwait(false)))).ConfigureAwait(false);

    /// <summary>
    /// Moves the messages of <paramref name="queueName"/>'s poison queue back to it, in pages of <see cref="PageSize"/>:
    /// at most as many as the poison queue held when the call started, so messages poisoned meanwhile (a message that
    /// fails again comes back) cannot keep it going. Each message is sent to the queue before it is deleted from the
    /// poison queue: a crash between the two leaves a copy in each, and the aggregator counts an event once however
    /// often it arrives.
    /// </summary>
    public async Task<ReplayOutcome> ReplayAsync(string queueName, CancellationToken cancellationToken)
    {
        if (!IsKnown(queueName))
        {
            throw new ArgumentException($"'{queueName}' is not a trigger queue.", nameof(queueName));
        }

        var queue = storage.GetQueue(queueName);
        var poison = storage.GetQueue(StorageNames.PoisonQueueOf(queueName));
        var total = await poison.GetApproximateCountAsync(cancellationToken).ConfigureAwait(false);
        LogReplayStarted(logger, poison.Name, queueName, total);
        var started = clock.GetTimestamp();
        var lastProgress = started;
        var replayed = 0;
        try
        {
            while (replayed < total)
            {
                var page = await poison.ReceiveAsync(Math.Min(PageSize, total - replayed), ReplayLease, cancellationToken).ConfigureAwait(false);
                if (page.Count == 0)
                {
                    break;
                }

                await Task.WhenAll(page.Select(async message =>
                {
                    await queue.SendAsync(message.Text, cancellationToken: cancellationToken).ConfigureAwait(false);
                    await poison.DeleteAsync(message.MessageId, message.PopReceipt, cancellationToken).ConfigureAwait(false);
                    Interlocked.Increment(ref replayed);
                })).ConfigureAwait(false);

                if (clock.GetElapsedTime(lastProgress) >= ProgressInterval)
                {
                    lastProgress = clock.GetTimestamp();
                    LogReplayProgress(logger, replayed, total, poison.Name, queueName);
                }
            }
        }
        catch (Exception ex)
        {
            LogReplayStopped(logger, ex, poison.Name, replayed, total);
            throw;
        }

        var remaining = await poison.GetApproximateCountAsync(cancellationToken).ConfigureAwait(false);
        var elapsedMs = clock.GetElapsedTime(started).TotalMilliseconds;
        LogReplayed(logger, replayed, poison.Name, queueName, remaining, elapsedMs);
        return new ReplayOutcome(queueName, total, replayed, remaining);
    }

    private Task<int> CountAsync(string queue, CancellationToken cancellationToken) => storage.GetQueue(queue).GetApproximateCountAsync(cancellationToken);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replaying {PoisonQueue} to {Queue}: {Total} message(s) waiting")]
    private static partial void LogReplayStarted(ILogger logger, string poisonQueue, string queue, int total);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replayed {Replayed} of {Total} message(s) from {PoisonQueue} to {Queue} so far")]
    private static partial void LogReplayProgress(ILogger logger, int replayed, int total, string poisonQueue, string queue);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replayed {Replayed} message(s) from {PoisonQueue} to {Queue}; {Remaining} remain in the poison queue ({ElapsedMs:F0} ms)")]
    private static partial void LogReplayed(ILogger logger, int replayed, string poisonQueue, string queue, int remaining, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Error, Message = "Replay of {PoisonQueue} stopped after {Replayed} of {Total} message(s); the rest stay in the poison queue and a new replay moves them")]
    private static partial void LogReplayStopped(ILogger logger, Exception exception, string poisonQueue, int replayed, int total);
}
