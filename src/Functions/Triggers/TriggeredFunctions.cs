namespace AgentSpend.Functions.Triggers;

/// <summary>A queue message handed to a queue-triggered function.</summary>
public sealed record QueueInvocation(string Text, long DequeueCount, string? MessageId);

/// <summary>
/// A queue-triggered function. Under the Functions host it gets one message per invocation; the
/// standalone runner hands it a whole receive batch, which a function may run as one invocation per message
/// (AggregateUsage does, so both hosts count the same way). Either way it answers per message, so a bad
/// message fails alone.
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
