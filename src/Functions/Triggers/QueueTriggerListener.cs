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

        // A message that keeps killing its worker never reaches the failure branch of SettleAsync.
        var exhausted = received.Where(m => m.DequeueCount > settings.MaxDequeueCount).ToArray();
        foreach (var message in exhausted)
        {
            await MoveToPoisonAsync(message, message.PopReceipt, cancellationToken).ConfigureAwait(false);
        }

        var work = received.Except(exhausted).ToArray();
        return work.Length == 0 ? null : new LeasedBatch(work, received.Count, this, cancellationToken);
    }

    private async Task<IReadOnlyList<Exception?>> RunFunctionAsync(LeasedBatch batch, CancellationToken cancellationToken)
    {
        try
        {
            return await function.RunAsync(
                batch.Messages.Select(m => new QueueInvocation(m.Text, m.DequeueCount, m.MessageId)).ToArray(),
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return batch.Messages.Select(_ => (Exception?)ex).ToArray();
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
                await MoveToPoisonAsync(message, popReceipt, cancellationToken).ConfigureAwait(false);
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

    private async Task MoveToPoisonAsync(LeasedMessage message, string popReceipt, CancellationToken cancellationToken)
    {
        await poisonQueue.SendAsync(message.Text, cancellationToken: cancellationToken).ConfigureAwait(false);
        await queue.DeleteAsync(message.MessageId, popReceipt, cancellationToken).ConfigureAwait(false);
        LogPoisoned(logger, message.MessageId, poisonQueue.Name, message.DequeueCount);
        if (poisonAlerts is not null)
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
        try
        {
            while (true)
            {
                await Task.Delay(lease / 3, stop).ConfigureAwait(false);
                await Task.WhenAll(messages.Select(async (m, i) =>
                    receipts[i] = await queue.UpdateVisibilityAsync(m.MessageId, receipts[i], lease, shutdown).ConfigureAwait(false))).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // settled, or shutting down
        }
        catch (Exception ex)
        {
            LogRenewFailed(logger, ex, queue.Name);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing leases on queue {Queue} failed; messages may be delivered again (they are counted once)")]
    private static partial void LogRenewFailed(ILogger logger, Exception exception, string queue);
}
