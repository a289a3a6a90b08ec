using AgentSpend.Core.Audit;
using AgentSpend.Core.Poison;
using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentSpend.Functions.Admin;

public sealed record PoisonQueueView(string Name, int ApproximateMessages);

/// <summary>A queue a function is triggered by, with its poison queue; counts are Azure's approximate ones.</summary>
public sealed record QueueView(string Name, int ApproximateMessages, PoisonQueueView Poison);

public sealed record QueueList(IReadOnlyList<QueueView> Queues);

/// <summary>How many poison messages a replay moved back to the queue, and how many its poison queue holds now.</summary>
public sealed record ReplayResult(string Queue, int Replayed, int Remaining);

/// <summary>
/// /api/v1/admin/queues: instance admins see every trigger queue and its poison queue, and replay a poison queue's
/// messages. Instance-wide, as the queues are: one queue carries every workspace's messages.
/// </summary>
public static class AdminQueueEndpoints
{
    public static async Task<Ok<QueueList>> ListAsync(PoisonQueues queues, CancellationToken cancellationToken) =>
        TypedResults.Ok(new QueueList([.. (await queues.ReadDepthsAsync(cancellationToken).ConfigureAwait(false))
            .Select(d => new QueueView(d.Queue, d.ApproximateMessages, new PoisonQueueView(d.PoisonQueue, d.PoisonApproximateMessages)))]));

    /// <summary>
    /// Runs to its end even if the caller hangs up (only a shutdown stops it): a replay cut short loses nothing, but
    /// the audit entry says what it did only once it is done.
    /// </summary>
    public static async Task<Results<Ok<ReplayResult>, ProblemHttpResult>> ReplayAsync(
        string name, Caller caller, PoisonQueues queues, QueueHealth health, AuditLog audit, IHostApplicationLifetime lifetime)
    {
        if (!PoisonQueues.IsKnown(name))
        {
            return Problems.NotFound("name", $"'{name}' is not a queue of this app; use {Problems.Choices(PoisonQueues.Queues)}.");
        }

        var stopping = lifetime.ApplicationStopping;
        var outcome = await queues.ReplayAsync(name, stopping).ConfigureAwait(false);
        health.Forget();
        var result = new ReplayResult(outcome.Queue, outcome.Replayed, outcome.Remaining);
        await audit.AppendAsync(caller.Workspace.Id, AuditActions.QueueReplay, name, caller.KeyId, caller.SourceIp,
            new { poison_queue = Core.Storage.StorageNames.PoisonQueueOf(name), approximate_messages = outcome.Found }, result).ConfigureAwait(false);
        return TypedResults.Ok(result);
    }
}
