using System.Globalization;
using AgentSpend.Core.Audit;
using AgentSpend.Core.Workspaces;
using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentSpend.Functions.Audit;

public sealed record AuditEntryView(string Id, string WorkspaceId, DateTimeOffset At, string Action, string Target, string? ActorKeyId, string? SourceIp, object? Before, object? After)
{
    public static AuditEntryView Of(AuditEntry e) => new(e.Id, e.WorkspaceId, e.At, e.Action, e.Target, e.ActorKeyId, e.SourceIp, e.Before, e.After);
}

public sealed record AuditPageView(IReadOnlyList<AuditEntryView> Items, string? NextCursor);

/// <summary>
/// GET /api/v1/audit: the workspace's administrative actions, newest first, filterable, as JSON or CSV.
/// There is deliberately no other verb: the log is appended to by the actions themselves.
/// </summary>
public static class AuditEndpoints
{
    public static async Task<Results<Ok<AuditPageView>, ContentHttpResult, ProblemHttpResult>> GetAsync(
        string? action, [Microsoft.AspNetCore.Mvc.FromQuery(Name = "key_id")] string? keyId, string? from, string? to, [PageSize(100, AuditLog.MaxLimit)] Paging paging, string? format, string? workspace,
        HttpRequest request, Caller caller, AuditLog audit, IWorkspaceDirectory workspaces, CancellationToken cancellationToken)
    {
        var csv = ResponseFormat.WantsCsv(format, request);
        if (csv is null)
        {
            return Problems.BadRequest("format", "use json or csv.");
        }

        var workspaceId = caller.Workspace.Id;
        if (workspace is not null && workspace != workspaceId)
        {
            // Another workspace's log is an instance admin's to read, and only theirs.
            if (!caller.IsInstanceAdmin || await workspaces.FindAsync(workspace, cancellationToken).ConfigureAwait(false) is null)
            {
                return Problems.NotFound("workspace", "There is no such workspace.");
            }

            workspaceId = workspace;
        }

        if (!TryInstant(from, out var fromAt))
        {
            return Problems.BadRequest("from", "must be an ISO 8601 date or date-time, e.g. 2026-11-01 or 2026-11-01T09:00:00Z.");
        }

        if (!TryInstant(to, out var toAt, endOfDay: true))
        {
            return Problems.BadRequest("to", "must be an ISO 8601 date or date-time, e.g. 2026-11-30 or 2026-11-30T18:00:00Z.");
        }

        if (paging.Problem is { } problem)
        {
            return problem;
        }

        // An export takes as much as a page can hold unless told otherwise.
        var count = csv == true && !paging.LimitAsked ? AuditLog.MaxLimit : paging.Limit;
        if (paging.Cursor is { } cursor && !AuditLog.IsValidCursor(cursor))
        {
            return Problems.BadRequest("cursor", "is not a cursor this API handed out; use next_cursor from a previous page.");
        }

        if (action is { Length: > 64 } || keyId is { Length: > 64 })
        {
            return Problems.BadRequest(action is { Length: > 64 } ? "action" : "key_id", "must be at most 64 characters.");
        }

        var page = await audit.QueryAsync(workspaceId, new AuditQuery(action, keyId, fromAt, toAt, count, paging.Cursor), cancellationToken).ConfigureAwait(false);
        if (csv == true)
        {
            return TypedResults.Text(AuditJson.ToCsv(page.Entries), ResponseFormat.CsvMediaType);
        }

        return TypedResults.Ok(new AuditPageView(page.Entries.Select(AuditEntryView.Of).ToArray(), page.NextCursor));
    }

    private static bool TryInstant(string? text, out DateTimeOffset? instant, bool endOfDay = false)
    {
        instant = null;
        if (text is null)
        {
            return true;
        }

        if (DateOnly.TryParseExact(text, Workspace.DayFormat, CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            instant = new DateTimeOffset(day.ToDateTime(endOfDay ? TimeOnly.MaxValue : TimeOnly.MinValue), TimeSpan.Zero);
            return true;
        }

        if (text.Length <= 40 && text.Contains('T', StringComparison.Ordinal)
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
        {
            instant = at;
            return true;
        }

        return false;
    }
}
