using AgentSpend.Core.Audit;
using AgentSpend.Core.Governance;
using AgentSpend.Core.Ingest;
using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentSpend.Functions.Budgets;

/// <summary>A budget as the API writes and reads it.</summary>
public sealed record BudgetBody(string? Name, string? Scope, string? ScopeValue, string? Metric, string? Period, decimal? Limit, int[]? Thresholds, string? Action);

/// <summary>A budget with where it stands now.</summary>
public sealed record BudgetView(
    string Id, string? Name, string Scope, string? ScopeValue, string Metric, string Period, decimal Limit, IReadOnlyList<int> Thresholds, string Action,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, BudgetStanding Usage);

public sealed record BudgetList(IReadOnlyList<BudgetView> Items);

/// <summary>/api/v1/budgets: create, list, read, replace and delete budgets; every answer carries the budget's current usage.</summary>
public static class BudgetEndpoints
{
    /// <summary>Starts the budget afresh: what was used so far in the current period no longer counts, until the period rolls over.</summary>
    public static async Task<Results<Ok<BudgetView>, ProblemHttpResult>> ResetAsync(
        string id, Caller caller, BudgetStore budgets, BudgetUsage usage, PreflightCheck check, AuditLog audit, CancellationToken cancellationToken)
    {
        if (await budgets.GetAsync(caller.Workspace.Id, id, cancellationToken).ConfigureAwait(false) is not { } budget)
        {
            return NotFound(id);
        }

        // Measured without any earlier reset, so that the baseline is everything the period holds now.
        var standing = await usage.MeasureAsync(caller.Workspace, budget with { ResetBaseline = null }, cancellationToken).ConfigureAwait(false);
        if (await budgets.ResetAsync(caller.Workspace.Id, id, standing.Used, BudgetUsage.PeriodKey(standing), cancellationToken).ConfigureAwait(false) is not { } changed)
        {
            return NotFound(id);
        }

        await check.BudgetChangedAsync(caller.Workspace.Id, id, cancellationToken).ConfigureAwait(false);
        await audit.AppendAsync(caller.Workspace.Id, AuditActions.BudgetReset, id, caller.KeyId, caller.SourceIp, changed.Before, changed.After).ConfigureAwait(false);
        return TypedResults.Ok(await ViewAsync(caller, changed.After, usage, cancellationToken).ConfigureAwait(false));
    }

