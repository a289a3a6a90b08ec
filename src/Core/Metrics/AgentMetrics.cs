using System.Globalization;
using AgentSpend.Core.Configuration;
using AgentSpend.Core.Domain;
using AgentSpend.Core.Workspaces;
using Microsoft.Extensions.Options;

namespace AgentSpend.Core.Metrics;

/// <summary>Cost and tokens of one period.</summary>
public sealed record PeriodSpend(decimal CostUsd, long Tokens, long Events)
{
    public static PeriodSpend Of(UsageCounters? c) => c is null ? new(0m, 0, 0) : new(Money.ToUsd(c.CostNanos), Concentration.TokensOf(c), c.Events);
}

/// <summary>Where an agent stands: killed or paused (a stop in force), else active or idle by its last event. Written as its lower-case name.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<AgentStatus>))]
public enum AgentStatus
{
    [System.Text.Json.Serialization.JsonStringEnumMemberName("active")]
    Active,

    [System.Text.Json.Serialization.JsonStringEnumMemberName("idle")]
    Idle,

    [System.Text.Json.Serialization.JsonStringEnumMemberName("killed")]
    Killed,

    [System.Text.Json.Serialization.JsonStringEnumMemberName("paused")]
    Paused,
}

/// <summary>One agent as the agents list shows it.</summary>
public sealed record AgentSummary(
    string Name,
    AgentStatus Status,
    string? LastActive,
    string? PrimaryModel,
    PeriodSpend Today,
    PeriodSpend Week,
    PeriodSpend Month,
    PeriodSpend AllTime)
{
    /// <summary>Share of the agent's tightest budget used; null until budgets exist for it.</summary>
    public decimal? BudgetUsedPct { get; init; }
}

/// <summary>The periods the agents list sums, all workspace-local; all time starts at the oldest day buckets are kept for.</summary>
public sealed record AgentPeriods(string AsOf, string Today, string WeekStart, string MonthStart, string AllTimeFrom, string PrimaryModelFrom);

public sealed record AgentList(AgentPeriods Periods, IReadOnlyList<AgentSummary> Agents);

/// <summary>One agent in detail: its summary, its model mix over the range, and its last seven local days.</summary>
public sealed record AgentDetail(AgentSummary Agent, string Range, string From, string To, IReadOnlyList<BreakdownItem> Models, IReadOnlyList<TimeseriesPoint> History);

