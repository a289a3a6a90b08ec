using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace AgentSpend.Sdk;

/// <summary>Settings of a run (<see cref="AgentSpendClient.StartRun"/>).</summary>
public sealed class RunOptions
{
    /// <summary>The run's id. Default: a new UUIDv7.</summary>
    public string? RunId { get; set; }

    /// <summary><c>agent_name</c> of the run's events and checks (default: the client's).</summary>
    public string? AgentName { get; set; }

    /// <summary><c>task_type</c> of the run's events. Default: the run's name.</summary>
    public string? TaskType { get; set; }

    /// <summary>Fields stamped on every event of the run unless the event sets them (<c>SessionId</c>, <c>UserId</c>, <c>Team</c>, <c>Tags</c> …).</summary>
    public UsageEvent? Fields { get; set; }

    /// <summary>Record a summary event when the run ends. Default true.</summary>
    public bool Summary { get; set; } = true;

    /// <summary>Provider of the summary when the run recorded no event. Default <c>agentspend</c>.</summary>
    public string? SummaryProvider { get; set; }

    /// <summary>Model of the summary when the run recorded no event. Default <c>run</c>.</summary>
    public string? SummaryModel { get; set; }
}

/// <summary>
/// One run of an agent: the events recorded with <see cref="Record"/> carry its <c>run_id</c> (and its name as
/// <c>task_type</c>); ending it (<see cref="End"/>, or disposing it) records one summary event with its duration and
/// outcome.
/// </summary>
/// <remarks>
/// The summary event carries <c>duration_ms</c> (the run's wall time), <c>task_success</c> (what <see cref="Succeed"/>
/// / <see cref="Fail"/> said, else none), no tokens, <c>cost_usd: 0</c>, the provider and model of the run's last event
/// (else <see cref="RunOptions.SummaryProvider"/> / <see cref="RunOptions.SummaryModel"/>, default <c>agentspend</c> /
/// <c>run</c>) and the tag <c>agentspend.event: run_summary</c>. It adds one to the run's event count and nothing to its
/// tokens or cost.
/// </remarks>
public sealed class AgentSpendRun : IAsyncDisposable, IDisposable
{
    /// <summary>The tag that marks a run's summary event.</summary>
    public const string SummaryTag = "agentspend.event";

    private readonly AgentSpendClient client;
    private readonly RunOptions options;
    private readonly Func<TimeSpan> clock;
    private readonly TimeSpan started;
    private readonly UsageEvent fields;
    private readonly object gate = new();
    private bool? outcome;
    private bool ended;
    private int events;
    private string? lastProvider;
    private string? lastModel;
    private string? lastAgent;

    internal AgentSpendRun(AgentSpendClient client, string name, RunOptions options, Func<TimeSpan> clock, string newId)
    {
        this.client = client;
        this.options = options;
        this.clock = clock;
        Name = name;
        Id = string.IsNullOrEmpty(options.RunId) ? newId : options.RunId!;
        started = clock();
        fields = options.Fields?.Clone() ?? new UsageEvent();
        if (options.AgentName is not null)
        {
            fields.AgentName = options.AgentName;
        }

        fields.TaskType = options.TaskType ?? fields.TaskType ?? name;
    }

    /// <summary>The run's id (<c>run_id</c>).</summary>
    public string Id { get; }

    /// <summary>The run's name (its default <c>task_type</c>).</summary>
    public string Name { get; }

    /// <summary>The outcome set so far (<see cref="Succeed"/>, <see cref="Fail"/>, <see cref="End"/>).</summary>
    public bool? Outcome
    {
        get
        {
            lock (gate)
            {
                return outcome;
            }
        }
    }

    /// <summary>Whether the run has ended.</summary>
    public bool Ended
    {
        get
        {
            lock (gate)
            {
                return ended;
            }
        }
    }

    /// <summary>Events recorded in this run (the summary not counted).</summary>
    public int Events => Volatile.Read(ref events);

