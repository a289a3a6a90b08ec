using System.Security.Cryptography;
using AgentSpend.Core.Configuration;
using AgentSpend.Core.Storage;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace AgentSpend.Core.Workspaces;

/// <summary>
/// Workspaces live in the <c>workspaces</c> table, one row each. Reads are cached for a few seconds;
/// writes are conditional on the row's ETag so that two admins cannot overwrite each other.
/// </summary>
public sealed class WorkspaceStore(IStorageProvider storage, IMemoryCache cache, IOptions<AgentSpendOptions> options, TimeProvider clock) : IWorkspaceDirectory
{
    private const string Partition = "ws";
    private const string IdAlphabet = "abcdefghijkmnpqrstuvwxyz23456789";
    public const int IdLength = 8;
    private static readonly TimeSpan CacheTime = TimeSpan.FromSeconds(10);

    private ITableStore Table => storage.GetTable(StorageNames.WorkspacesTable);

    public async Task<Workspace?> FindAsync(string workspaceId, CancellationToken cancellationToken)
    {
        if (!IsWellFormedId(workspaceId))
        {
            return null;
        }

        if (cache.TryGetValue(CacheKey(workspaceId), out Workspace? cached))
        {
            return cached;
        }

        var row = await Table.GetIfExistsAsync(Partition, workspaceId, cancellationToken: cancellationToken).ConfigureAwait(false);
        var workspace = row is null ? null : FromEntity(row);
        cache.Set(CacheKey(workspaceId), workspace, CacheTime);
        return workspace;
    }

