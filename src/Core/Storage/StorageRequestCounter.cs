using Azure.Core;
using Azure.Core.Pipeline;

namespace AgentSpend.Core.Storage;

/// <summary>
/// Counts every HTTP request sent to storage, retries included (it sits in the per-retry stage of
/// the pipeline). The benchmark reads it to report storage requests and entity-group transactions per 1,000 events.
/// </summary>
public sealed class StorageRequestCounter : HttpPipelineSynchronousPolicy
{
    private long _requests;
    private long _transactions;
    private long _largestTransactionBytes;

    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Entity-group transactions (<c>$batch</c> requests) among <see cref="Requests"/>.</summary>
    public long Transactions => Interlocked.Read(ref _transactions);

    /// <summary>The largest request body of a transaction sent, in bytes (Azure refuses one over 4 MiB).</summary>
    public long LargestTransactionBytes => Interlocked.Read(ref _largestTransactionBytes);

    public override void OnSendingRequest(HttpMessage message)
    {
        Interlocked.Increment(ref _requests);
        if (message.Request.Uri.Path.EndsWith("$batch", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _transactions);
            if (message.Request.Content is { } content && content.TryComputeLength(out var length))
            {
                for (var seen = LargestTransactionBytes; length > seen; seen = LargestTransactionBytes)
                {
                    Interlocked.CompareExchange(ref _largestTransactionBytes, length, seen);
                }
            }
        }
    }
}
