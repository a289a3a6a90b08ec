using AgentSpend.Core.Aggregation;
using AgentSpend.Core.Ingest;
using AgentSpend.Core.Poison;
using AgentSpend.Core.Storage;
using AgentSpend.Functions.Triggers;

namespace AgentSpend.Functions.AggregateUsage;

/// <summary>
/// Queue trigger on <c>usage-ingest</c>: where queued events are counted into buckets. Each message is its own
/// invocation, as the Functions host runs them; the invocations running at once hand their messages to one
/// <see cref="InvocationCoalescer{TItem}"/>, whose passes count them together (a workspace-day's events of many
/// messages in the same transactions), and each invocation ends when its own message's events are committed.
/// </summary>
internal sealed partial class AggregateUsageFunction : IQueueFunction, IDisposable
{
    /// <summary>The most messages one pass counts: the host runs at most batchSize + newBatchThreshold (32 + 8) at once.</summary>
    public const int MaxMessagesPerPass = 64;

    /// <summary>How long the first pass after a quiet spell waits for the invocations dispatched with its first message.</summary>
    public static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(5);

    private readonly UsageAggregator aggregator;
    private readonly IStorageProvider storage;
    private readonly PoisonedMessageAlerts poisonAlerts;
    private readonly ILogger<AggregateUsageFunction> logger;
    private readonly InvocationCoalescer<QueueInvocation> _passes;

    public AggregateUsageFunction(UsageAggregator aggregator, IStorageProvider storage, PoisonedMessageAlerts poisonAlerts, ILogger<AggregateUsageFunction> logger)
    {
        this.aggregator = aggregator;
        this.storage = storage;
        this.poisonAlerts = poisonAlerts;
        this.logger = logger;
        _passes = new InvocationCoalescer<QueueInvocation>(CountAsync, MaxMessagesPerPass, Linger);
    }

    public string Name => "AggregateUsage";

    /// <summary>The passes run so far (each counts the messages of every invocation waiting when it began).</summary>
    public int Passes => _passes.Passes;

    /// <summary>One message's invocation: null once its events are counted, or what failed it (then it is retried).</summary>
    public Task<Exception?> RunAsync(QueueInvocation message, CancellationToken cancellationToken) => _passes.RunAsync(message, cancellationToken);

    public void Dispose() => _passes.Dispose();

    private async Task<IReadOnlyList<Exception?>> CountAsync(IReadOnlyList<QueueInvocation> messages, CancellationToken cancellationToken)
    {
        var results = new Exception?[messages.Count];
        var decoded = new List<(int Index, IngestMessage Message)>(messages.Count);
        for (var i = 0; i < messages.Count; i++)
        {
            try
            {
                decoded.Add((i, IngestMessageCodec.Unpack(messages[i].Text)));
            }
            catch (InvalidDataException ex)
            {
                LogUndecodable(logger, ex, messages[i].MessageId);
                results[i] = ex;
            }
        }

        if (decoded.Count == 0)
        {
            return results;
        }

        var started = TimeProvider.System.GetTimestamp();
        var outcome = await aggregator.AggregateAsync(decoded.Select(d => d.Message).ToArray(), cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < decoded.Count; i++)
        {
            results[decoded[i].Index] = outcome.Failed[i];
        }

        if (outcome.Refused.Count > 0)
        {
            // Kept where an operator sees them (health, the admin queues API) and can replay them once the cause is fixed.
            var poison = storage.GetQueue(StorageNames.PoisonQueueOf(StorageNames.IngestQueue));
            foreach (var text in IngestMessageCodec.Pack(outcome.Refused))
            {
                await poison.SendAsync(text, cancellationToken: cancellationToken).ConfigureAwait(false);
                await poisonAlerts.RaiseForAsync(StorageNames.IngestQueue, text, cancellationToken).ConfigureAwait(false); // never throws
            }
        }

        var elapsedMs = TimeProvider.System.GetElapsedTime(started).TotalMilliseconds;
        LogAggregated(logger, outcome.Counted, outcome.Duplicates, decoded.Count, outcome.Transactions, elapsedMs);
        return results;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Message {MessageId} is not a readable ingest message")]
    private static partial void LogUndecodable(ILogger logger, Exception exception, string? messageId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Counted {Counted} events ({Duplicates} duplicates skipped) from {Messages} messages in {Transactions} transactions, {ElapsedMs:F0} ms")]
    private static partial void LogAggregated(ILogger logger, int counted, int duplicates, int messages, int transactions, double elapsedMs);
}
