using System.Collections.Concurrent;
using System.Globalization;
using AgentSpend.Core.Aggregation;
using AgentSpend.Core.Alerts;
using AgentSpend.Core.Configuration;
using AgentSpend.Core.Domain;
using AgentSpend.Core.Metrics;
using AgentSpend.Core.Workspaces;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentSpend.Core.Governance;

/// <summary>
/// What the aggregator does with usage once it is counted: flags usage that arrives while a stop is in force,
/// raises each budget threshold once per period, pauses the scope of a <c>block</c> budget that crossed its limit,
/// and alerts on a model seen without a price and on a spend spike.
/// <para>
/// Every raise goes through <see cref="AlertStore.RaiseAsync"/>, which writes a marker per alert key: however many
/// aggregators evaluate the same crossing, one alert is raised. A pause is put before its limit alert is raised and
/// only while that alert is not, so a crash between the two pauses again, and a manual resume is not undone.
/// </para>
/// </summary>
public sealed partial class BudgetEnforcer(
    BudgetStore budgets, BudgetUsage usage, AgentControls controls, AlertStore alerts, MetricsService metrics,
    IOptions<AgentSpendOptions> options, TimeProvider clock, ILogger<BudgetEnforcer> logger)
{
    public const int LimitThreshold = 100;
    private const int HoursInTrailingWeek = 7 * 24;
    private const int MaxRemembered = 100_000;

    /// <summary>Alert keys this instance knows are raised: spares the marker write for crossings already alerted.</summary>
    private readonly ConcurrentDictionary<string, byte> _raised = new(StringComparer.Ordinal);

    /// <summary>The events as they are to be counted: those that arrive while a kill switch or a pause covers them carry which.</summary>
    public async ValueTask<IReadOnlyList<UsageEvent>> FlagHeldAsync(string workspaceId, IReadOnlyList<UsageEvent> events, CancellationToken cancellationToken)
    {
        var stops = await controls.AllAsync(workspaceId, cancellationToken).ConfigureAwait(false);
        if (stops.Count == 0)
        {
            return events;
        }

        var flagged = new UsageEvent[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            var stop = await controls.FindStopAsync(workspaceId, e.Agent, e.UserId, e.Team, e.KeyId, e.Model, cancellationToken).ConfigureAwait(false);
            flagged[i] = stop is null ? e : e with { Held = stop.State.ToWire() };
        }

        return flagged;
    }

    /// <summary>Evaluates a workspace after <paramref name="counted"/> were counted (or found counted before).</summary>
    public async Task EvaluateAsync(Workspace workspace, IReadOnlyList<UsageEvent> counted, CancellationToken cancellationToken)
    {
        await EvaluateBudgetsAsync(workspace, cancellationToken).ConfigureAwait(false);
        await AlertUnpricedModelsAsync(workspace, counted, cancellationToken).ConfigureAwait(false);
        await AlertSpikeAsync(workspace, counted, cancellationToken).ConfigureAwait(false);
        if (_raised.Count > MaxRemembered)
        {
            _raised.Clear();
        }
    }

    private async Task EvaluateBudgetsAsync(Workspace workspace, CancellationToken cancellationToken)
    {
        var list = await budgets.ListAsync(workspace.Id, cancellationToken).ConfigureAwait(false);
        if (list.Count == 0)
        {
            return;
        }

        var standings = await usage.MeasureAllAsync(workspace, list, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < list.Count; i++)
        {
            var (budget, standing) = (list[i], standings[i]);
            var thresholds = budget.Action == BudgetAction.Block ? budget.Thresholds.Append(LimitThreshold).Distinct() : budget.Thresholds;
            foreach (var threshold in thresholds.Where(t => standing.Used * 100m >= t * budget.Limit).Order())
            {
                // A budget changed (or reset) within its period counts its thresholds afresh.
                var key = string.Join('|', "budget", budget.Id, budget.UpdatedAt.UtcTicks.ToString(CultureInfo.InvariantCulture), BudgetUsage.PeriodKey(standing), threshold.ToString(CultureInfo.InvariantCulture));
                if (Remembered(workspace, key))
                {
                    continue;
                }

                var pauses = budget.Action == BudgetAction.Block && threshold >= LimitThreshold;
                if (pauses && !await alerts.IsRaisedAsync(workspace.Id, key, cancellationToken).ConfigureAwait(false))
                {
                    var until = budget.Period == BudgetPeriod.Total ? null : (DateTimeOffset?)DateTimeOffset.Parse(standing.PeriodEnd!, CultureInfo.InvariantCulture);
                    if (await controls.PauseAsync(workspace.Id, BudgetNames.Name(BudgetNames.Scopes, budget.Scope), budget.ScopeValue, budget.Id, until, cancellationToken).ConfigureAwait(false))
                    {
                        LogPaused(logger, BudgetNames.Name(BudgetNames.Scopes, budget.Scope), budget.ScopeValue, budget.Id, workspace.Id);
                    }
                }

                await RaiseOnceAsync(ThresholdAlert(workspace, budget, standing, threshold, key), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private Alert ThresholdAlert(Workspace workspace, Budget budget, BudgetStanding standing, int threshold, string key)
    {
        var (scope, metric, period) = (BudgetNames.Name(BudgetNames.Scopes, budget.Scope), BudgetNames.Name(BudgetNames.Metrics, budget.Metric), BudgetNames.Name(BudgetNames.Periods, budget.Period));
        var name = budget.Name ?? budget.Id;
        var whose = budget.ScopeValue is null ? scope : $"{scope} {budget.ScopeValue}";
        var what = threshold >= LimitThreshold
            ? budget.Action == BudgetAction.Block ? "reached its limit; calls are refused and the scope is paused" : "reached its limit"
            : $"crossed {threshold}% of its limit";
        return NewAlert(workspace, Alert.BudgetThreshold, key, string.Create(CultureInfo.InvariantCulture, $"Budget '{name}' ({whose}, {period} {metric}) {what}: {standing.Used} of {budget.Limit} ({standing.UsedPct}%).")) with
        {
            Budget = new BudgetAlertDetails(budget.Id, budget.Name, scope, budget.ScopeValue, metric, period, BudgetNames.Name(BudgetNames.Actions, budget.Action),
                budget.Limit, standing.Used, standing.UsedPct, threshold, standing.PeriodStart, standing.PeriodEnd),
        };
    }

    private async Task AlertUnpricedModelsAsync(Workspace workspace, IReadOnlyList<UsageEvent> counted, CancellationToken cancellationToken)
    {
        foreach (var model in counted.Where(e => e.CostNanos is null).Select(e => e.Model).Distinct(StringComparer.Ordinal))
        {
            var message = $"Model '{model}' was used for the first time and has no price: its calls count tokens but no cost until a price override is set.";
            await RaiseOnceAsync(NewAlert(workspace, Alert.UnpricedModel, "unpriced|" + model, message) with { Model = model }, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The current UTC hour's cost against the mean hour of the 7 days before it.</summary>
    private async Task AlertSpikeAsync(Workspace workspace, IReadOnlyList<UsageEvent> counted, CancellationToken cancellationToken)
    {
        var factor = options.Value.SpikeFactor;
        var now = clock.GetUtcNow();
        var hour = DailyBucket.HourKey(now);
        if (factor <= 0 || !counted.Any(e => e.CostNanos > 0 && DailyBucket.HourKey(e.Timestamp) == hour))
        {
            return;
        }

        var key = "spike|" + hour;
        if (Remembered(workspace, key))
        {
            return;
        }

        var from = DailyBucket.HourKey(now.AddHours(-HoursInTrailingWeek));
        var days = await metrics.LoadAsync(workspace, new MetricsRange(workspace.LocalDayOf(now.AddHours(-HoursInTrailingWeek - 1)), workspace.LocalDayOf(now)), MetricsFilter.None, cancellationToken).ConfigureAwait(false);
        var hours = DayUsage.SumHours(days);
        var current = Money.ToUsd(hours.GetValueOrDefault(hour)?.CostNanos ?? 0);
        var trailing = Money.ToUsd(hours.Where(h => string.CompareOrdinal(h.Key, from) >= 0 && string.CompareOrdinal(h.Key, hour) < 0).Sum(h => h.Value.CostNanos));
        var mean = trailing / HoursInTrailingWeek;
        if (mean <= 0 || current <= factor * mean)
        {
            return;
        }

        var hourStart = DateTimeOffset.ParseExact(hour, "yyyy-MM-dd'T'HH", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        var message = string.Create(CultureInfo.InvariantCulture, $"Spend spike: {current} USD so far in the hour from {hourStart:yyyy-MM-dd HH:mm} UTC, above {factor}x the trailing 7-day hourly mean of {Math.Round(mean, 6)} USD.");
        await RaiseOnceAsync(NewAlert(workspace, Alert.SpendSpike, key, message) with
        {
            Spike = new SpikeAlertDetails(hourStart.ToString("O", CultureInfo.InvariantCulture), current, Math.Round(mean, 9), factor),
        }, cancellationToken).ConfigureAwait(false);
    }

    private Alert NewAlert(Workspace workspace, string kind, string key, string message)
    {
        var now = clock.GetUtcNow();
        return new Alert { Id = AlertStore.NewId(now), WorkspaceId = workspace.Id, Kind = kind, Key = key, RaisedAt = now, Message = message };
    }

    private bool Remembered(Workspace workspace, string key) => _raised.ContainsKey(workspace.Id + "|" + key);

    /// <summary>Raises the alert (a no-op when another evaluator raised its key first) and remembers its key here.</summary>
    private async Task RaiseOnceAsync(Alert alert, CancellationToken cancellationToken)
    {
        await alerts.RaiseAsync(alert, cancellationToken).ConfigureAwait(false);
        _raised.TryAdd(alert.WorkspaceId + "|" + alert.Key, 0);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Paused {Scope} {ScopeValue}: block budget {BudgetId} of workspace {WorkspaceId} reached its limit")]
    private static partial void LogPaused(ILogger logger, string scope, string? scopeValue, string budgetId, string workspaceId);
}