    /// <summary>
    /// Records an event of this run through the client (<see cref="AgentSpendClient.Record"/>): its <c>run_id</c> is the
    /// run's; the run's fields fill what the event leaves out. Never throws.
    /// </summary>
    public bool Record(UsageEvent usageEvent)
    {
        if (usageEvent is null)
        {
            return client.Record(usageEvent!);
        }

        var e = usageEvent.Clone();
        e.FillFrom(fields);
        e.RunId = Id;
        lock (gate)
        {
            if (e.Provider is not null)
            {
                lastProvider = e.Provider;
            }

            if (e.Model is not null)
            {
                lastModel = e.Model;
            }

            if (e.AgentName is not null)
            {
                lastAgent = e.AgentName;
            }
        }

        var ok = client.Record(e);
        if (ok)
        {
            Interlocked.Increment(ref events);
        }

        return ok;
    }

    /// <summary><see cref="AgentSpendClient.CheckAsync"/> with the run's <c>run_id</c>, agent, user and team.</summary>
    public Task<CheckResult> CheckAsync(CheckRequest? request = null, CancellationToken cancellationToken = default) =>
        client.CheckAsync(WithRun(request), cancellationToken);

    /// <summary><see cref="AgentSpendClient.ReserveAsync"/> with the run's <c>run_id</c>: the hold is released once the run's usage is counted.</summary>
    public Task<CheckResult> ReserveAsync(CheckRequest? request = null, CancellationToken cancellationToken = default) =>
        client.ReserveAsync(WithRun(request), cancellationToken);

    /// <summary>Marks the run as a success (<c>task_success: true</c>).</summary>
    public void Succeed()
    {
        lock (gate)
        {
            outcome = true;
        }
    }

    /// <summary>Marks the run as a failure (<c>task_success: false</c>).</summary>
    public void Fail()
    {
        lock (gate)
        {
            outcome = false;
        }
    }

    /// <summary>Ends the run and records its summary event (once; later calls do nothing).</summary>
    /// <param name="success">The outcome, overriding <see cref="Succeed"/> / <see cref="Fail"/>; null keeps theirs.</param>
    public void End(bool? success = null)
    {
        UsageEvent summary;
        lock (gate)
        {
            if (ended)
            {
                return;
            }

            ended = true;
            if (success is not null)
            {
                outcome = success;
            }

            if (!options.Summary)
            {
                return;
            }

            summary = fields.Clone();
            // The run's agent, else its last event's (the client's fills what is still missing): a summary without
            // one would be refused, and the run's outcome and duration lost with it.
            summary.AgentName ??= lastAgent;
            summary.Provider = lastProvider ?? options.SummaryProvider ?? "agentspend";
            summary.Model = lastModel ?? options.SummaryModel ?? "run";
            summary.RunId = Id;
            summary.DurationMs = Math.Max(0, (long)Math.Round((clock() - started).TotalMilliseconds));
            summary.CostUsd = 0m;
            summary.TaskSuccess = outcome;
            summary.InputTokens = summary.OutputTokens = summary.CacheReadTokens = summary.CacheWriteTokens = null;
            summary.CacheWrite1hTokens = summary.ReasoningTokens = null;
            summary.IdempotencyKey = null;
            summary.Timestamp = null;
            summary.Tags = new Dictionary<string, string>(summary.Tags ?? new Dictionary<string, string>(), StringComparer.Ordinal)
            {
                [SummaryTag] = "run_summary",
            };
        }

        client.Record(summary);
    }

    /// <summary>Ends the run (<see cref="End"/>), with the outcome <see cref="Succeed"/> / <see cref="Fail"/> set.</summary>
    public ValueTask DisposeAsync()
    {
        End();
        return default;
    }

    /// <summary>Ends the run (<see cref="End"/>), with the outcome <see cref="Succeed"/> / <see cref="Fail"/> set.</summary>
    public void Dispose() => End();

    /// <inheritdoc />
    public override string ToString() => $"AgentSpendRun {{ Id = {Id}, Name = {Name} }}";

    private CheckRequest WithRun(CheckRequest? request)
    {
        var r = request?.Clone() ?? new CheckRequest();
        r.RunId ??= Id;
        r.AgentName ??= fields.AgentName;
        r.UserId ??= fields.UserId;
        r.Team ??= fields.Team;
        return r;
    }
}