    public static async Task<Ok<BudgetList>> ListAsync(Caller caller, BudgetStore budgets, BudgetUsage usage, CancellationToken cancellationToken)
    {
        var all = await budgets.ListAsync(caller.Workspace.Id, cancellationToken).ConfigureAwait(false);
        var standings = await usage.MeasureAllAsync(caller.Workspace, all, cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(new BudgetList([.. all.Zip(standings, View)]));
    }

    public static async Task<Results<Ok<BudgetView>, ProblemHttpResult>> GetAsync(string id, Caller caller, BudgetStore budgets, BudgetUsage usage, CancellationToken cancellationToken) =>
        await budgets.GetAsync(caller.Workspace.Id, id, cancellationToken).ConfigureAwait(false) is { } budget
            ? TypedResults.Ok(await ViewAsync(caller, budget, usage, cancellationToken).ConfigureAwait(false))
            : NotFound(id);

    public static async Task<Results<Created<BudgetView>, ProblemHttpResult>> CreateAsync(
        HttpRequest request, Caller caller, BudgetStore budgets, BudgetUsage usage, PreflightCheck check, AuditLog audit, CancellationToken cancellationToken)
    {
        var (budget, problem) = await ReadAsync(request, caller, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        if (await budgets.CreateAsync(caller.Workspace.Id, budget!, cancellationToken).ConfigureAwait(false) is not { } stored)
        {
            return Problems.Conflict("budgets", $"A workspace holds at most {BudgetStore.MaxBudgetsPerWorkspace} budgets.");
        }

        check.Forget(caller.Workspace.Id);
        await audit.AppendAsync(caller.Workspace.Id, AuditActions.BudgetCreate, stored.Id, caller.KeyId, caller.SourceIp, null, stored).ConfigureAwait(false);
        return TypedResults.Created($"/api/v1/budgets/{stored.Id}", await ViewAsync(caller, stored, usage, cancellationToken).ConfigureAwait(false));
    }

    public static async Task<Results<Ok<BudgetView>, ProblemHttpResult>> ReplaceAsync(
        string id, HttpRequest request, Caller caller, BudgetStore budgets, BudgetUsage usage, PreflightCheck check, AuditLog audit, CancellationToken cancellationToken)
    {
        var (budget, problem) = await ReadAsync(request, caller, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        if (await budgets.ReplaceAsync(caller.Workspace.Id, id, budget!, cancellationToken).ConfigureAwait(false) is not { } changed)
        {
            return NotFound(id);
        }

        await check.BudgetChangedAsync(caller.Workspace.Id, id, cancellationToken).ConfigureAwait(false);
        await audit.AppendAsync(caller.Workspace.Id, AuditActions.BudgetUpdate, id, caller.KeyId, caller.SourceIp, changed.Before, changed.After).ConfigureAwait(false);
        return TypedResults.Ok(await ViewAsync(caller, changed.After, usage, cancellationToken).ConfigureAwait(false));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(string id, Caller caller, BudgetStore budgets, PreflightCheck check, AuditLog audit, CancellationToken cancellationToken)
    {
        if (await budgets.DeleteAsync(caller.Workspace.Id, id, cancellationToken).ConfigureAwait(false) is not { } deleted)
        {
            return NotFound(id);
        }

        await check.BudgetChangedAsync(caller.Workspace.Id, id, cancellationToken).ConfigureAwait(false);
        await audit.AppendAsync(caller.Workspace.Id, AuditActions.BudgetDelete, id, caller.KeyId, caller.SourceIp, deleted, null).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    private static ProblemHttpResult NotFound(string id) => Problems.NotFound("id", $"No budget '{id}' in this workspace.");

    private static async Task<BudgetView> ViewAsync(Caller caller, Budget b, BudgetUsage usage, CancellationToken cancellationToken) =>
        View(b, await usage.MeasureAsync(caller.Workspace, b, cancellationToken).ConfigureAwait(false));

    private static BudgetView View(Budget b, BudgetStanding standing) => new(
        b.Id, b.Name, BudgetNames.Name(BudgetNames.Scopes, b.Scope), b.ScopeValue, BudgetNames.Name(BudgetNames.Metrics, b.Metric),
        BudgetNames.Name(BudgetNames.Periods, b.Period), b.Limit, b.Thresholds, BudgetNames.Name(BudgetNames.Actions, b.Action), b.CreatedAt, b.UpdatedAt, standing);

    private static string Choices<T>(IReadOnlyDictionary<string, T> names) => Problems.Choices([.. names.Keys]);

    /// <summary>Reads and checks a budget body; every error names its field.</summary>
    private static async Task<(Budget? Budget, ProblemHttpResult? Problem)> ReadAsync(HttpRequest request, Caller caller, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadAsync<BudgetBody>(request, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            return (null, problem);
        }

        static (Budget?, ProblemHttpResult?) Fail(string field, string reason) => (null, Problems.BadRequest(field, reason));
        if (body!.Scope is not { } scopeName || !BudgetNames.Scopes.TryGetValue(scopeName, out var scope))
        {
            return Fail("scope", $"'{body.Scope}' is not a scope; use {Choices(BudgetNames.Scopes)}.");
        }

        if (scope == BudgetScope.Workspace ? body.ScopeValue is not null : string.IsNullOrWhiteSpace(body.ScopeValue))
        {
            return Fail("scope_value", scope == BudgetScope.Workspace ? "a workspace budget takes no scope_value." : $"names the {scopeName} the budget is for; it is required.");
        }

        // An agent, team, user or model need not have sent usage yet: a team sets a new agent's budget before it runs.
        if (body.ScopeValue is { } value && (value.Length > IngestRequestParser.MaxNameLength || value.Any(char.IsControl)))
        {
            return Fail("scope_value", $"must be at most {IngestRequestParser.MaxNameLength} characters, without control characters.");
        }

        if (scope == BudgetScope.Key
            && await request.HttpContext.RequestServices.GetRequiredService<AgentSpend.Core.Auth.ApiKeyService>().GetAsync(caller.Workspace.Id, body.ScopeValue!, cancellationToken).ConfigureAwait(false) is null)
        {
            return Fail("scope_value", $"no API key '{body.ScopeValue}' belongs to this workspace (see /api/v1/keys for key ids).");
        }

        if (body.Metric is not { } metricName || !BudgetNames.Metrics.TryGetValue(metricName, out var metric))
        {
            return Fail("metric", $"'{body.Metric}' is not a metric; use {Choices(BudgetNames.Metrics)}.");
        }

        if (body.Period is not { } periodName || !BudgetNames.Periods.TryGetValue(periodName, out var period))
        {
            return Fail("period", $"'{body.Period}' is not a period; use {Choices(BudgetNames.Periods)}.");
        }

        if (body.Limit is not { } limit || limit <= 0 || limit > 1_000_000_000_000m)
        {
            return Fail("limit", "must be a positive number (at most 10^12).");
        }

        var action = BudgetAction.Alert;
        if (body.Action is { } actionName && !BudgetNames.Actions.TryGetValue(actionName, out action))
        {
            return Fail("action", $"'{actionName}' is not an action; use {Choices(BudgetNames.Actions)}.");
        }

        var thresholds = body.Thresholds ?? [.. Budget.DefaultThresholds];
        if (thresholds.Length is 0 or > 10 || thresholds.Any(t => t is < 1 or > 1000) || thresholds.Zip(thresholds.Skip(1)).Any(p => p.First >= p.Second))
        {
            return Fail("thresholds", "must be 1 to 10 percentages from 1 to 1000, in ascending order.");
        }

        if (body.Name is { Length: > 200 })
        {
            return Fail("name", "must be at most 200 characters.");
        }

        return (new Budget
        {
            Id = "",
            Name = body.Name,
            Scope = scope,
            ScopeValue = body.ScopeValue,
            Metric = metric,
            Period = period,
            Limit = limit,
            Thresholds = thresholds,
            Action = action,
        }, null);
    }
}
