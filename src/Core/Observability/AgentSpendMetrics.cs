using System.Diagnostics.Metrics;

namespace AgentSpend.Core.Observability;

/// <summary>
/// The app's own metrics, on the meter <see cref="MeterName"/>: what it accepted, counted and dropped as already
/// counted, how far counting lags behind, how deep its queues and poison queues are, and how long a pre-flight check
/// takes. Counters are added where the fact becomes true (an event is counted when its transaction commits), so they
/// are exact; the queue figures come from <see cref="QueueSampler"/>, since a gauge's callback must not wait on storage.
/// </summary>
public sealed class AgentSpendMetrics
{
    public const string MeterName = "AgentSpend";

    private readonly Counter<long> _accepted;
    private readonly Counter<long> _counted;
    private readonly Counter<long> _duplicates;
    private readonly Histogram<double> _checkDuration;
    private readonly ObservableGauge<double> _lag;
    private readonly ObservableGauge<long> _depth;
    private readonly ObservableGauge<long> _poisonDepth;
    private volatile QueueSample? _queues;

    public AgentSpendMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _accepted = meter.CreateCounter<long>("agentspend.events.accepted", "{event}", "Events answered 202 and queued for counting.");
        _counted = meter.CreateCounter<long>("agentspend.events.counted", "{event}", "Events counted into the daily buckets (each once).");
        _duplicates = meter.CreateCounter<long>("agentspend.events.duplicates", "{event}", "Events dropped because they were counted already (resends, redeliveries).");
        _checkDuration = meter.CreateHistogram<double>("agentspend.check.duration", "ms", "Time a pre-flight check took, from request to decision.");
        _lag = meter.CreateObservableGauge("agentspend.aggregation.lag", () => Lag(), "s", "Age of the oldest message waiting in the ingest queue; 0 when it is empty.");
        _depth = meter.CreateObservableGauge("agentspend.queue.depth", () => Depths(s => s.Depth), "{message}", "Messages waiting in each queue (approximate).");
        _poisonDepth = meter.CreateObservableGauge("agentspend.queue.poison_depth", () => Depths(s => s.PoisonDepth), "{message}", "Messages in each queue's poison queue (approximate).");
    }

    /// <summary>True while some listener (an exporter, a test) reads the queue gauges: only then are the queues sampled.</summary>
    public bool QueueGaugesObserved => _lag.Enabled || _depth.Enabled || _poisonDepth.Enabled;

    public void Accepted(int events, string channel)
    {
        if (events > 0)
        {
            _accepted.Add(events, new KeyValuePair<string, object?>("channel", channel));
        }
    }

    public void Counted(int events)
    {
        if (events > 0)
        {
            _counted.Add(events);
        }
    }

    public void DuplicatesDropped(int events)
    {
        if (events > 0)
        {
            _duplicates.Add(events);
        }
    }

    public void CheckCompleted(TimeSpan took, bool allowed) =>
        _checkDuration.Record(took.TotalMilliseconds, new KeyValuePair<string, object?>("allowed", allowed));

    /// <summary>The latest queue figures (from <see cref="QueueSampler"/>).</summary>
    public void Observe(QueueSample sample) => _queues = sample;

    public QueueSample? LastQueueSample => _queues;

    private IEnumerable<Measurement<double>> Lag() =>
        _queues is { } s ? [new Measurement<double>(s.OldestIngestAge.TotalSeconds)] : [];

    private IEnumerable<Measurement<long>> Depths(Func<QueueDepth, long> value) =>
        _queues is { } s ? s.Queues.Select(q => new Measurement<long>(value(q), new KeyValuePair<string, object?>("queue", q.Queue))) : [];
}

/// <summary>One queue's depth and its poison queue's.</summary>
public sealed record QueueDepth(string Queue, long Depth, long PoisonDepth);

/// <summary>The queues as sampled at <see cref="At"/>.</summary>
public sealed record QueueSample(DateTimeOffset At, IReadOnlyList<QueueDepth> Queues, TimeSpan OldestIngestAge);
