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

    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Entity-group transactions (<c>$batch</c> requests) among <see cref="Requests"/>.</summary>
    public long Transactions => Interlocked.Read(ref _transactions);

    public override void OnSendingRequest(HttpMessage message)
    {
        Interlocked.Increment(ref _requests);
        if (message.Request.Uri.Path.EndsWith("$batch", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _transactions);
        }
    }
}