    public async Task<IReadOnlyList<Workspace>> ListAsync(CancellationToken cancellationToken)
    {
        var list = new List<Workspace>();
        await foreach (var row in Table.QueryAsync(TableClient.CreateQueryFilter($"PartitionKey eq {Partition}"), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            list.Add(FromEntity(row));
        }

        return list;
    }

    /// <summary>Creates a workspace with a new random short id.</summary>
    public async Task<Workspace> CreateAsync(string name, TimeZoneInfo timeZone, int retentionDays, PlanLimits limits, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        while (true)
        {
            var workspace = new Workspace(NewId(), timeZone)
            {
                Name = name, RetentionDays = retentionDays, Limits = limits, CreatedAt = now, UpdatedAt = now,
            };
            try
            {
                await Table.InsertAsync(ToEntity(workspace), cancellationToken).ConfigureAwait(false);
                cache.Remove(CacheKey(workspace.Id));
                return workspace;
            }
            catch (RequestFailedException ex) when (ex.Status == 409)
            {
                // 40 bits of randomness: a clash is rare, and a new id settles it.
            }
        }
    }

    /// <summary>
    /// Applies <paramref name="change"/> to the stored workspace, retrying when someone else wrote it in
    /// between. Returns the workspace before and after, or null when it does not exist.
    /// </summary>
    public async Task<(Workspace Before, Workspace After)?> UpdateAsync(string workspaceId, Func<Workspace, Workspace> change, CancellationToken cancellationToken)
    {
        if (!IsWellFormedId(workspaceId))
        {
            return null;
        }

        while (true)
        {
            var row = await Table.GetIfExistsAsync(Partition, workspaceId, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (row is null)
            {
                return null;
            }

            var before = FromEntity(row);
            var after = change(before) with { UpdatedAt = clock.GetUtcNow() };
            try
            {
                await Table.UpdateAsync(ToEntity(after), row.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                cache.Remove(CacheKey(workspaceId));
                return (before, after);
            }
            catch (RequestFailedException ex) when (ex.Status == 412)
            {
            }
        }
    }

    /// <summary>
    /// Makes sure the <c>default</c> workspace exists. AGENTSPEND_TIMEZONE and AGENTSPEND_RETENTION_DAYS,
    /// when set, are applied to it on every start; otherwise its stored values stand.
    /// </summary>
    public async Task EnsureDefaultAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = clock.GetUtcNow();
        var fresh = new Workspace(Workspace.DefaultId, settings.ResolveTimeZone())
        {
            Name = "Default", RetentionDays = settings.RetentionDays, CreatedAt = now, UpdatedAt = now,
        };
        try
        {
            await Table.InsertAsync(ToEntity(fresh), cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            var (timezoneSet, retentionSet) = (settings.TimezoneIsSet, settings.RetentionDaysIsSet);
            if (timezoneSet || retentionSet)
            {
                await UpdateAsync(Workspace.DefaultId, w => w with
                {
                    TimeZone = timezoneSet ? fresh.TimeZone : w.TimeZone,
                    RetentionDays = retentionSet ? fresh.RetentionDays : w.RetentionDays,
                }, cancellationToken).ConfigureAwait(false);
            }
        }

        cache.Remove(CacheKey(Workspace.DefaultId));
    }

    /// <summary>Workspace ids are <c>default</c> or eight characters of a lower-case alphabet: safe in keys, URLs and key prefixes.</summary>
    public static bool IsWellFormedId(string? id) =>
        id == Workspace.DefaultId || id is { Length: IdLength } && id.All(c => IdAlphabet.Contains(c, StringComparison.Ordinal));

    private static string NewId()
    {
        Span<char> id = stackalloc char[IdLength];
        for (var i = 0; i < id.Length; i++)
        {
            id[i] = IdAlphabet[RandomNumberGenerator.GetInt32(IdAlphabet.Length)];
        }

        return new string(id);
    }

    private static string CacheKey(string id) => "workspace:" + id;

    private static TableEntity ToEntity(Workspace w) => new(Partition, w.Id)
    {
        ["Name"] = w.Name,
        ["TimeZone"] = w.TimeZone.Id,
        ["RetentionDays"] = w.RetentionDays,
        ["MaxAgents"] = w.Limits.MaxAgents,
        ["EventsPerDay"] = w.Limits.EventsPerDay,
        ["RetentionCeilingDays"] = w.Limits.RetentionCeilingDays,
        ["State"] = w.State.ToString(),
        ["CreatedAt"] = w.CreatedAt,
        ["UpdatedAt"] = w.UpdatedAt,
        ["DeleteRequestedAt"] = w.Deletion?.RequestedAt,
        ["DeletedRows"] = w.Deletion?.DeletedRows,
        ["DeleteFinishedAt"] = w.Deletion?.FinishedAt,
        ["EffortMinutes"] = w.Effort?.MinutesPerTask,
        ["EffortTaskTypes"] = w.Effort is { } effort
            ? System.Text.Json.JsonSerializer.Serialize(effort.TaskTypes.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal), CoreJsonContext.Default.DictionaryStringInt32)
            : null,
    };

    private static Workspace FromEntity(TableEntity e) => new(e.RowKey, TimeZoneInfo.FindSystemTimeZoneById(e.GetString("TimeZone") ?? "UTC"))
    {
        Name = e.GetString("Name") ?? "",
        RetentionDays = e.GetInt32("RetentionDays") ?? Workspace.DefaultRetentionDays,
        Limits = new PlanLimits(e.GetInt32("MaxAgents"), e.GetInt64("EventsPerDay"), e.GetInt32("RetentionCeilingDays")),
        State = Enum.TryParse<WorkspaceState>(e.GetString("State"), out var state) ? state : WorkspaceState.Active,
        CreatedAt = e.GetDateTimeOffset("CreatedAt") ?? default,
        UpdatedAt = e.GetDateTimeOffset("UpdatedAt") ?? default,
        Deletion = e.GetDateTimeOffset("DeleteRequestedAt") is { } requested
            ? new WorkspaceDeletion(requested, e.GetInt64("DeletedRows") ?? 0, e.GetDateTimeOffset("DeleteFinishedAt"))
            : null,
        Effort = e.GetInt32("EffortMinutes") is { } minutes
            ? new ManualEffort(minutes, e.GetString("EffortTaskTypes") is { } json
                ? System.Text.Json.JsonSerializer.Deserialize(json, CoreJsonContext.Default.DictionaryStringInt32)!
                : new Dictionary<string, int>())
            : null,
    };
}
