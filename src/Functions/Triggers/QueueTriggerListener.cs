using AgentSpend.Core.Poison;
using AgentSpend.Core.Storage;
using Microsoft.Extensions.Logging;

namespace AgentSpend.Functions.Triggers;

/// <summary>
/// Local mode's queue trigger, with the host's semantics: every message is its own invocation; a receive takes up to
/// batchSize messages, and the next receive happens once the messages still being worked on are down to
/// newBatchThreshold, so at most batchSize + newBatchThreshold run at once. A message's lease is renewed while its
/// invocation works; it is deleted when the invocation succeeds, made visible again after visibilityTimeout when it
/// fails, and moved to <c>{queue}-poison</c> once it has failed maxDequeueCount times.
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

    private readonly Lock _outageLock = new();
    private Task<bool>? _storageBack;
    private int _inFlight;
    private TaskCompletionSource _oneDone = NewSignal();

    private int BatchSize => Math.Clamp(settings.BatchSize, 1, 32);

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        var idleDelay = MinPollingInterval;
        LogListening(logger, function.Name, queue.Name, BatchSize, settings.NewBatchThreshold, settings.MaxDequeueCount);
        var running = new List<Task>();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await WaitUntilInFlightAtMostAsync(settings.NewBatchThreshold, stoppingToken).ConfigureAwait(false);
                running.RemoveAll(t => t.IsCompleted);
                var received = await ReceiveAsync(stoppingToken).ConfigureAwait(false);
                if (received.Count == 0)
                {
                    idleDelay = TimeSpan.FromTicks(Math.Min(idleDelay.Ticks * 2, settings.MaxPollingInterval.Ticks));
                    await Task.Delay(idleDelay, stoppingToken).ConfigureAwait(false);
                    continue;
                }

                idleDelay = MinPollingInterval;
                Interlocked.Add(ref _inFlight, received.Count);
                running.AddRange(received.Select(m => Task.Run(() => ProcessAsync(m, stoppingToken), CancellationToken.None)));
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

        // Messages cut short by the shutdown are left leased: they come back when the lease lapses, and count once.
        await Task.WhenAll(running).ConfigureAwait(false);
    }

    /// <summary>Takes up to batchSize messages; poisons those past maxDequeueCount and returns the rest.</summary>
    private async Task<IReadOnlyList<LeasedMessage>> ReceiveAsync(CancellationToken cancellationToken)
    {
        var received = await queue.ReceiveAsync(BatchSize, lease, cancellationToken).ConfigureAwait(false);
        // A message that keeps killing its worker never reaches the failure branch of SettleAsync, nor a last try of its function.
        var exhausted = received.Where(m => m.DequeueCount > settings.MaxDequeueCount).ToArray();
        foreach (var message in exhausted)
        {
            await MoveToPoisonAsync(message, message.PopReceipt, raiseAlert: true, cancellationToken).ConfigureAwait(false);
        }

        return [.. received.Except(exhausted)];
    }

    /// <summary>One message's invocation, under a renewed lease, then settled. Never throws.</summary>
    private async Task ProcessAsync(LeasedMessage message, CancellationToken stoppingToken)
    {
        using var leased = new Lease(queue, lease, logger, message, stoppingToken);
        try
        {
            var error = await RunFunctionAsync(message, stoppingToken).ConfigureAwait(false);
            var receipt = await leased.StopRenewingAsync().ConfigureAwait(false);
            await SettleAsync(message, receipt, error, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // shutting down
        }
        catch (Exception ex)
        {
            LogSettleFailed(logger, ex, message.MessageId, queue.Name);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
            Interlocked.Exchange(ref _oneDone, NewSignal()).TrySetResult();
        }
    }

    private async Task WaitUntilInFlightAtMostAsync(int threshold, CancellationToken cancellationToken)
    {
        while (true)
        {
            var signal = Volatile.Read(ref _oneDone).Task;
            if (Volatile.Read(ref _inFlight) <= threshold)
            {
                return;
            }

            await signal.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Invokes the function on the message. A failure because storage could not be reached or could not serve runs
    /// again once it answers, as often as that takes: an outage is not the message's fault, so it uses up none of its
    /// tries. Only when storage answers and the same message still fails that way <see cref="MaxRerunsWhileStorageAnswers"/>
    /// times does the failure count as the message's.
    /// </summary>
    private async Task<Exception?> RunFunctionAsync(LeasedMessage message, CancellationToken cancellationToken)
    {
        var error = await InvokeAsync(message, cancellationToken).ConfigureAwait(false);
        var reruns = 0;
        while (StorageFaults.IsUnavailable(error) && !cancellationToken.IsCancellationRequested)
        {
            var waited = await StorageBackAsync(error!, cancellationToken).ConfigureAwait(false);
            if (!waited && ++reruns > MaxRerunsWhileStorageAnswers)
            {
                break;
            }

            error = await InvokeAsync(message, cancellationToken).ConfigureAwait(false);
        }

        return error;
    }

    private async Task<Exception?> InvokeAsync(LeasedMessage message, CancellationToken cancellationToken)
    {
        try
        {
            return await function.RunAsync(new QueueInvocation(message.Text, message.DequeueCount, message.MessageId), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return ex;
        }
    }

    /// <summary>The messages that met one outage wait for one probe of the queue, not one each.</summary>
    private Task<bool> StorageBackAsync(Exception failure, CancellationToken cancellationToken)
    {
        lock (_outageLock)
        {
            if (_storageBack is not { IsCompleted: false })
            {
                _storageBack = WaitForStorageAsync(failure, cancellationToken);
            }

            return _storageBack;
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

    /// <summary>
    /// A message's lease, renewed each third of its length until its invocation is over. Stopping ends only the wait
    /// between renewals: a renewal in flight always finishes, because the queue may already have issued the new pop
    /// receipt that settling needs. Through an outage renewals keep being tried (the lease may still be ours when
    /// storage is back); any other refusal means the lease was lost (it ran out and another receive took the message).
    /// </summary>
    private sealed class Lease : IDisposable
    {
        private readonly IQueueStore _queue;
        private readonly TimeSpan _length;
        private readonly ILogger _logger;
        private readonly LeasedMessage _message;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _renewing;
        private string _receipt;

        public Lease(IQueueStore queue, TimeSpan length, ILogger logger, LeasedMessage message, CancellationToken shutdown)
        {
            _queue = queue;
            _length = length;
            _logger = logger;
            _message = message;
            _receipt = message.PopReceipt;
            _renewing = RenewAsync(shutdown);
        }

        public async Task<string> StopRenewingAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            await _renewing.ConfigureAwait(false);
            return _receipt;
        }

        public void Dispose()
        {
            _stop.Cancel(); // ends the renewals of an invocation cut short before its lease is disposed
            _stop.Dispose();
        }

        private async Task RenewAsync(CancellationToken shutdown)
        {
            try
            {
                while (true)
                {
                    await Task.Delay(_length / 3, _stop.Token).ConfigureAwait(false);
                    try
                    {
                        _receipt = await _queue.UpdateVisibilityAsync(_message.MessageId, _receipt, _length, shutdown).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        LogRenewFailed(_logger, ex, _queue.Name);
                        if (!StorageFaults.IsUnavailable(ex))
                        {
                            return;
                        }
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // settled, or shutting down
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Function {Function} listening on queue {Queue} (batch {BatchSize}, next batch at {NewBatchThreshold} in flight, poison after {MaxDequeueCount} tries)")]
    private static partial void LogListening(ILogger logger, string function, string queue, int batchSize, int newBatchThreshold, int maxDequeueCount);

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
