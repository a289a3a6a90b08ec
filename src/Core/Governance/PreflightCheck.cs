using System.Collections.Concurrent;
using AgentSpend.Core.Workspaces;

namespace AgentSpend.Core.Governance;

/// <summary>What a caller is about to do: who, on which model, and what it expects to spend.</summary>
public sealed record CheckRequest(string Agent, string? User, string? Team, string? Model, decimal? EstimatedCostUsd, long? EstimatedTokens);

/// <summary>A block budget as a check reports it.</summary>
public sealed record CheckedBudget(string Id, string? Name, string Scope, string? ScopeValue, string Metric, string Period, decimal Limit, decimal Used, decimal Remaining, string? PeriodEnd);

/// <summary>The answer: allowed with what each block budget has left, or refused with the reason.</summary>
public sealed record CheckOutcome(bool Allowed, string? Reason, CheckedBudget? Budget, string? ResumeAt, IReadOnlyDictionary<string, decimal>? Remaining)
{
    public const string BudgetExceeded = "budget_exceeded";
    public const string Killed = "killed";
}

/// <summary>
/// The pre-flight check: a kill switch refuses at once; otherwise every <c>block</c> budget that applies to the
/// call (the workspace's, and those of its team, user, agent and model) must have room for the estimate
/// (cost or tokens; one call for a calls budget). Budgets and their usage are read at most once a second per
/// workspace, so checks are answered from memory.
/// </summary>
public sealed class PreflightCheck(BudgetStore budgets, BudgetUsage usage, AgentControls controls, TimeProvider clock)
{
    public static readonly TimeSpan Freshness = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, Lazy<Task<(DateTimeOffset ReadAt, (Budget Budget, BudgetStanding Standing)[] Budgets)>>> _standings = new(StringComparer.Ordinal);

    public async Task<CheckOutcome> CheckAsync(Workspace workspace, CheckRequest request, CancellationToken cancellationToken)
    {
        if (await controls.FindAsync(workspace.Id, request.Agent, cancellationToken).ConfigureAwait(false) is { } control)
        {
            return new CheckOutcome(false, CheckOutcome.Killed, null, null, null);
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
                BudgetMetric.CostUsd => request.EstimatedCostUsd ?? 0m,
                BudgetMetric.Tokens => request.EstimatedTokens ?? 0,
                _ => 1m,
            };
            var left = budget.Limit - standing.Used;
            if (standing.Used >= budget.Limit || standing.Used + estimate > budget.Limit)
            {
                var shown = new CheckedBudget(budget.Id, budget.Name, BudgetNames.Name(BudgetNames.Scopes, budget.Scope), budget.ScopeValue,
                    BudgetNames.Name(BudgetNames.Metrics, budget.Metric), BudgetNames.Name(BudgetNames.Periods, budget.Period), budget.Limit, standing.Used, Math.Max(0, left), standing.PeriodEnd);
                return new CheckOutcome(false, CheckOutcome.BudgetExceeded, shown, standing.PeriodEnd, null);
            }

            remaining[budget.Id] = left;
        }

        return new CheckOutcome(true, null, null, null, remaining);
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
        while (true)
        {
            // One read per workspace at a time, shared by every waiting check and never cancelled by one of them.
            var entry = _standings.GetOrAdd(workspace.Id, _ => new Lazy<Task<(DateTimeOffset, (Budget, BudgetStanding)[])>>(() => ReadAsync(workspace, CancellationToken.None)));
            (DateTimeOffset ReadAt, (Budget, BudgetStanding)[] Standings) read;
            try
            {
                read = await entry.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (entry.Value.IsFaulted)
            {
                _standings.TryRemove(KeyValuePair.Create(workspace.Id, entry));
                throw;
            }

            var (readAt, standings) = read;
            if (clock.GetUtcNow() - readAt < Freshness)
            {
                return standings;
            }

            // Stale: the first caller to notice replaces it; everyone then waits for the one new read.
            _standings.TryUpdate(workspace.Id, new Lazy<Task<(DateTimeOffset, (Budget, BudgetStanding)[])>>(() => ReadAsync(workspace, CancellationToken.None)), entry);
        }
    }

    private async Task<(DateTimeOffset, (Budget, BudgetStanding)[])> ReadAsync(Workspace workspace, CancellationToken cancellationToken)
    {
        var readAt = clock.GetUtcNow();
        var block = (await budgets.ListAsync(workspace.Id, cancellationToken).ConfigureAwait(false)).Where(b => b.Action == BudgetAction.Block).ToArray();
        var standings = await Task.WhenAll(block.Select(b => usage.MeasureAsync(workspace, b, cancellationToken))).ConfigureAwait(false);
        return (readAt, [.. block.Zip(standings)]);
    }

    /// <summary>Forgets what it read of a workspace's budgets, after one of them changed here.</summary>
    public void Forget(string workspaceId) => _standings.TryRemove(workspaceId, out _);
}
