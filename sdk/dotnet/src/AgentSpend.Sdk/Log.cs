using Microsoft.Extensions.Logging;

namespace AgentSpend.Sdk;

/// <summary>What the client logs. Never the API key, never an event's content beyond counts and the server's reasons.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "AgentSpend: {Count} events dropped ({Reason}): {Detail}")]
    public static partial void Dropped(ILogger logger, int count, string reason, string? detail);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "AgentSpend: the server refused {Count} events; first: {Field} {FirstReason}")]
    public static partial void Rejected(ILogger logger, int count, string? field, string firstReason);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "AgentSpend: {Why}, retrying in {DelayMs} ms")]
    public static partial void Retrying(ILogger logger, string why, long delayMs);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "AgentSpend: check not answered ({Why}); allowed (FailOpen)")]
    public static partial void FailedOpen(ILogger logger, string why);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "AgentSpend: a callback threw")]
    public static partial void CallbackFailed(ILogger logger, System.Exception exception);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "AgentSpend: the server refused a gzip body (HTTP {Status}); sending plain JSON from now on")]
    public static partial void GzipOff(ILogger logger, int status);
}
