using System.Collections.Concurrent;
using AgentSpend.Core.Workspaces;

namespace AgentSpend.Core.Governance;

/// <summary>What a caller is about to do: who, on which model, and what it expects to spend.</summary>
public sealed record CheckRequest(string Agent, string? User, string? Team, string? Model, decimal? EstimatedCostUsd, long? EstimatedTokens, string? Tool = null);

/// <summary>A block budget as a check reports it.</summary>
public sealed record CheckedBudget(string Id, string? Name, string Scope, string? ScopeValue, string Metric, string Period, decimal Limit, decimal Used, decimal Remaining, string? PeriodEnd);

/// <summary>The answer: allowed with what each block budget has left, or refused with the reason.</summary>
public sealed record CheckOutcome(bool Allowed, string? Reason, CheckedBudget? Budget, string? ResumeAt, IReadOnlyDictionary<string, decimal>? Remaining)
{
    /// <summary>The cost the check was measured with: the registered tool's cost per call, or the caller's estimate.</summary>
    public decimal? CostUsd { get; init; }

    public const string BudgetExceeded = "budget_exceeded";
    public const string Killed = "killed";
}

/// <summary>
/// The pre-flight check: a kill switch refuses at once; otherwise every <c>block</c> budget that applies to the
/// call (the workspace's, and those of its team, user, agent and model) must have room for the estimate
/// (cost or tokens; one call for a calls budget). Budgets and their usage are re-read once a second per
/// workspace, in the background, so checks are answered from memory (at most <see cref="MaxStaleness"/> old).
/// </summary>
public sealed class PreflightCheck(BudgetStore budgets, BudgetUsage usage, AgentControls controls, ToolRegistry tools, TimeProvider clock)
{
    public static readonly TimeSpan Freshness = TimeSpan.FromSeconds(1);

    /// <summary>While a re-read is under way, checks go on with what was read before, up to this age.</summary>
    public static readonly TimeSpan MaxStaleness = TimeSpan.FromSeconds(3);

    private readonly ConcurrentDictionary<string, Snapshot> _snapshots = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<Snapshot>>> _reads = new(StringComparer.Ordinal);

    public async Task<CheckOutcome> CheckAsync(Workspace workspace, CheckRequest request, CancellationToken cancellationToken)
    {
        if (await controls.FindAsync(workspace.Id, request.Agent, cancellationToken).ConfigureAwait(false) is { } control)
        {
            return new CheckOutcome(false, CheckOutcome.Killed, null, null, null);
        }

        // A registered tool's cost is what the call costs, whatever the caller estimated: agents cannot lie.
        var cost = request.EstimatedCostUsd;
        if (request.Tool is { } toolName)
        {
            if (!(await tools.AllAsync(workspace.Id, cancellationToken).ConfigureAwait(false)).TryGetValue(toolName, out var tool))
            {
                throw new UnknownToolException(toolName);
            }

            cost = tool.CostPerCallUsd;
        }

        var remaining = new Dictionary<string, decimal>(StringComparer.Ordinal);
        foreach (var (budget, standing) in await BlockBudgetsAsync(workspace, cancellationToken).ConfigureAwait(false))
        {
            if (!Applies(budget, request))
            {
                continue;
            }

            var estimate = budget.Metric switch
            {
                BudgetMetric.CostUsd => cost ?? 0m,
                BudgetMetric.Tokens => request.EstimatedTokens ?? 0,
                _ => 1m,
            };
            var left = budget.Limit - standing.Used;
            if (standing.Used >= budget.Limit || standing.Used + estimate > budget.Limit)
            {
                var shown = new CheckedBudget(budget.Id, budget.Name, BudgetNames.Name(BudgetNames.Scopes, budget.Scope), budget.ScopeValue,
                    BudgetNames.Name(BudgetNames.Metrics, budget.Metric), BudgetNames.Name(BudgetNames.Periods, budget.Period), budget.Limit, standing.Used, Math.Max(0, left), standing.PeriodEnd);
                return new CheckOutcome(false, CheckOutcome.BudgetExceeded, shown, standing.PeriodEnd, null) { CostUsd = cost };
            }

            remaining[budget.Id] = left;
        }

        return new CheckOutcome(true, null, null, null, remaining) { CostUsd = cost };
    }

    private static bool Applies(Budget budget, CheckRequest request) => budget.Scope switch
    {
        BudgetScope.Workspace => true,
        BudgetScope.Team => budget.ScopeValue == request.Team,
        BudgetScope.User => budget.ScopeValue == request.User,
        BudgetScope.Agent => budget.ScopeValue == request.Agent,
        _ => budget.ScopeValue == request.Model,
    };

    private async Task<(Budget Budget, BudgetStanding Standing)[]> BlockBudgetsAsync(Workspace workspace, CancellationToken cancellationToken)
    {
        if (_snapshots.TryGetValue(workspace.Id, out var snapshot))
        {
            var age = clock.GetUtcNow() - snapshot.ReadAt;
            if (age < Freshness)
            {
                return snapshot.Budgets;
            }

            // Stale: one re-read starts; until it lands, checks go on with this snapshot rather than queue behind it.
            var read = ReadOnce(workspace);
            if (age < MaxStaleness)
            {
                return snapshot.Budgets;
            }

            return (await read.WaitAsync(cancellationToken).ConfigureAwait(false)).Budgets;
        }

        return (await ReadOnce(workspace).WaitAsync(cancellationToken).ConfigureAwait(false)).Budgets;
    }

    /// <summary>The workspace's one read in flight, started if there is none; never cancelled by one waiting check.</summary>
    private Task<Snapshot> ReadOnce(Workspace workspace)
    {
        var lazy = _reads.GetOrAdd(workspace.Id, id => new Lazy<Task<Snapshot>>(async () =>
        {
            try
            {
                var readAt = clock.GetUtcNow();
                var block = (await budgets.ListAsync(workspace.Id, CancellationToken.None).ConfigureAwait(false)).Where(b => b.Action == BudgetAction.Block).ToArray();
                var standings = await usage.MeasureAllAsync(workspace, block, CancellationToken.None).ConfigureAwait(false);
                var snapshot = new Snapshot(readAt, [.. block.Zip(standings)]);
                _snapshots[workspace.Id] = snapshot;
                return snapshot;
            }
            finally
            {
                _reads.TryRemove(id, out _);
            }
        }));
        return lazy.Value;
    }

    private sealed record Snapshot(DateTimeOffset ReadAt, (Budget Budget, BudgetStanding Standing)[] Budgets);

    /// <summary>Forgets what it read of a workspace's budgets, after one of them changed here.</summary>
    public void Forget(string workspaceId) => _snapshots.TryRemove(workspaceId, out _);
}

/// <summary>A check named a tool the workspace has not registered.</summary>
public sealed class UnknownToolException(string tool) : Exception($"No tool '{tool}' is registered in this workspace.")
{
    public string Tool { get; } = tool;
}
