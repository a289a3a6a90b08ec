using AgentSpend.Core.Storage;
using AgentSpend.Core.Workspaces;
using Microsoft.Extensions.Logging;

namespace AgentSpend.Core.Ingest;

/// <summary>The answer to an ingest request whose body could be read.</summary>
public sealed record IngestReceipt(int Accepted, int Rejected, IReadOnlyList<IngestError> Errors, int Messages);

/// <summary>Validates a batch and queues the accepted events for aggregation.</summary>
public sealed partial class IngestService(IngestRequestParser parser, IStorageProvider storage, ILogger<IngestService> logger)
{
    public async Task<(IngestReceipt? Receipt, IngestProblem? Problem)> IngestAsync(ReadOnlyMemory<byte> body, Workspace workspace, CancellationToken cancellationToken)
    {
        var parsed = parser.Parse(body, workspace);
        if (parsed.Problem is not null)
        {
            return (null, parsed.Problem);
        }

        var messages = IngestMessageCodec.Pack(parsed.Accepted);
        var queue = storage.GetQueue(StorageNames.IngestQueue);
        // All messages are sent before 202 is answered: a client that gets an error resends, and the
        // events' ids (idempotency keys) make the resend harmless.
        await Task.WhenAll(messages.Select(m => queue.SendAsync(m, cancellationToken: cancellationToken))).ConfigureAwait(false);
        LogQueued(logger, parsed.Accepted.Count, parsed.Rejected, messages.Count, workspace.Id);
        return (new IngestReceipt(parsed.Accepted.Count, parsed.Rejected, parsed.Errors, messages.Count), null);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Queued {Accepted} events ({Rejected} rejected) in {Messages} messages for workspace {WorkspaceId}")]
    private static partial void LogQueued(ILogger logger, int accepted, int rejected, int messages, string workspaceId);
}
