using AgentSpend.Core.Workspaces;

namespace AgentSpend.Core.Governance;

/// <summary>What a caller is about to do: who, on which model, and what it expects to spend.</summary>
public sealed record CheckRequest(string Agent, string? User, string? Team, string? Model, decimal? EstimatedCostUsd, long? EstimatedTokens, string? Tool = null)
{
    /// <summary>The API key the check came with: key budgets and key pauses apply to it.</summary>
    public string? KeyId { get; init; }

    /// <summary>Hold the estimate against the block budgets until the matching usage arrives (<see cref="RunId"/>, <see cref="IdempotencyKey"/>) or <see cref="ReservationTtl"/> passes.</summary>
    public bool Reserve { get; init; }

    public string? RunId { get; init; }

    public string? IdempotencyKey { get; init; }

    public TimeSpan? ReservationTtl { get; init; }
}

/// <summary>The estimate an allowed check holds, and until when.</summary>
public sealed record ReservationHeld(string Id, string ExpiresAt, IReadOnlyList<string> BudgetIds);

/// <summary>A block budget as a check reports it.</summary>
public sealed record CheckedBudget(string Id, string? Name, string Scope, string? ScopeValue, string Metric, string Period, decimal Limit, decimal Used, decimal Remaining, string? PeriodEnd);

/// <summary>The answer: allowed with what each block budget has left, or refused with the reason.</summary>
public sealed record CheckOutcome(bool Allowed, string? Reason, CheckedBudget? Budget, string? ResumeAt, IReadOnlyDictionary<string, decimal>? Remaining)
{
    /// <summary>The cost the check was measured with: the registered tool's cost per call, or the caller's estimate.</summary>
    public decimal? CostUsd { get; init; }

    public ReservationHeld? Reservation { get; init; }

    public const string BudgetExceeded = "budget_exceeded";
    public const string Killed = "killed";
    public const string AgentPaused = "agent_paused";
}

/// <summary>
/// The pre-flight check: a kill switch refuses at once, then a pause a block budget put on the caller's agent,
/// user, team, key or model; otherwise every <c>block</c> budget that applies to the call (the workspace's, and
/// those of its team, user, agent, key and model) must have room for the estimate (cost or tokens; one call for a
/// calls budget) beside its usage and the estimates reserved against it. Budgets, their usage and their holds are
/// re-read once a second per workspace, in the background, so checks are answered from memory (at most
/// <see cref="MaxStaleness"/> old). A reserving check goes on to hold its estimate in storage (see
/// <see cref="BudgetReservations"/>), which is what bounds overshoot across concurrent callers and instances.
/// </summary>
public sealed class PreflightCheck(BudgetStore budgets, BudgetUsage usage, AgentControls controls, ToolRegistry tools, BudgetReservations reservations, Observability.AgentSpendMetrics metrics, TimeProvider clock)
{
    public static readonly TimeSpan Freshness = TimeSpan.FromSeconds(1);

    /// <summary>While a re-read is under way, checks go on with what was read before, up to this age.</summary>
    public static readonly TimeSpan MaxStaleness = TimeSpan.FromSeconds(3);

    private readonly RefreshingCache<(Budget Budget, BudgetStanding Standing, decimal Held)[]> _snapshots = new(Freshness, MaxStaleness, clock);

    /// <summary>Per workspace, the last standings measured and what they depended on: re-used while nothing they depend on changed.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (string Fingerprint, BudgetStanding[] Standings)> _measured = new(StringComparer.Ordinal);

    public async Task<CheckOutcome> CheckAsync(Workspace workspace, CheckRequest request, CancellationToken cancellationToken)
    {
        var started = clock.GetTimestamp();
        var outcome = await DecideAsync(workspace, request, cancellationToken).ConfigureAwait(false);
        metrics.CheckCompleted(clock.GetElapsedTime(started), outcome.Allowed);
        return outcome;
    }

