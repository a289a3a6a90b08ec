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

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _byTarget = new(StringComparer.Ordinal);

    /// <summary>Requests per method and table or queue (e.g. <c>GET usage</c>, <c>POST $batch</c>), for the benchmark's breakdown.</summary>
    public IReadOnlyDictionary<string, long> ByTarget => _byTarget;

    public override void OnSendingRequest(HttpMessage message)
    {
        Interlocked.Increment(ref _requests);
        _byTarget.AddOrUpdate(TargetOf(message.Request), 1, (_, n) => n + 1);
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

    // "/{account}/{table}(keys)" or "/{account}/{queue}/messages/{id}": the method and the table or queue (Azurite puts the account in the path).
    private static string TargetOf(Request request)
    {
        var path = request.Uri.Path.Trim('/');
        var parts = path.Split('/');
        var name = parts.Length > 1 && parts[0].StartsWith("devstoreaccount", StringComparison.Ordinal) ? parts[1] : parts[0];
        var cut = name.IndexOf('(', StringComparison.Ordinal);
        return $"{request.Method} {(cut < 0 ? name : name[..cut])}";
    }
}
