namespace AgentSpend.Functions.Triggers;

/// <summary>A queue message handed to a queue-triggered function.</summary>
public sealed record QueueInvocation(string Text, long DequeueCount, string? MessageId);

/// <summary>
/// A queue function's code, behind its <c>[Function]</c> method (<see cref="TriggerFunctions"/>), which hands it the one
/// message of an invocation.
/// </summary>
public interface IQueueFunction
{
    string Name { get; }

    /// <returns>Null when the message was handled, or the error that failed it.</returns>
    Task<Exception?> RunAsync(QueueInvocation message, CancellationToken cancellationToken);
}

/// <summary>A timer-triggered function.</summary>
public interface ITimerFunction
{
    string Name { get; }

    Task RunAsync(CancellationToken cancellationToken);
}
