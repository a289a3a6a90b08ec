namespace AgentSpend.Core.Limits;

/// <summary>
/// What one request has taken from its workspace's plan so far: events from a day's quota, and the agents it
/// registered. A request that queues several batches (OTLP, an import) passes one charge to each, so that a
/// failure can give back what the whole request took (see <see cref="PlanLimitEnforcer.RefundAsync"/>).
/// </summary>
public sealed class IngestCharge
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, long> _quota = new(StringComparer.Ordinal);
    private readonly List<string> _agents = [];

    /// <summary>True when nothing is charged: a refund then costs no storage request.</summary>
    public bool IsEmpty
    {
        get
        {
            lock (_lock)
            {
                return _quota.Count == 0 && _agents.Count == 0;
            }
        }
    }

    internal void TookQuota(string day, long events)
    {
        lock (_lock)
        {
            _quota[day] = _quota.GetValueOrDefault(day) + events;
        }
    }

    // Agents are registered concurrently (one insert each), hence the lock.
    internal void Registered(string agent)
    {
        lock (_lock)
        {
            _agents.Add(agent);
        }
    }

    /// <summary>Empties the charge and returns what it held, so that a charge is given back at most once.</summary>
    internal (KeyValuePair<string, long>[] Quota, string[] Agents) TakeAll()
    {
        lock (_lock)
        {
            var taken = (_quota.ToArray(), _agents.ToArray());
            _quota.Clear();
            _agents.Clear();
            return taken;
        }
    }
}