/// <summary>
/// Agents with their spend today, this week (from Monday), this month and all time, from the daily buckets.
/// An agent is <c>killed</c> while a kill switch stops it; else <c>active</c> while its last event is younger than
/// <c>AGENTSPEND_RUN_IDLE_MINUTES</c>, else <c>idle</c>.
/// Its primary model is the one it spent most on in the last seven local days.
/// </summary>
public sealed class AgentMetrics(
    MetricsService metrics, Governance.BudgetStore budgets, Governance.BudgetUsage budgetUsage, Governance.AgentControls controls, IOptions<AgentSpendOptions> options, TimeProvider clock)
{
    public const int PrimaryModelDays = 7;

    /// <summary>Every agent with usage in the days kept; with a filter, each agent's usage that passes it (and only agents with some).</summary>
    public async Task<AgentList> ListAsync(Workspace workspace, MetricsFilter filter, CancellationToken cancellationToken) =>
        await SummariseAsync(workspace, null, filter, cancellationToken).ConfigureAwait(false);

    /// <summary>Null when the agent has no event (that passes the filters) in all the days kept.</summary>
    public async Task<AgentDetail?> DetailAsync(Workspace workspace, string name, MetricsRange range, MetricsFilter filters, CancellationToken cancellationToken)
    {
        var list = await SummariseAsync(workspace, name, filters, cancellationToken).ConfigureAwait(false);
        if (list.Agents.Count == 0)
        {
            return null;
        }

        var filter = filters.With(Dimension.Agent, name);
        var today = workspace.Today(clock);
        var models = metrics.BreakdownAsync(workspace, range, Grouping.Of(Dimension.Model), filter, cancellationToken);
        var history = metrics.TimeseriesAsync(workspace, new MetricsRange(today.AddDays(-6), today) { Name = "7d" }, Granularity.Day, filter, cancellationToken);
        await Task.WhenAll(models, history).ConfigureAwait(false);
        return new AgentDetail(
            list.Agents[0], range.Name, Workspace.FormatDay(range.From), Workspace.FormatDay(range.To),
            (await models.ConfigureAwait(false)).Items, (await history.ConfigureAwait(false)).Points);
    }

    /// <summary>Per agent with agent budgets: the highest share used of any of them (its tightest budget).</summary>
    private async Task<Dictionary<string, decimal>> AgentBudgetsAsync(Workspace workspace, string? only, CancellationToken cancellationToken)
    {
        var agentBudgets = (await budgets.ListAsync(workspace.Id, cancellationToken).ConfigureAwait(false))
            .Where(b => b.Scope == Governance.BudgetScope.Agent && (only is null || b.ScopeValue == only))
            .ToArray();
        var standings = await budgetUsage.MeasureAllAsync(workspace, agentBudgets, cancellationToken).ConfigureAwait(false);
        return agentBudgets.Zip(standings)
            .GroupBy(x => x.First.ScopeValue!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Max(x => x.Second.UsedPct), StringComparer.Ordinal);
    }

    private async Task<AgentList> SummariseAsync(Workspace workspace, string? only, MetricsFilter filter, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var today = workspace.LocalDayOf(now);
        var weekStart = today.AddDays(-(((int)today.DayOfWeek + 6) % 7));
        var monthStart = new DateOnly(today.Year, today.Month, 1);
        var first = today.AddDays(-(options.Value.AggregateRetentionDays - 1));
        var modelsFrom = today.AddDays(-(PrimaryModelDays - 1));
        var agentFilter = only is null ? filter : filter.With(Dimension.Agent, only);

        var allDays = metrics.LoadAsync(workspace, new MetricsRange(first, today), filter, cancellationToken);
        var budgetUse = AgentBudgetsAsync(workspace, only, cancellationToken);
        var recent = metrics.LoadAsync(workspace, new MetricsRange(modelsFrom, today), agentFilter, cancellationToken, needSlices: true);
        await Task.WhenAll(allDays, recent).ConfigureAwait(false);

        var agent = Grouping.Of(Dimension.Agent);
        var days = await allDays.ConfigureAwait(false);
        Dictionary<string, UsageCounters> Sum(Func<DateOnly, bool> inPeriod) => DayUsage.SumValues(days.Where(d => inPeriod(d.Day)), agent);
        var allTime = Sum(_ => true);
        var (todays, weeks, months) = (Sum(d => d == today), Sum(d => d >= weekStart), Sum(d => d >= monthStart));

        // Primary model: per agent, the model with the largest cost (then events, then name) over the recent days' slices.
        var byAgentModel = new Dictionary<string, Dictionary<string, UsageCounters>>(StringComparer.Ordinal);
        foreach (var day in await recent.ConfigureAwait(false))
        {
            foreach (var (slice, counters) in day.Slices())
            {
                var (agentName, model) = (slice.ValueOf(Dimension.Agent), slice.ValueOf(Dimension.Model));
                if (!byAgentModel.TryGetValue(agentName, out var models))
                {
                    byAgentModel[agentName] = models = new Dictionary<string, UsageCounters>(StringComparer.Ordinal);
                }

                DayUsage.Counters(models, model).Add(counters);
            }
        }

        var used = await budgetUse.ConfigureAwait(false);
        var switches = await controls.AllAsync(workspace.Id, cancellationToken).ConfigureAwait(false);
        var kills = switches.Values.Where(c => c.State == Governance.ControlState.Killed).ToArray();
        var allKilled = kills.Any(c => c.Agent is null);
        var killed = kills.Where(c => c.Agent is not null).Select(c => c.Agent!).ToHashSet(StringComparer.Ordinal);
        var paused = switches.Values.Where(c => c.State == Governance.ControlState.Paused && c.Scope == "agent" && (c.Until is null || c.Until > now))
            .Select(c => c.ScopeValue!).ToHashSet(StringComparer.Ordinal);
        var idleAfter = TimeSpan.FromMinutes(options.Value.RunIdleMinutes);
        var agents = allTime
            .Where(kv => kv.Value.Events > 0 && (only is null || string.Equals(kv.Key, only, StringComparison.Ordinal)))
            .Select(kv =>
            {
                var last = kv.Value.LastEventAtMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(kv.Value.LastEventAtMs) : (DateTimeOffset?)null;
                var primary = byAgentModel.GetValueOrDefault(kv.Key)?
                    .OrderByDescending(m => m.Value.CostNanos).ThenByDescending(m => m.Value.Events).ThenBy(m => m.Key, StringComparer.Ordinal)
                    .Select(m => m.Key).FirstOrDefault();
                return new AgentSummary(
                    kv.Key,
                    allKilled || killed.Contains(kv.Key) ? AgentStatus.Killed : paused.Contains(kv.Key) ? AgentStatus.Paused : last is { } at && now - at < idleAfter ? AgentStatus.Active : AgentStatus.Idle,
                    last?.ToString("O", CultureInfo.InvariantCulture),
                    primary,
                    PeriodSpend.Of(todays.GetValueOrDefault(kv.Key)),
                    PeriodSpend.Of(weeks.GetValueOrDefault(kv.Key)),
                    PeriodSpend.Of(months.GetValueOrDefault(kv.Key)),
                    PeriodSpend.Of(kv.Value))
                {
                    BudgetUsedPct = used.TryGetValue(kv.Key, out var pct) ? pct : null,
                };
            })
            .OrderByDescending(a => a.Month.CostUsd).ThenByDescending(a => a.AllTime.CostUsd).ThenBy(a => a.Name, StringComparer.Ordinal)
            .ToArray();
        return new AgentList(
            new AgentPeriods(now.ToString("O", CultureInfo.InvariantCulture), Workspace.FormatDay(today), Workspace.FormatDay(weekStart), Workspace.FormatDay(monthStart),
                Workspace.FormatDay(first), Workspace.FormatDay(modelsFrom)),
            agents);
    }
}
