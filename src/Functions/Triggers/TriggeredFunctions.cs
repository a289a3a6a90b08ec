namespace AgentSpend.Functions.Triggers;

/// <summary>A queue message handed to a queue-triggered function.</summary>
public sealed record QueueInvocation(string Text, long DequeueCount, string? MessageId);

/// <summary>
/// A queue function's code, behind its <c>[Function]</c> method (<see cref="TriggerFunctions"/>), which hands it the
/// one message of an invocation. Local mode's listener runs a received batch through the same interface
/// (<see cref="Hosting.Local.LocalQueueFunction"/>: an invocation of the <c>[Function]</c> method per message). It answers
/// per message, so a bad message fails alone.
/// </summary>
public interface IQueueFunction
{
    string Name { get; }

    /// <returns>Per message: null when handled, or the error that failed it.</returns>
    Task<IReadOnlyList<Exception?>> RunAsync(IReadOnlyList<QueueInvocation> messages, CancellationToken cancellationToken);
}

/// <summary>A timer-triggered function.</summary>
public interface ITimerFunction
{
    string Name { get; }

    Task RunAsync(CancellationToken cancellationToken);
}
