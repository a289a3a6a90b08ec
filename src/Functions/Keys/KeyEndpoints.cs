using System.Text.Json.Serialization;
using AgentSpend.Core.Audit;
using AgentSpend.Core.Auth;
using AgentSpend.Core.Workspaces;
using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentSpend.Functions.Keys;

public sealed record CreateKeyBody(string? Name, IReadOnlyList<string>? Scopes);

public sealed record RotateKeyBody(int? GraceSeconds = null);

/// <summary>A key as the API shows it. <c>key</c>, the raw key, appears once: in the answer that created it.</summary>
public sealed record KeyView(
    string Id, string WorkspaceId, string Name, string Prefix, IReadOnlyList<string> Scopes, ApiKeyStatus Status, DateTimeOffset CreatedAt, string? CreatedBy,
    DateTimeOffset? LastUsedAt, long AuthFailuresCount, DateTimeOffset? LastFailedAt, DateTimeOffset? RevokedAt, DateTimeOffset? ExpiresAt)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Key { get; init; }

    public static KeyView Of(ApiKeyInfo k, DateTimeOffset now) => new(
        k.Id, k.WorkspaceId, k.Name, k.Prefix, k.Scopes, k.Status(now), k.CreatedAt, k.CreatedBy, k.LastUsedAt, k.AuthFailuresCount, k.LastFailedAt, k.RevokedAt, k.ExpiresAt);
}

public sealed record KeyList(IReadOnlyList<KeyView> Items);

public sealed record RotatedKey(KeyView Old, KeyView New);

/// <summary>The workspace a key belongs to, as far as its own holder may see it.</summary>
public sealed record CurrentWorkspace(string Id, string Name, string Timezone);

/// <summary>
/// The calling key: its scopes, the policies they satisfy (<c>grants</c>: ingest, read, admin, instance-admin;
/// a wider scope includes the narrower ones) and its workspace with the timezone its days are counted in.
/// </summary>
public sealed record CurrentKey(string Id, string Name, IReadOnlyList<string> Scopes, IReadOnlyList<string> Grants, CurrentWorkspace Workspace);

/// <summary>/api/v1/keys: a workspace admin creates, lists, revokes and rotates the workspace's keys.</summary>
public static class KeyEndpoints
{
    public const int MaxNameLength = 100;
    public const int MaxGraceSeconds = 7 * 24 * 3600;

    public static Ok<CurrentKey> GetCurrent(Caller caller, HttpContext context)
    {
        var grants = AuthPolicies.ScopesFor
            .Where(p => p.Key != AuthPolicies.AnyKey && p.Value.Any(caller.Scopes.Contains))
            .Select(p => p.Key)
            .ToArray();
        var workspace = new CurrentWorkspace(caller.Workspace.Id, caller.Workspace.Name, caller.Workspace.TimeZone.Id);
        var name = context.User.Identity?.Name ?? "";
        return TypedResults.Ok(new CurrentKey(caller.KeyId, name, [.. caller.Scopes.Order(StringComparer.Ordinal)], grants, workspace));
    }

    public static Task<Results<Created<KeyView>, ProblemHttpResult>> CreateAsync(
        HttpRequest request, Caller caller, ApiKeyService keys, AuditLog audit, TimeProvider clock, CancellationToken cancellationToken) =>
        CreateInAsync(caller.Workspace, request, caller, keys, audit, clock, cancellationToken);

