namespace AgentSpend.Functions.Triggers;

/// <summary>
/// A queue function failed on its message: thrown out of the <c>[Function]</c> method so that the host (or local
/// mode) retries the message, carrying the function's own error as the inner exception.
/// </summary>
public sealed class QueueFunctionFailedException : Exception
{
    public QueueFunctionFailedException()
    {
    }

    public QueueFunctionFailedException(string message) : base(message)
    {
    }

    public QueueFunctionFailedException(string message, Exception innerException) : base(message, innerException)
    {
    }

    public QueueFunctionFailedException(string function, string messageId, long dequeueCount, Exception error)
        : base($"{function} failed on message {messageId} (try {dequeueCount}): {error.Message}", error)
    {
    }
}
