using AgentSpend.Core.Audit;
using AgentSpend.Core.Auth;
using AgentSpend.Core.Workspaces;
using AgentSpend.Functions.Hosting;
using AgentSpend.Functions.Keys;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentSpend.Functions.Workspaces;

/// <summary>/api/v1/workspaces: instance admins create, list, read, change and delete workspaces.</summary>
public static class WorkspaceEndpoints
{
    public static async Task<Results<Created<WorkspaceView>, ProblemHttpResult>> CreateAsync(
        HttpRequest request, Caller caller, WorkspaceStore workspaces, AuditLog audit, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadAsync<CreateWorkspaceBody>(request, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        TimeZoneInfo? zone = TimeZoneInfo.Utc;
        var limits = WorkspaceRules.ToLimits(body!.Limits);
        var retention = body.RetentionDays ?? Math.Min(Workspace.DefaultRetentionDays, limits.RetentionCeilingDays ?? int.MaxValue);
        var invalid = WorkspaceRules.CheckName(body.Name)
            ?? (body.Timezone is null ? null : WorkspaceRules.CheckTimezone(body.Timezone, out zone))
            ?? WorkspaceRules.CheckLimits(body.Limits)
            ?? WorkspaceRules.CheckRetention(retention, limits);
        if (invalid is { } bad)
        {
            return Problems.BadRequest(bad.Field, bad.Reason);
        }

        var workspace = await workspaces.CreateAsync(body.Name!.Trim(), zone!, retention, limits, cancellationToken).ConfigureAwait(false);
        var view = WorkspaceView.Of(workspace);
        await RecordAsync(audit, caller, AuditActions.WorkspaceCreate, workspace.Id, null, view, cancellationToken).ConfigureAwait(false);
        return TypedResults.Created($"/api/v1/workspaces/{workspace.Id}", view);
    }

    public static async Task<Ok<WorkspaceList>> ListAsync(WorkspaceStore workspaces, CancellationToken cancellationToken)
    {
        var all = await workspaces.ListAsync(cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(new WorkspaceList(all.Where(w => w.State != WorkspaceState.Deleted).OrderBy(w => w.CreatedAt).Select(WorkspaceView.Of).ToArray()));
    }

    public static async Task<Results<Ok<WorkspaceView>, ProblemHttpResult>> GetAsync(string id, WorkspaceStore workspaces, CancellationToken cancellationToken) =>
        await workspaces.FindAsync(id, cancellationToken).ConfigureAwait(false) is { } workspace
            ? TypedResults.Ok(WorkspaceView.Of(workspace))
            : NoSuchWorkspace();

    public static async Task<Results<Ok<WorkspaceView>, ProblemHttpResult>> UpdateAsync(
        string id, HttpRequest request, Caller caller, WorkspaceStore workspaces, AuditLog audit, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadAsync<UpdateWorkspaceBody>(request, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        TimeZoneInfo? zone = null;
        var invalid = (body!.Name is null ? null : WorkspaceRules.CheckName(body.Name))
            ?? (body.Timezone is null ? null : WorkspaceRules.CheckTimezone(body.Timezone, out zone))
            ?? WorkspaceRules.CheckLimits(body.Limits);
        if (invalid is { } bad)
        {
            return Problems.BadRequest(bad.Field, bad.Reason);
        }

        (string Field, string Reason)? refused = null;
        var changed = await workspaces.UpdateAsync(id, w =>
        {
            var limits = body.Limits is null ? w.Limits : WorkspaceRules.ToLimits(body.Limits);
            var retention = body.RetentionDays ?? w.RetentionDays;
            refused = !w.IsActive ? ("id", "The workspace is being deleted.") : WorkspaceRules.CheckRetention(retention, limits);
            return refused is not null ? w : w with
            {
                Name = body.Name?.Trim() ?? w.Name, TimeZone = zone ?? w.TimeZone, RetentionDays = retention, Limits = limits,
            };
        }, cancellationToken).ConfigureAwait(false);
        if (changed is not { } result || result.Before.State == WorkspaceState.Deleted)
        {
            return NoSuchWorkspace();
        }

        if (refused is { } no)
        {
            return no.Field == "id" ? Problems.Conflict(no.Field, no.Reason) : Problems.BadRequest(no.Field, no.Reason);
        }

        var after = WorkspaceView.Of(result.After);
        await RecordAsync(audit, caller, AuditActions.WorkspaceUpdate, id, WorkspaceView.Of(result.Before), after, cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(after);
    }

    /// <summary>Stops the workspace's keys at once and leaves its data to the purge timer; GET shows the progress.</summary>
    public static async Task<Results<Accepted<WorkspaceView>, ProblemHttpResult>> DeleteAsync(
        string id, Caller caller, WorkspaceStore workspaces, ApiKeyService keys, AuditLog audit, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (id == Workspace.DefaultId)
        {
            return Problems.Conflict("id", "The default workspace holds the instance admin keys and cannot be deleted.");
        }

        var changed = await workspaces.UpdateAsync(id, w => w.IsActive
            ? w with { State = WorkspaceState.Deleting, Deletion = new WorkspaceDeletion(clock.GetUtcNow(), 0, null) }
            : w, cancellationToken).ConfigureAwait(false);
        if (changed is not { } result || result.Before.State == WorkspaceState.Deleted)
        {
            return NoSuchWorkspace();
        }

        var view = WorkspaceView.Of(result.After);
        if (result.Before.IsActive)
        {
            await keys.RevokeAllAsync(id, cancellationToken).ConfigureAwait(false);
            await RecordAsync(audit, caller, AuditActions.WorkspaceDelete, id, WorkspaceView.Of(result.Before), view, cancellationToken).ConfigureAwait(false);
        }

        return TypedResults.Accepted($"/api/v1/workspaces/{id}", view);
    }

    /// <summary>An instance admin issues a key of another workspace (how a new workspace gets its first key).</summary>
    public static async Task<Results<Created<KeyView>, ProblemHttpResult>> CreateKeyAsync(
        string id, HttpRequest request, Caller caller, WorkspaceStore workspaces, ApiKeyService keys, AuditLog audit, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (await workspaces.FindAsync(id, cancellationToken).ConfigureAwait(false) is not { IsActive: true } workspace)
        {
            return NoSuchWorkspace();
        }

        return await KeyEndpoints.CreateInAsync(workspace, request, caller, keys, audit, clock, cancellationToken).ConfigureAwait(false);
    }

    private static ProblemHttpResult NoSuchWorkspace() => Problems.NotFound("id", "There is no such workspace.");

    /// <summary>Recorded in the workspace's own log, and in the acting admin's when that is another one.</summary>
    private static async Task RecordAsync(AuditLog audit, Caller caller, string action, string workspaceId, object? before, object? after, CancellationToken cancellationToken)
    {
        await audit.AppendAsync(workspaceId, action, workspaceId, caller.KeyId, caller.SourceIp, before, after).ConfigureAwait(false);
        if (caller.Workspace.Id != workspaceId)
        {
            await audit.AppendAsync(caller.Workspace.Id, action, workspaceId, caller.KeyId, caller.SourceIp, before, after).ConfigureAwait(false);
        }
    }
}
