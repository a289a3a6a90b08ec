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
/// <remarks>
/// A batch is answered 202 only once every one of its messages is queued. When a send fails the batch is answered
/// <see cref="IngestProblemKind.Unavailable"/> (503), and the request charges nothing: the quota it took is given
/// back, and so are the places of agents no batch has queued whole. That is the one rule chosen because the client
/// is told to resend the whole request, and is charged then; keeping the charge would charge the resend twice.
/// The messages that were queued before the failure are still counted, once: the resend carries the same event ids
/// (idempotency keys, or server ids derived from the key and the body), and the aggregator drops what it has counted.
/// </remarks>
public sealed partial class IngestService(IngestRequestParser parser, WorkspacePricing pricing, PlanLimitEnforcer limits, IStorageProvider storage, Observability.AgentSpendMetrics metrics, ILogger<IngestService> logger)
{
    /// <param name="channel">Where the batch came from: it decides which events the session ledgers reconcile.</param>
    /// <param name="keyId">The API key the batch came with: every event records it.</param>
    public Task<(IngestReceipt? Receipt, IngestProblem? Problem)> IngestAsync(ReadOnlyMemory<byte> body, Workspace workspace, IngestChannel channel, string? keyId, CancellationToken cancellationToken) =>
        IngestAsync(body, workspace, channel, keyId, new IngestCharge(), cancellationToken);

    /// <param name="charge">
    /// What the request has taken from the plan so far. A request that queues several batches passes the same charge to
    /// each, so that a batch that fails gives back what the earlier ones took too (the client resends the whole request).
    /// </param>
    public async Task<(IngestReceipt? Receipt, IngestProblem? Problem)> IngestAsync(
        ReadOnlyMemory<byte> body, Workspace workspace, IngestChannel channel, string? keyId, IngestCharge charge, CancellationToken cancellationToken)
    {
        var parsed = parser.Parse(body, workspace, channel, keyId);
        if (parsed.Problem is not null)
        {
            return (null, parsed.Problem);
        }

        try
        {
            var priced = await pricing.PriceAsync(workspace, parsed.Accepted, cancellationToken).ConfigureAwait(false);
            var decision = await limits.ApplyAsync(workspace, priced, charge, cancellationToken).ConfigureAwait(false);
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
                    .Where(e => decision.RejectedAgents.Contains(e.Agent))
                    .Select(e => new IngestError(e.SourceIndex, "agent_name", $"The workspace's plan allows at most {workspace.Limits.MaxAgents} agents; '{e.Agent}' would be one more."))
                    .ToArray();
                errors = errors.Concat(refused).OrderBy(e => e.Index).ToArray();
                rejected += refused.Length;
            }

            var messages = IngestMessageCodec.Pack(decision.Allowed);
            if (await SendAsync(messages, workspace.Id, cancellationToken).ConfigureAwait(false) is { } failure)
            {
                await limits.RefundAsync(workspace, charge).ConfigureAwait(false);
                return (null, failure);
            }

            limits.KeepPlaces(workspace.Id, decision.Allowed);
            metrics.Accepted(decision.Allowed.Count, channel.ToString());
            LogQueued(logger, decision.Allowed.Count, rejected, messages.Count, workspace.Id);
            return (new IngestReceipt(decision.Allowed.Count, rejected, errors, messages.Count, decision.RejectedAgents), null);
        }
        catch
        {
            // Storage failed under the limits or the pricing, or the client went away: the client sees a failure and
            // resends, so nothing of this request may stay charged.
            await limits.RefundAsync(workspace, charge).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Runs a step that must follow the queueing of a request's batches (OTLP metrics store their series state so);
    /// if it fails the request fails, so its charge is given back first.
    /// </summary>
    public async Task AfterQueuedAsync(Func<CancellationToken, Task> step, Workspace workspace, IngestCharge charge, CancellationToken cancellationToken)
    {
        try
        {
            await step(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await limits.RefundAsync(workspace, charge).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Sends every message; null when all were queued, else the problem to answer.</summary>
    private async Task<IngestProblem?> SendAsync(IReadOnlyList<string> messages, string workspaceId, CancellationToken cancellationToken)
    {
        if (messages.Count == 0)
        {
            return null;
        }

        var queue = storage.GetQueue(StorageNames.IngestQueue);
        var sends = messages.Select(m => queue.SendAsync(m, cancellationToken: cancellationToken)).ToArray();
        try
        {
            await Task.WhenAll(sends).ConfigureAwait(false);
            return null;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // WhenAll waited for every send, so these counts are final.
            var queued = sends.Count(s => s.IsCompletedSuccessfully);
            LogSendFailed(logger, ex, messages.Count - queued, messages.Count, workspaceId);
            return new IngestProblem(IngestProblemKind.Unavailable, "queue",
                $"{messages.Count - queued} of the batch's {messages.Count} queue messages could not be queued. Send the same request again: what was queued is counted once, and nothing of this request was charged to the plan.")
            {
                RetryAfter = StorageFaults.RetryAfter,
            };
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Queued {Accepted} events ({Rejected} rejected) in {Messages} messages for workspace {WorkspaceId}")]
    private static partial void LogQueued(ILogger logger, int accepted, int rejected, int messages, string workspaceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Workspace {WorkspaceId} reached its daily limit of {DailyLimit} events; the batch is refused")]
    private static partial void LogDailyLimit(ILogger logger, string workspaceId, long dailyLimit);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Failed} of {Messages} queue messages of a batch of workspace {WorkspaceId} could not be sent; the batch is answered 503 and its charge given back")]
    private static partial void LogSendFailed(ILogger logger, Exception exception, int failed, int messages, string workspaceId);
}
