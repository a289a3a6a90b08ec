namespace AgentSpend.Soak;

/// <summary>What usage adds up to: the figures the metrics API reports, each compared on its own.</summary>
internal readonly record struct Usage(long Events, long Input, long Output, long CacheRead, long CacheWrite, long Reasoning, decimal Cost)
{
    public static readonly string[] Fields = ["events", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "cost_usd"];

    public static Usage operator +(Usage a, Usage b) =>
        new(a.Events + b.Events, a.Input + b.Input, a.Output + b.Output, a.CacheRead + b.CacheRead, a.CacheWrite + b.CacheWrite, a.Reasoning + b.Reasoning, a.Cost + b.Cost);

    public static Usage operator *(Usage a, long n) =>
        new(a.Events * n, a.Input * n, a.Output * n, a.CacheRead * n, a.CacheWrite * n, a.Reasoning * n, a.Cost * n);

    public decimal Field(int index) => index switch
    {
        0 => Events,
        1 => Input,
        2 => Output,
        3 => CacheRead,
        4 => CacheWrite,
        5 => Reasoning,
        _ => Cost,
    };
}

/// <summary>What one counted thing (an event, an API call, a metrics interval) adds to one day of one agent.</summary>
internal readonly record struct Contribution(string Day, string Agent, Usage Usage);

/// <summary>Expected figures of one scope of one workspace: its total, a day, an agent, or an agent on a day.</summary>
internal sealed record Scope(string Name, string? Day, string? Agent);

/// <summary>
/// The soak's own account of what must be counted, built from what it sent and was accepted (202, or 200 for
/// OTLP), never from the app. Everything counted exactly once carries a key (an idempotency key, a provider's
/// call id, a metrics payload's id): the first acceptance of a key adds its contributions, later ones add
/// nothing, which is what the app must do with resends and retries.
/// </summary>
internal sealed class Oracle
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Dictionary<string, Contribution[]>> _accepted = new(StringComparer.Ordinal);

    /// <summary>Records that <paramref name="key"/> was accepted in <paramref name="workspace"/>; false when it already was.</summary>
    public bool Accept(string workspace, string key, params Contribution[] parts)
    {
        lock (_lock)
        {
            if (!_accepted.TryGetValue(workspace, out var keys))
            {
                _accepted[workspace] = keys = new Dictionary<string, Contribution[]>(StringComparer.Ordinal);
            }

            return keys.TryAdd(key, parts);
        }
    }

    public int Keys(string workspace)
    {
        lock (_lock)
        {
            return _accepted.TryGetValue(workspace, out var keys) ? keys.Count : 0;
        }
    }

    /// <summary>Every contribution accepted in a workspace.</summary>
    public IReadOnlyList<Contribution> Contributions(string workspace)
    {
        lock (_lock)
        {
            return _accepted.TryGetValue(workspace, out var keys) ? [.. keys.Values.SelectMany(c => c)] : [];
        }
    }

    /// <summary>The expected figures of every scope (total, each day, each agent, each agent on each day) of a workspace's contributions.</summary>
    public static Dictionary<Scope, Usage> Expected(IEnumerable<Contribution> contributions)
    {
        var expected = new Dictionary<Scope, Usage>();
        void Add(Scope scope, Usage usage) => expected[scope] = expected.GetValueOrDefault(scope) + usage;
        foreach (var c in contributions)
        {
            Add(new Scope("total", null, null), c.Usage);
            Add(new Scope($"day {c.Day}", c.Day, null), c.Usage);
            Add(new Scope($"agent {c.Agent}", null, c.Agent), c.Usage);
            Add(new Scope($"agent {c.Agent} on {c.Day}", c.Day, c.Agent), c.Usage);
        }

        return expected;
    }
}

/// <summary>
/// Batches of events without idempotency keys: the server gives each event a fresh id, so a batch that was queued
/// but whose 202 never reached the client (the instance was killed after queueing, the reply was lost) is counted
/// again when the client resends it. Such a batch is sent once and resent only after a failure; every failed
/// attempt that may have queued it (anything but a 429: see Sender on refused connections) allows one more copy. All batches
/// are alike (one agent, one day, the same events), so copies can be told apart from losses: a scope's count must
/// be its accepted batches plus between none and its allowed copies, whole batches, every figure in step.
/// </summary>
internal sealed class KeylessLedger(Usage batch)
{
    private readonly Lock _lock = new();
    private readonly List<(string Day, string Agent)> _accepted = [];
    private readonly List<(string Day, string Agent)> _mayHaveQueued = [];

    public Usage Batch { get; } = batch;

    public void Accepted(string day, string agent)
    {
        lock (_lock)
        {
            _accepted.Add((day, agent));
        }
    }

    public void MayHaveQueued(string day, string agent)
    {
        lock (_lock)
        {
            _mayHaveQueued.Add((day, agent));
        }
    }

    public int AcceptedCount
    {
        get
        {
            lock (_lock)
            {
                return _accepted.Count;
            }
        }
    }

    public int AllowedCopies
    {
        get
        {
            lock (_lock)
            {
                return _mayHaveQueued.Count;
            }
        }
    }

    /// <summary>Per scope: the batches accepted, and how many more copies of it may have been queued.</summary>
    public Dictionary<Scope, (long Batches, long Allowed)> Expected()
    {
        var expected = new Dictionary<Scope, (long Batches, long Allowed)>();
        void Add(string day, string agent, long batches, long allowed)
        {
            foreach (var scope in new[] { new Scope("total", null, null), new Scope($"day {day}", day, null), new Scope($"agent {agent}", null, agent), new Scope($"agent {agent} on {day}", day, agent) })
            {
                var (b, a) = expected.GetValueOrDefault(scope);
                expected[scope] = (b + batches, a + allowed);
            }
        }

        lock (_lock)
        {
            foreach (var (day, agent) in _accepted)
            {
                Add(day, agent, 1, 0);
            }

            foreach (var (day, agent) in _mayHaveQueued)
            {
                Add(day, agent, 0, 1);
            }
        }

        return expected;
    }
}