    private async Task<CheckOutcome> DecideAsync(Workspace workspace, CheckRequest request, CancellationToken cancellationToken)
    {
        if (await controls.FindStopAsync(workspace.Id, request.Agent, request.User, request.Team, request.KeyId, request.Model, cancellationToken).ConfigureAwait(false) is { } stop)
        {
            if (stop.State == ControlState.Killed)
            {
                return new CheckOutcome(false, CheckOutcome.Killed, null, null, null);
            }

            var pausedBy = (await BlockBudgetsAsync(workspace, cancellationToken).ConfigureAwait(false)).FirstOrDefault(b => b.Budget.Id == stop.BudgetId);
            return new CheckOutcome(false, CheckOutcome.AgentPaused, pausedBy.Budget is null ? null : Shown(pausedBy.Budget, pausedBy.Standing, pausedBy.Standing.Used + pausedBy.Held),
                stop.Until?.ToString("O", System.Globalization.CultureInfo.InvariantCulture), null);
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
        var snapshot = await SnapshotAsync(workspace, cancellationToken).ConfigureAwait(false);
        var holds = new List<HoldRequest>();
        foreach (var (budget, standing, held) in snapshot.Budgets)
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
            var used = standing.Used + held;
            if (used >= budget.Limit || used + estimate > budget.Limit)
            {
                return new CheckOutcome(false, CheckOutcome.BudgetExceeded, Shown(budget, standing, used), ResumeAt(budget, standing), null) { CostUsd = cost };
            }

            remaining[budget.Id] = budget.Limit - used;
            if (estimate > 0)
            {
                holds.Add(new HoldRequest(budget, HoldPeriod(budget, standing), standing.Used, estimate));
            }
        }

        if (!request.Reserve)
        {
            return new CheckOutcome(true, null, null, null, remaining) { CostUsd = cost };
        }

        var reservation = new Reservation(BudgetReservations.NewId(), [.. holds.Select(h => h.Budget.Id)],
            clock.GetUtcNow() + (request.ReservationTtl ?? BudgetReservations.DefaultTtl), request.RunId, request.IdempotencyKey);
        if (await reservations.HoldAsync(workspace.Id, reservation, holds, snapshot.ReadAt, cancellationToken).ConfigureAwait(false) is { } refused)
        {
            var standing = snapshot.Budgets.First(b => b.Budget.Id == refused.Budget.Id).Standing;
            return new CheckOutcome(false, CheckOutcome.BudgetExceeded, Shown(refused.Budget, standing, refused.UsedAndHeld), ResumeAt(refused.Budget, standing), null) { CostUsd = cost };
        }

        foreach (var hold in holds)
        {
            remaining[hold.Budget.Id] -= hold.Amount;
        }

        return new CheckOutcome(true, null, null, null, remaining)
        {
            CostUsd = cost,
            Reservation = new ReservationHeld(reservation.Id, reservation.ExpiresAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture), reservation.BudgetIds),
        };
    }

    /// <summary>When a refused call may try again: when the period rolls over; for a rolling window, when its oldest hour drops out.</summary>
    private static string? ResumeAt(Budget budget, BudgetStanding standing) =>
        budget.Period == BudgetPeriod.Rolling5h && standing.PeriodStart is { } start
            ? DateTimeOffset.Parse(start, System.Globalization.CultureInfo.InvariantCulture).AddHours(1).ToString("O", System.Globalization.CultureInfo.InvariantCulture)
            : standing.PeriodEnd;

    /// <summary>The period a hold counts in: the budget's current period; one for a rolling window, which has no fixed periods.</summary>
    public static string HoldPeriod(Budget budget, BudgetStanding standing) =>
        budget.Period == BudgetPeriod.Rolling5h ? "rolling_5h" : BudgetUsage.PeriodKey(standing);

    private static CheckedBudget Shown(Budget budget, BudgetStanding standing, decimal used) =>
        new(budget.Id, budget.Name, BudgetNames.Name(BudgetNames.Scopes, budget.Scope), budget.ScopeValue,
            BudgetNames.Name(BudgetNames.Metrics, budget.Metric), BudgetNames.Name(BudgetNames.Periods, budget.Period), budget.Limit, used, Math.Max(0, budget.Limit - used), standing.PeriodEnd);

    public static bool Applies(Budget budget, CheckRequest request) => budget.Scope switch
    {
        BudgetScope.Workspace => true,
        BudgetScope.Team => budget.ScopeValue == request.Team,
        BudgetScope.User => budget.ScopeValue == request.User,
        BudgetScope.Agent => budget.ScopeValue == request.Agent,
        BudgetScope.Key => budget.ScopeValue == request.KeyId,
        _ => budget.ScopeValue == request.Model,
    };

    private async Task<(Budget Budget, BudgetStanding Standing, decimal Held)[]> BlockBudgetsAsync(Workspace workspace, CancellationToken cancellationToken) =>
        (await SnapshotAsync(workspace, cancellationToken).ConfigureAwait(false)).Budgets;

    private async ValueTask<Snapshot> SnapshotAsync(Workspace workspace, CancellationToken cancellationToken)
    {
        var entry = await _snapshots.GetAsync(workspace.Id, (_, _) => ReadAsync(workspace), cancellationToken).ConfigureAwait(false);
        return new Snapshot(entry.ReadAt, entry.Value);
    }

    /// <summary>The workspace's block budgets, their usage, and what is held against them.</summary>
    private async Task<(Budget Budget, BudgetStanding Standing, decimal Held)[]> ReadAsync(Workspace workspace)
    {
        var readAt = clock.GetUtcNow();
        var block = (await budgets.ListAsync(workspace.Id, CancellationToken.None).ConfigureAwait(false)).Where(b => b.Action == BudgetAction.Block).ToArray();
        // Measuring every budget each second costs CPU that checks need; when no day the budgets cover has changed
        // (and the hour and day are the same), the standings are what they were.
        var fingerprint = await usage.FingerprintAsync(workspace, block, CancellationToken.None).ConfigureAwait(false);
        BudgetStanding[] standings;
        if (fingerprint is not null && _measured.TryGetValue(workspace.Id, out var last) && last.Fingerprint == fingerprint)
        {
            standings = last.Standings;
        }
        else
        {
            standings = await usage.MeasureAllAsync(workspace, block, CancellationToken.None).ConfigureAwait(false);
            if (fingerprint is not null)
            {
                _measured[workspace.Id] = (fingerprint, standings);
            }
        }

        var held = block.Length == 0
            ? []
            : await reservations.HeldAsync(workspace.Id, [.. block.Zip(standings, (b, s) => (b, HoldPeriod(b, s)))], readAt, CancellationToken.None).ConfigureAwait(false);
        return [.. block.Zip(standings, (b, s) => (b, s, held.GetValueOrDefault(b.Id)))];
    }

    private sealed record Snapshot(DateTimeOffset ReadAt, (Budget Budget, BudgetStanding Standing, decimal Held)[] Budgets);

    /// <summary>Forgets what it read of a workspace's budgets, after one of them changed here.</summary>
    public void Forget(string workspaceId) => _snapshots.Forget(workspaceId);

    /// <summary>After a budget was reset, replaced or deleted: the pauses it put are lifted, and what was read of it forgotten.</summary>
    public async Task BudgetChangedAsync(string workspaceId, string budgetId, CancellationToken cancellationToken)
    {
        await controls.LiftPausesAsync(workspaceId, budgetId, cancellationToken).ConfigureAwait(false);
        Forget(workspaceId);
    }
}

/// <summary>A check named a tool the workspace has not registered.</summary>
public sealed class UnknownToolException(string tool) : Exception($"No tool '{tool}' is registered in this workspace.")
{
    public string Tool { get; } = tool;
}
