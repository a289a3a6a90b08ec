using AgentSpend.Core.Governance;
using AgentSpend.Core.Storage;
using Microsoft.Extensions.Logging;

namespace AgentSpend.Core.Poison;

/// <summary>A poison queue that holds messages, as health reports it.</summary>
public sealed record PoisonCount(string Queue, int ApproximateMessages);

/// <summary>
/// What health says of the queues: <see cref="Storage"/> is <c>ok</c>, <c>unreachable</c> (storage could not be reached
/// or could not serve) or <c>error</c> (it refused the read); <see cref="Poison"/> lists the poison queues that hold
/// messages (empty when they could not be read).
/// </summary>
public sealed record QueueHealthReport(string Storage, IReadOnlyList<PoisonCount> Poison)
{
    public const string Ok = "ok";
    public const string Unreachable = "unreachable";
    public const string Error = "error";

    public bool Degraded => Storage != Ok || Poison.Count > 0;
}

/// <summary>
/// The poison queues' depths for the anonymous health endpoint. Anyone may call it, so it never reads storage per
/// request: the depths are read at most once per <see cref="Freshness"/>, one read at a time however many callers
/// wait, and a read that storage does not answer within <see cref="ReadTimeout"/> reports storage unreachable.
/// </summary>
public sealed partial class QueueHealth(PoisonQueues queues, TimeProvider clock, ILogger<QueueHealth> logger)
{
    public static readonly TimeSpan Freshness = TimeSpan.FromSeconds(5);

    /// <summary>A report up to this old is answered at once while a new one is read in the background; an older one is waited for.</summary>
    public static readonly TimeSpan MaxStaleness = TimeSpan.FromSeconds(30);

    public static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);

    private const string Key = "queues";

    private readonly RefreshingCache<QueueHealthReport> _reports = new(Freshness, MaxStaleness, clock);

    public async ValueTask<QueueHealthReport> GetAsync(CancellationToken cancellationToken) =>
        (await _reports.GetAsync(Key, ReadAsync, cancellationToken).ConfigureAwait(false)).Value;

    /// <summary>After a change made here (a replay), the next caller reads the depths again.</summary>
    public void Forget() => _reports.Forget(Key);

    /// <summary>Never throws: a failed read is a report too, and it is kept like any other, so a failing storage is not asked again per request.</summary>
    private async Task<QueueHealthReport> ReadAsync(string key, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(ReadTimeout, clock);
        try
        {
            var depths = await queues.ReadPoisonDepthsAsync(timeout.Token).ConfigureAwait(false);
            return new QueueHealthReport(QueueHealthReport.Ok, [.. depths.Where(d => d.ApproximateMessages > 0).Select(d => new PoisonCount(d.PoisonQueue, d.ApproximateMessages))]);
        }
        catch (Exception ex) when (timeout.IsCancellationRequested || StorageFaults.IsUnavailable(ex))
        {
            LogUnreachable(logger, ex);
            return new QueueHealthReport(QueueHealthReport.Unreachable, []);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogFailed(logger, ex);
            return new QueueHealthReport(QueueHealthReport.Error, []);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Health could not read the poison queues' depths: storage is unreachable")]
    private static partial void LogUnreachable(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Health could not read the poison queues' depths: storage refused the read")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
