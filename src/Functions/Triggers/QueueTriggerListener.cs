using AgentSpend.Core.Poison;
using AgentSpend.Core.Storage;
using Microsoft.Extensions.Logging;

namespace AgentSpend.Functions.Triggers;

/// <summary>
/// Standalone queue trigger, with the host's semantics: take up to batchSize messages under a lease
/// (renewed while the function works), delete what succeeded, make failures visible again after
/// visibilityTimeout, and move a message to <c>{queue}-poison</c> once it has failed maxDequeueCount times.
/// </summary>
internal sealed partial class QueueTriggerListener(
    IQueueFunction function,
    IQueueStore queue,
    IQueueStore poisonQueue,
    QueueTriggerSettings settings,
    TimeSpan lease,
    ILogger logger,
    PoisonedMessageAlerts? poisonAlerts = null)
{
    private static readonly TimeSpan MinPollingInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxProbeInterval = TimeSpan.FromSeconds(5);
    private const int MaxRerunsWhileStorageAnswers = 3;

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        var idleDelay = MinPollingInterval;
        LogListening(logger, function.Name, queue.Name, settings.BatchSize, settings.MaxDequeueCount);
        // Pipelined: the next batch is received while this one is worked on, and a finished batch is
        // settled (deleted, retried or poisoned) while the next one is worked on.
        Task<LeasedBatch?>? next = null;
        var settling = Task.CompletedTask;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var batch = await (next ?? ReceiveAsync(stoppingToken)).ConfigureAwait(false);
                next = null;
                if (batch is null)
                {
                    await settling.ConfigureAwait(false);
                    idleDelay = TimeSpan.FromTicks(Math.Min(idleDelay.Ticks * 2, settings.MaxPollingInterval.Ticks));
                    await Task.Delay(idleDelay, stoppingToken).ConfigureAwait(false);
                    continue;
                }

                idleDelay = MinPollingInterval;
                next = ReceiveAsync(stoppingToken);
                var results = await RunFunctionAsync(batch, stoppingToken).ConfigureAwait(false);
                await settling.ConfigureAwait(false);
                settling = SettleAsync(batch, results, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                LogPollFailed(logger, ex, queue.Name);
                next = null; // a failed prefetch must not be awaited again: receive afresh once storage answers
                settling = Task.CompletedTask;
                await Task.Delay(settings.MaxPollingInterval, stoppingToken).ConfigureAwait(false);
            }
        }

        await ReleaseAsync(next).ConfigureAwait(false);
    }

    /// <summary>One receive, run and settle; returns how many messages were taken.</summary>
    public async Task<int> PollOnceAsync(CancellationToken cancellationToken)
    {
        var batch = await ReceiveAsync(cancellationToken).ConfigureAwait(false);
        if (batch is null)
        {
            return 0;
        }

        var results = await RunFunctionAsync(batch, cancellationToken).ConfigureAwait(false);
        await SettleAsync(batch, results, cancellationToken).ConfigureAwait(false);
        return batch.Received;
    }

    /// <summary>Takes up to batchSize messages; poisons those past maxDequeueCount; null when nothing is left to work on.</summary>
    private async Task<LeasedBatch?> ReceiveAsync(CancellationToken cancellationToken)
    {
        var received = await queue.ReceiveAsync(Math.Clamp(settings.BatchSize, 1, 32), lease, cancellationToken).ConfigureAwait(false);
        if (received.Count == 0)
        {
            return null;
        }

        // A message that keeps killing its worker never reaches the failure branch of SettleAsync, nor a last try of its function.
        var exhausted = received.Where(m => m.DequeueCount > settings.MaxDequeueCount).ToArray();
        foreach (var message in exhausted)
        {
            await MoveToPoisonAsync(message, message.PopReceipt, raiseAlert: true, cancellationToken).ConfigureAwait(false);
        }

        var work = received.Except(exhausted).ToArray();
        return work.Length == 0 ? null : new LeasedBatch(work, received.Count, this, cancellationToken);
    }

    /// <summary>
    /// Runs the function on the batch. Messages that failed because storage could not be reached or could not
    /// serve are run again once it answers, as often as that takes: an outage is not the message's fault, so it
    /// uses up none of its tries. Only when storage answers and the same message still fails that way
    /// <see cref="MaxRerunsWhileStorageAnswers"/> times does the failure count as the message's.
    /// </summary>
    private async Task<IReadOnlyList<Exception?>> RunFunctionAsync(LeasedBatch batch, CancellationToken cancellationToken)
    {
        var results = await InvokeAsync(batch.Messages, cancellationToken).ConfigureAwait(false);
        var reruns = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var unavailable = Enumerable.Range(0, results.Length).Where(i => StorageFaults.IsUnavailable(results[i])).ToArray();
            if (unavailable.Length == 0)
            {
                break;
            }

            var waited = await WaitForStorageAsync(results[unavailable[0]]!, cancellationToken).ConfigureAwait(false);
            if (!waited && ++reruns > MaxRerunsWhileStorageAnswers)
            {
                break;
            }

            var again = await InvokeAsync(unavailable.Select(i => batch.Messages[i]).ToArray(), cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < unavailable.Length; i++)
            {
                results[unavailable[i]] = again[i];
            }
        }

        return results;
    }

    private async Task<Exception?[]> InvokeAsync(LeasedMessage[] messages, CancellationToken cancellationToken)
    {
        try
        {
            var results = await function.RunAsync(
                messages.Select(m => new QueueInvocation(m.Text, m.DequeueCount, m.MessageId)).ToArray(),
                cancellationToken).ConfigureAwait(false);
            return [.. results];
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return messages.Select(_ => (Exception?)ex).ToArray();
        }
    }

    /// <summary>
    /// Waits until the queue answers again, probing with growing pauses (at most <see cref="MaxProbeInterval"/>).
    /// Returns whether storage had really been unreachable; false when it answered the first probe (the failure
    /// passed, or lies with the work).
    /// </summary>
    private async Task<bool> WaitForStorageAsync(Exception failure, CancellationToken cancellationToken)
    {
        var pause = TimeSpan.FromMilliseconds(250);
        for (var probe = 1; ; probe++)
        {
            try
            {
                await queue.GetApproximateCountAsync(cancellationToken).ConfigureAwait(false);
                if (probe > 1)
                {
                    LogStorageBack(logger, function.Name, queue.Name);
                }

                return probe > 1;
            }
            catch (Exception ex) when (StorageFaults.IsUnavailable(ex) && !cancellationToken.IsCancellationRequested)
            {
                if (probe == 1)
                {
                    LogWaitingForStorage(logger, failure, function.Name, queue.Name);
                }

                await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
                pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, MaxProbeInterval.Ticks));
            }
        }
    }

    private async Task SettleAsync(LeasedBatch batch, IReadOnlyList<Exception?> results, CancellationToken cancellationToken)
    {
        var receipts = await batch.StopRenewingAsync().ConfigureAwait(false);
        await Task.WhenAll(batch.Messages.Select((m, i) => SettleAsync(m, receipts[i], results[i], cancellationToken))).ConfigureAwait(false);
    }

    /// <summary>
    /// Deletes, retries or poisons one message. Never throws for the message's sake: if the queue refuses
    /// (say its lease ran out and another receive took it), the message comes round again, and the
    /// function counts it once.
    /// </summary>
    private async Task SettleAsync(LeasedMessage message, string popReceipt, Exception? error, CancellationToken cancellationToken)
    {
        try
        {
            if (error is null)
            {
                await queue.DeleteAsync(message.MessageId, popReceipt, cancellationToken).ConfigureAwait(false);
                return;
            }

            LogMessageFailed(logger, error, function.Name, message.MessageId, message.DequeueCount, settings.MaxDequeueCount);
            if (message.DequeueCount >= settings.MaxDequeueCount)
            {
                // The function raised the poisoned-message alert itself on this last try, as it does under the host.
                await MoveToPoisonAsync(message, popReceipt, raiseAlert: false, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await queue.UpdateVisibilityAsync(message.MessageId, popReceipt, settings.VisibilityTimeout, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Azure.RequestFailedException ex)
        {
            LogSettleFailed(logger, ex, message.MessageId, queue.Name);
        }
    }

    /// <summary>On shutdown, a prefetched batch that was never worked on is made visible again at once.</summary>
    private async Task ReleaseAsync(Task<LeasedBatch?>? prefetched)
    {
        try
        {
            if (prefetched is not null && await prefetched.ConfigureAwait(false) is { } batch)
            {
                var receipts = await batch.StopRenewingAsync().ConfigureAwait(false);
                await Task.WhenAll(batch.Messages.Select((m, i) => queue.UpdateVisibilityAsync(m.MessageId, receipts[i], TimeSpan.Zero))).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or Azure.RequestFailedException)
        {
            // Its lease runs out by itself.
        }
    }

    private async Task MoveToPoisonAsync(LeasedMessage message, string popReceipt, bool raiseAlert, CancellationToken cancellationToken)
    {
        await poisonQueue.SendAsync(message.Text, cancellationToken: cancellationToken).ConfigureAwait(false);
        await queue.DeleteAsync(message.MessageId, popReceipt, cancellationToken).ConfigureAwait(false);
        LogPoisoned(logger, message.MessageId, poisonQueue.Name, message.DequeueCount);
        if (raiseAlert && poisonAlerts is not null)
        {
            await poisonAlerts.RaiseForAsync(queue.Name, message.Text, cancellationToken).ConfigureAwait(false); // never throws: it logs its own failure
        }
    }

    /// <summary>Received messages whose lease is renewed from the moment they arrive until they are settled.</summary>
    private sealed class LeasedBatch : IDisposable
    {
        private readonly string[] _receipts;
        private readonly CancellationTokenSource _stop;
        private readonly Task _renewing;

        public LeasedBatch(LeasedMessage[] messages, int received, QueueTriggerListener owner, CancellationToken cancellationToken)
        {
            Messages = messages;
            Received = received;
            _receipts = messages.Select(m => m.PopReceipt).ToArray();
            _stop = new CancellationTokenSource();
            _renewing = owner.RenewLeasesAsync(messages, _receipts, _stop.Token, cancellationToken);
        }

        public LeasedMessage[] Messages { get; }

        /// <summary>How many messages the receive returned, poisoned ones included.</summary>
        public int Received { get; }

        public async Task<string[]> StopRenewingAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            await _renewing.ConfigureAwait(false);
            Dispose();
            return _receipts;
        }

        public void Dispose() => _stop.Dispose();
    }

    /// <summary>
    /// Renews every lease each third of its length. <paramref name="stop"/> ends only the wait between
    /// rounds: a round in flight always finishes, because the queue may already have issued new pop
    /// receipts that settling needs.
    /// </summary>
    private async Task RenewLeasesAsync(LeasedMessage[] messages, string[] receipts, CancellationToken stop, CancellationToken shutdown)
    {
        var lost = new bool[messages.Length];
        try
        {
            while (true)
            {
                await Task.Delay(lease / 3, stop).ConfigureAwait(false);
                await Task.WhenAll(messages.Select(async (m, i) =>
                {
                    if (lost[i])
                    {
                        return;
                    }

                    try
                    {
                        receipts[i] = await queue.UpdateVisibilityAsync(m.MessageId, receipts[i], lease, shutdown).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        // Through an outage, keep trying: the lease may still be ours when storage is back. Any other
                        // refusal means the lease was lost (it ran out and another receive took the message).
                        lost[i] = !StorageFaults.IsUnavailable(ex);
                        LogRenewFailed(logger, ex, queue.Name);
                    }
                })).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // settled, or shutting down
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Function {Function} listening on queue {Queue} (batch {BatchSize}, poison after {MaxDequeueCount} tries)")]
    private static partial void LogListening(ILogger logger, string function, string queue, int batchSize, int maxDequeueCount);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Polling queue {Queue} failed; retrying")]
    private static partial void LogPollFailed(ILogger logger, Exception exception, string queue);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Function {Function} failed on message {MessageId} (try {DequeueCount} of {MaxDequeueCount})")]
    private static partial void LogMessageFailed(ILogger logger, Exception exception, string function, string messageId, long dequeueCount, int maxDequeueCount);

    [LoggerMessage(Level = LogLevel.Error, Message = "Message {MessageId} moved to {PoisonQueue} after {DequeueCount} tries")]
    private static partial void LogPoisoned(ILogger logger, string messageId, string poisonQueue, long dequeueCount);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not settle message {MessageId} on queue {Queue}; it will be delivered again and counted once")]
    private static partial void LogSettleFailed(ILogger logger, Exception exception, string messageId, string queue);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Function {Function}: storage is unavailable; its messages on {Queue} wait, without using up their tries, until it answers again")]
    private static partial void LogWaitingForStorage(ILogger logger, Exception exception, string function, string queue);

    [LoggerMessage(Level = LogLevel.Information, Message = "Function {Function}: storage answers again; running the waiting messages of {Queue}")]
    private static partial void LogStorageBack(ILogger logger, string function, string queue);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing a lease on queue {Queue} failed; the message may be delivered again (it is counted once)")]
    private static partial void LogRenewFailed(ILogger logger, Exception exception, string queue);
}
