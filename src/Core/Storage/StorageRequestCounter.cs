using Azure.Core;
using Azure.Core.Pipeline;

namespace AgentSpend.Core.Storage;

/// <summary>
/// Counts every HTTP request sent to storage, retries included (it sits in the per-retry stage of
/// the pipeline). The benchmark reads it to report storage requests per 1,000 events.
/// </summary>
public sealed class StorageRequestCounter : HttpPipelineSynchronousPolicy
{
    private long _requests;

    public long Requests => Interlocked.Read(ref _requests);

    public override void OnSendingRequest(HttpMessage message) => Interlocked.Increment(ref _requests);
}
