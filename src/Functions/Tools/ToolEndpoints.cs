using AgentSpend.Core.Audit;
using AgentSpend.Core.Domain;
using AgentSpend.Core.Governance;
using AgentSpend.Core.Metrics;
using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentSpend.Functions.Tools;

/// <summary>PUT body: what one call of the tool costs.</summary>
public sealed record ToolBody(decimal? CostPerCallUsd, string? Note);

/// <summary>A registered tool with its spend this month: the events tagged <c>tool</c> with its name.</summary>
public sealed record ToolView(string Name, decimal CostPerCallUsd, string? Note, DateTimeOffset UpdatedAt, decimal MonthCostUsd, long MonthEvents);

public sealed record ToolList(string MonthStart, IReadOnlyList<ToolView> Items);

/// <summary>/api/v1/tools: the tool registry. Checks that name a tool are measured with its registered cost.</summary>
public static class ToolEndpoints
{
    public const decimal MaxCostPerCall = 1_000_000m;

    public static async Task<Ok<ToolList>> ListAsync(Caller caller, ToolRegistry tools, MetricsService metrics, TimeProvider clock, CancellationToken cancellationToken)
    {
        var today = caller.Workspace.Today(clock);
        var month = new MetricsRange(new DateOnly(today.Year, today.Month, 1), today) { Name = "mtd" };
        var spend = (await metrics.BreakdownAsync(caller.Workspace, month, new Grouping(null, "tool"), MetricsFilter.None, cancellationToken).ConfigureAwait(false)).Items
            .Where(i => i.Key is not null).ToDictionary(i => i.Key!, StringComparer.Ordinal);
        var items = (await tools.AllAsync(caller.Workspace.Id, cancellationToken).ConfigureAwait(false)).Values
            .OrderBy(t => t.Name, StringComparer.Ordinal)
            .Select(t => new ToolView(t.Name, t.CostPerCallUsd, t.Note, t.UpdatedAt, spend.GetValueOrDefault(t.Name)?.CostUsd ?? 0m, spend.GetValueOrDefault(t.Name)?.Events ?? 0))
            .ToArray();
        return TypedResults.Ok(new ToolList(Core.Workspaces.Workspace.FormatDay(month.From), items));
    }

    public static async Task<Results<Ok<RegisteredTool>, ProblemHttpResult>> PutAsync(
        string name, HttpRequest request, Caller caller, ToolRegistry tools, AuditLog audit, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadAsync<ToolBody>(request, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        if (name.Length > 128 || name.Any(char.IsControl))
        {
            return Problems.BadRequest("name", "must be 1 to 128 characters, none of them control characters.");
        }

        if (body!.CostPerCallUsd is not { } cost || cost is < 0 or > MaxCostPerCall)
        {
            return Problems.BadRequest("cost_per_call_usd", $"is required: a number of dollars from 0 to {MaxCostPerCall}.");
        }

        if (body.Note is { Length: > 500 })
        {
            return Problems.BadRequest("note", "must be at most 500 characters.");
        }

        var known = await tools.AllAsync(caller.Workspace.Id, cancellationToken).ConfigureAwait(false);
        if (!known.ContainsKey(name) && known.Count >= ToolRegistry.MaxTools)
        {
            return Problems.Conflict("name", $"A workspace registers at most {ToolRegistry.MaxTools} tools.");
        }

        var tool = await tools.SetAsync(caller.Workspace.Id, name, cost, body.Note, cancellationToken).ConfigureAwait(false);
        await audit.AppendAsync(caller.Workspace.Id, AuditActions.ToolSet, name, caller.KeyId, caller.SourceIp, known.GetValueOrDefault(name), tool).ConfigureAwait(false);
        return TypedResults.Ok(tool);
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(string name, Caller caller, ToolRegistry tools, AuditLog audit, CancellationToken cancellationToken)
    {
        if (!await tools.DeleteAsync(caller.Workspace.Id, name, cancellationToken).ConfigureAwait(false))
        {
            return Problems.NotFound("name", "No tool of this name is registered.");
        }

        await audit.AppendAsync(caller.Workspace.Id, AuditActions.ToolDelete, name, caller.KeyId, caller.SourceIp, null, null).ConfigureAwait(false);
        return TypedResults.NoContent();
    }
}
