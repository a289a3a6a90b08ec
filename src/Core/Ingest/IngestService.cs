using AgentSpend.Core.Domain;
using AgentSpend.Core.Limits;
using AgentSpend.Core.Pricing;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Workspaces;
using Microsoft.Extensions.Logging;

namespace AgentSpend.Core.Ingest;

/// <summary>The answer to an ingest request whose body could be read.</summary>
public sealed record IngestReceipt(int Accepted, int Rejected, IReadOnlyList<IngestError> Errors, int Messages, IReadOnlyList<string> RejectedAgents);

/// <summary>Validates a batch, applies the workspace's plan limits and queues the accepted events for aggregation.</summary>
public sealed partial class IngestService(IngestRequestParser parser, WorkspacePricing pricing, PlanLimitEnforcer limits, IStorageProvider storage, ILogger<IngestService> logger)
{
    /// <param name="channel">Where the batch came from: it decides which events the session ledgers reconcile.</param>
    /// <param name="keyId">The API key the batch came with: every event records it.</param>
    public async Task<(IngestReceipt? Receipt, IngestProblem? Problem)> IngestAsync(ReadOnlyMemory<byte> body, Workspace workspace, IngestChannel channel, string? keyId, CancellationToken cancellationToken)
    {
        var parsed = parser.Parse(body, workspace, channel, keyId);
        if (parsed.Problem is not null)
        {
            return (null, parsed.Problem);
        }

        var priced = await pricing.PriceAsync(workspace, parsed.Accepted, cancellationToken).ConfigureAwait(false);
        var decision = await limits.ApplyAsync(workspace, priced, cancellationToken).ConfigureAwait(false);
        if (decision.DailyLimitReached)
        {
            LogDailyLimit(logger, workspace.Id, decision.DailyLimit ?? 0);
            return (null, new IngestProblem(IngestProblemKind.DailyLimit, "events",
                $"The workspace's plan allows {decision.DailyLimit} events per day, and this batch would go past it.")
            {
                RetryAfter = decision.RetryAfter,
            });
        }

        var errors = parsed.Errors;
        var rejected = parsed.Rejected;
        if (decision.RejectedAgents.Count > 0)
        {
            var refused = parsed.Accepted
                .Select((e, i) => (e, i))
                .Where(x => decision.RejectedAgents.Contains(x.e.Agent))
                .Select(x => new IngestError(x.e.SourceIndex, "agent_name", $"The workspace's plan allows at most {workspace.Limits.MaxAgents} agents; '{x.e.Agent}' would be one more."))
                .ToArray();
            errors = errors.Concat(refused).OrderBy(e => e.Index).ToArray();
            rejected += refused.Length;
        }

        var messages = IngestMessageCodec.Pack(decision.Allowed);
        var queue = storage.GetQueue(StorageNames.IngestQueue);
        // All messages are sent before 202 is answered: a client that gets an error resends, and the
        // events' ids (idempotency keys) make the resend harmless.
        await Task.WhenAll(messages.Select(m => queue.SendAsync(m, cancellationToken: cancellationToken))).ConfigureAwait(false);
        LogQueued(logger, decision.Allowed.Count, rejected, messages.Count, workspace.Id);
        return (new IngestReceipt(decision.Allowed.Count, rejected, errors, messages.Count, decision.RejectedAgents), null);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Queued {Accepted} events ({Rejected} rejected) in {Messages} messages for workspace {WorkspaceId}")]
    private static partial void LogQueued(ILogger logger, int accepted, int rejected, int messages, string workspaceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Workspace {WorkspaceId} reached its daily limit of {DailyLimit} events; the batch is refused")]
    private static partial void LogDailyLimit(ILogger logger, string workspaceId, long dailyLimit);
}
