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
    ILogger logger)
{
    private static readonly TimeSpan MinPollingInterval = TimeSpan.FromMilliseconds(100);

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        var idleDelay = MinPollingInterval;
        LogListening(logger, function.Name, queue.Name, settings.BatchSize, settings.MaxDequeueCount);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var handled = await PollOnceAsync(stoppingToken).ConfigureAwait(false);
                idleDelay = handled > 0 ? MinPollingInterval : TimeSpan.FromTicks(Math.Min(idleDelay.Ticks * 2, settings.MaxPollingInterval.Ticks));
                if (handled == 0)
                {
                    await Task.Delay(idleDelay, stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                LogPollFailed(logger, ex, queue.Name);
                await Task.Delay(settings.MaxPollingInterval, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>One receive and its handling; returns how many messages were taken.</summary>
    public async Task<int> PollOnceAsync(CancellationToken cancellationToken)
    {
        var received = await queue.ReceiveAsync(Math.Clamp(settings.BatchSize, 1, 32), lease, cancellationToken).ConfigureAwait(false);
        if (received.Count == 0)
        {
            return 0;
        }

        // A message that keeps killing its worker never reaches the failure branch below.
        var exhausted = received.Where(m => m.DequeueCount > settings.MaxDequeueCount).ToArray();
        foreach (var message in exhausted)
        {
            await MoveToPoisonAsync(message, message.PopReceipt, cancellationToken).ConfigureAwait(false);
        }

        var work = received.Except(exhausted).ToArray();
        if (work.Length == 0)
        {
            return received.Count;
        }

        var receipts = work.Select(m => m.PopReceipt).ToArray();
        IReadOnlyList<Exception?> results;
        using (var renewal = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            var renewing = RenewLeasesAsync(work, receipts, renewal.Token);
            try
            {
                results = await function.RunAsync(
                    work.Select(m => new QueueInvocation(m.Text, m.DequeueCount, m.MessageId)).ToArray(),
                    cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                results = work.Select(_ => (Exception?)ex).ToArray();
            }
            finally
            {
                await renewal.CancelAsync().ConfigureAwait(false);
                await renewing.ConfigureAwait(false);
            }
        }

        await Task.WhenAll(work.Select((m, i) => SettleAsync(m, receipts[i], results[i], cancellationToken))).ConfigureAwait(false);
        return received.Count;
    }

    private async Task SettleAsync(LeasedMessage message, string popReceipt, Exception? error, CancellationToken cancellationToken)
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

    private async Task MoveToPoisonAsync(LeasedMessage message, string popReceipt, CancellationToken cancellationToken)
    {
        await poisonQueue.SendAsync(message.Text, cancellationToken: cancellationToken).ConfigureAwait(false);
        await queue.DeleteAsync(message.MessageId, popReceipt, cancellationToken).ConfigureAwait(false);
        LogPoisoned(logger, message.MessageId, poisonQueue.Name, message.DequeueCount);
    }

    private async Task RenewLeasesAsync(LeasedMessage[] messages, string[] receipts, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(lease / 2, cancellationToken).ConfigureAwait(false);
                for (var i = 0; i < messages.Length; i++)
                {
                    receipts[i] = await queue.UpdateVisibilityAsync(messages[i].MessageId, receipts[i], lease, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // the work is done
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing leases on queue {Queue} failed; messages may be delivered again (they are counted once)")]
    private static partial void LogRenewFailed(ILogger logger, Exception exception, string queue);
}
