using Microsoft.Extensions.Logging;

namespace AgentSpend.Soak;

/// <summary>The soak's own log lines (its figures are printed, one a line, at the end).</summary>
internal static partial class Log
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Load started: {Minutes} min, until {End:HH:mm:ss} UTC")]
    public static partial void LoadStarted(ILogger logger, double minutes, DateTime end);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Azurite's data folder holds {Mib:F0} MiB, over the {Max} MiB cap: stopping the load early")]
    public static partial void DataCap(ILogger logger, double mib, int max);

    [LoggerMessage(Level = LogLevel.Information, Message = "t={Seconds:F0}s native {Accepted} events accepted, queue {Depth}, poison {Poison}, data {Mib:F0} MiB, retries {Retries}, failures {Failures}")]
    public static partial void Progress(ILogger logger, double seconds, long accepted, int depth, int poison, double mib, long retries, int failures);

    [LoggerMessage(Level = LogLevel.Information, Message = "Load over after {Seconds:F0} s; waiting for the queue to drain (at most {Drain} s)")]
    public static partial void LoadOver(ILogger logger, double seconds, int drain);

    [LoggerMessage(Level = LogLevel.Information, Message = "Waiting {Seconds:F0} s more for every reservation's TTL to pass")]
    public static partial void WaitingForTtl(ILogger logger, double seconds);
}