    internal static async Task<Results<Created<KeyView>, ProblemHttpResult>> CreateInAsync(
        Workspace workspace, HttpRequest request, Caller caller, ApiKeyService keys, AuditLog audit, TimeProvider clock, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadAsync<CreateKeyBody>(request, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        var invalid = CheckName(body!.Name) ?? CheckScopes(body.Scopes, caller)
            ?? (body.Scopes!.Contains(ApiKeyScopes.InstanceAdmin) && workspace.Id != Workspace.DefaultId
                ? ("scopes", "instance-admin keys belong to the default workspace.")
                : null);
        if (invalid is { } bad)
        {
            return bad.Field == "scopes" && bad.Reason.StartsWith("only an instance admin", StringComparison.Ordinal)
                ? Problems.Forbidden(bad.Field, bad.Reason)
                : Problems.BadRequest(bad.Field, bad.Reason);
        }

        var scopes = body.Scopes!.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        if (await keys.CreateAsync(workspace.Id, body.Name!.Trim(), scopes, caller.KeyId, cancellationToken).ConfigureAwait(false) is not var (info, raw))
        {
            return TooManyKeys();
        }

        var view = KeyView.Of(info, clock.GetUtcNow());
        await audit.AppendAsync(workspace.Id, AuditActions.KeyCreate, info.Id, caller.KeyId, caller.SourceIp, null, view).ConfigureAwait(false);
        return TypedResults.Created($"/api/v1/keys/{info.Id}", view with { Key = raw });
    }

    public static async Task<Ok<KeyList>> ListAsync(Caller caller, ApiKeyService keys, TimeProvider clock, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var list = await keys.ListAsync(caller.Workspace.Id, cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(new KeyList(list.Select(k => KeyView.Of(k, now)).ToArray()));
    }

    public static async Task<Results<Ok<KeyView>, ProblemHttpResult>> GetAsync(string id, Caller caller, ApiKeyService keys, TimeProvider clock, CancellationToken cancellationToken) =>
        await keys.GetAsync(caller.Workspace.Id, id, cancellationToken).ConfigureAwait(false) is { } key
            ? TypedResults.Ok(KeyView.Of(key, clock.GetUtcNow()))
            : NoSuchKey();

    public static async Task<Results<Ok<KeyView>, ProblemHttpResult>> RevokeAsync(
        string id, Caller caller, ApiKeyService keys, AuditLog audit, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (await keys.GetAsync(caller.Workspace.Id, id, cancellationToken).ConfigureAwait(false) is not { } target)
        {
            return NoSuchKey();
        }

        if (BeyondCaller(target, caller) is { } refused)
        {
            return refused;
        }

        if (await keys.RevokeAsync(caller.Workspace.Id, id, cancellationToken).ConfigureAwait(false) is not { } result)
        {
            return NoSuchKey();
        }

        var now = clock.GetUtcNow();
        var after = KeyView.Of(result.After, now);
        if (result.Before.RevokedAt is null)
        {
            await audit.AppendAsync(caller.Workspace.Id, AuditActions.KeyRevoke, id, caller.KeyId, caller.SourceIp, KeyView.Of(result.Before, now), after).ConfigureAwait(false);
        }

        return TypedResults.Ok(after);
    }

    public static async Task<Results<Ok<RotatedKey>, ProblemHttpResult>> RotateAsync(
        string id, HttpRequest request, Caller caller, ApiKeyService keys, AuditLog audit, TimeProvider clock, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadAsync(request, cancellationToken, whenEmpty: new RotateKeyBody()).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        if (body!.GraceSeconds is < 0 or > MaxGraceSeconds)
        {
            return Problems.BadRequest("grace_seconds", $"must be between 0 and {MaxGraceSeconds}.");
        }

        if (await keys.GetAsync(caller.Workspace.Id, id, cancellationToken).ConfigureAwait(false) is not { } before)
        {
            return NoSuchKey();
        }

        if (BeyondCaller(before, caller) is { } refused)
        {
            return refused;
        }

        (ApiKeyInfo Old, ApiKeyInfo New, string RawKey)? rotated;
        try
        {
            rotated = await keys.RotateAsync(caller.Workspace.Id, id, TimeSpan.FromSeconds(body.GraceSeconds ?? 0), caller.KeyId, cancellationToken).ConfigureAwait(false);
        }
        catch (KeyLimitReachedException)
        {
            return TooManyKeys();
        }

        if (rotated is not { } result)
        {
            return Problems.Conflict("id", "The key is revoked or expired; create a new one instead.");
        }

        var now = clock.GetUtcNow();
        var answer = new RotatedKey(KeyView.Of(result.Old, now), KeyView.Of(result.New, now));
        await audit.AppendAsync(caller.Workspace.Id, AuditActions.KeyRotate, id, caller.KeyId, caller.SourceIp, KeyView.Of(before, now), answer).ConfigureAwait(false);
        return TypedResults.Ok(answer with { New = answer.New with { Key = result.RawKey } });
    }

    private static (string Field, string Reason)? CheckName(string? name) => name switch
    {
        null => ("name", "is required."),
        _ when string.IsNullOrWhiteSpace(name) => ("name", "must not be empty."),
        _ when name.Length > MaxNameLength => ("name", $"must be at most {MaxNameLength} characters."),
        _ when name.Any(char.IsControl) => ("name", "must not contain control characters."),
        _ => null,
    };

    private static (string Field, string Reason)? CheckScopes(IReadOnlyList<string>? scopes, Caller caller)
    {
        if (scopes is null || scopes.Count == 0)
        {
            return ("scopes", $"at least one of {string.Join(", ", ApiKeyScopes.All)} is required.");
        }

        if (scopes.Any(s => s is null))
        {
            return ("scopes", "must hold scope names, not null.");
        }

        if (scopes.FirstOrDefault(s => !ApiKeyScopes.All.Contains(s)) is { } unknown)
        {
            return ("scopes", $"'{(unknown.Length > 40 ? unknown[..40] + "…" : unknown)}' is not a scope; use {string.Join(", ", ApiKeyScopes.All)}.");
        }

        return scopes.FirstOrDefault(s => !MayIssue(caller, s)) is { } beyond
            ? ("scopes", $"only an instance admin may issue {beyond} keys.")
            : null;
    }

    /// <summary>Whether <paramref name="caller"/> may issue a key with <paramref name="scope"/>, and so act on one.</summary>
    private static bool MayIssue(Caller caller, string scope) => scope != ApiKeyScopes.InstanceAdmin || caller.IsInstanceAdmin;

    /// <summary>
    /// A key the caller could not have issued is beyond its reach: revoking or rotating it would let a workspace
    /// admin lock out, or become, an instance admin.
    /// </summary>
    private static ProblemHttpResult? BeyondCaller(ApiKeyInfo target, Caller caller) =>
        target.Scopes.FirstOrDefault(s => !MayIssue(caller, s)) is { } scope
            ? Problems.Forbidden("id", $"The key has the {scope} scope, which this key may not issue; only an instance admin may act on it.")
            : null;

    private static ProblemHttpResult NoSuchKey() => Problems.NotFound("id", "The workspace has no such key.");

    private static ProblemHttpResult TooManyKeys() => Problems.Conflict(
        "keys", $"A workspace holds at most {ApiKeyService.MaxKeysPerWorkspace} keys, revoked and expired ones included; those retired over {ApiKeyService.ForgetRetiredAfter.TotalDays:0} days ago make room. Revoke keys no longer used.");
}
