using AgentSpend.Core.Audit;
using AgentSpend.Core.Workspaces;
using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentSpend.Functions.Settings;

/// <summary>The manual effort a task would take without an agent: the baseline of the time-saved figures.</summary>
public sealed record EffortSettings(int MinutesPerTask, IReadOnlyDictionary<string, int> TaskTypes, bool IsDefault);

/// <summary>PUT body: minutes per task, and per task type where it differs.</summary>
public sealed record EffortSettingsBody(int? MinutesPerTask, Dictionary<string, int>? TaskTypes);

/// <summary>GET (read) and PUT (admin) /api/v1/settings/efficiency: the workspace's manual-effort baseline.</summary>
public static class SettingsEndpoints
{
    public static Ok<EffortSettings> Get(Caller caller) => TypedResults.Ok(Show(caller.Workspace.Effort));

    public static async Task<Results<Ok<EffortSettings>, ProblemHttpResult>> PutAsync(
        HttpRequest request, Caller caller, WorkspaceStore workspaces, AuditLog audit, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadAsync<EffortSettingsBody>(request, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        if (body!.MinutesPerTask is not { } minutes || minutes is < 1 or > ManualEffort.MaxMinutes)
        {
            return Problems.BadRequest("minutes_per_task", $"is required: a whole number of minutes from 1 to {ManualEffort.MaxMinutes}.");
        }

        var taskTypes = body.TaskTypes ?? [];
        if (taskTypes.Count > ManualEffort.MaxTaskTypes)
        {
            return Problems.BadRequest("task_types", $"must name at most {ManualEffort.MaxTaskTypes} task types.");
        }

        foreach (var (taskType, value) in taskTypes)
        {
            if (string.IsNullOrWhiteSpace(taskType) || taskType.Length > 128)
            {
                return Problems.BadRequest("task_types", "task type names must be 1 to 128 characters.");
            }

            if (value is < 1 or > ManualEffort.MaxMinutes)
            {
                return Problems.BadRequest("task_types." + taskType, $"must be a whole number of minutes from 1 to {ManualEffort.MaxMinutes}.");
            }
        }

        var effort = new ManualEffort(minutes, new Dictionary<string, int>(taskTypes, StringComparer.Ordinal));
        var changed = await workspaces.UpdateAsync(caller.Workspace.Id, w => w with { Effort = effort }, cancellationToken).ConfigureAwait(false);
        if (changed is not { } result)
        {
            return Problems.NotFound("workspace", "The workspace no longer exists.");
        }

        await audit.AppendAsync(caller.Workspace.Id, AuditActions.SettingsEfficiencySet, "efficiency", caller.KeyId, caller.SourceIp,
            Show(result.Before.Effort), Show(result.After.Effort)).ConfigureAwait(false);
        return TypedResults.Ok(Show(result.After.Effort));
    }

    private static EffortSettings Show(ManualEffort? effort) => effort is null
        ? new EffortSettings(ManualEffort.Default.MinutesPerTask, ManualEffort.Default.TaskTypes, IsDefault: true)
        : new EffortSettings(effort.MinutesPerTask, effort.TaskTypes, IsDefault: false);
}
