using System.Net.Sockets;
using Azure;

namespace AgentSpend.Core.Storage;

/// <summary>
/// Tells a failure of the storage service (unreachable, overloaded, timing out) from a failure of the
/// request or the data. The first kind passes by itself: work waits and retries it without giving up on
/// what it was doing; requests answer 503 with Retry-After. The second kind belongs to what was sent.
/// </summary>
public static class StorageFaults
{
    /// <summary>How long a caller should wait before trying again while storage is unavailable.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);

    /// <summary>True when <paramref name="exception"/> (or what it wraps) says storage could not be reached or could not serve.</summary>
    public static bool IsUnavailable(Exception? exception) => exception switch
    {
        null => false,
        RequestFailedException { Status: 0 or 408 or 500 or 502 or 503 or 504 } => true,
        RequestFailedException => false,
        HttpRequestException or SocketException or IOException or TimeoutException => true,
        TaskCanceledException { InnerException: TimeoutException } => true,
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(IsUnavailable),
        _ => false,
    };
}
