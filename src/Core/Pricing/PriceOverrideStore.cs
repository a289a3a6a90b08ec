using System.Collections.Concurrent;
using System.Text.Json;
using AgentSpend.Core.Storage;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;

namespace AgentSpend.Core.Pricing;

/// <summary>
/// Workspaces' price overrides in the <c>priceoverrides</c> table: partition = workspace id, row = the
/// normalised model name (table-key encoded). Ingest prices every event, so a workspace's overrides are
/// cached for <see cref="CacheTime"/>; a change made through this instance drops its cache at once, other
/// instances see it within that time.
/// </summary>
public sealed partial class PriceOverrideStore(IStorageProvider storage, IMemoryCache cache, TimeProvider clock, ILogger<PriceOverrideStore> logger)
{
    /// <summary>Like the key cache: short enough that another instance's change is picked up soon.</summary>
    public static readonly TimeSpan CacheTime = TimeSpan.FromSeconds(30);

    /// <summary>A workspace's overrides are all read and cached at once; this keeps that read small.</summary>
    public const int MaxPerWorkspace = 1000;

    private const string PriceProperty = "Price";
    private const int MaxAttempts = 10;

    // Bumped by every change: a load that raced a change must not put its older view into the cache.
    private readonly ConcurrentDictionary<string, long> _generations = new(StringComparer.Ordinal);

    private ITableStore Table => storage.GetTable(StorageNames.PriceOverridesTable);

    /// <summary>The workspace's overrides, from the cache when it has them.</summary>
    public async ValueTask<PriceOverrides> ForWorkspaceAsync(string workspaceId, CancellationToken cancellationToken)
    {
        var key = CacheKey(workspaceId);
        if (cache.TryGetValue(key, out PriceOverrides? cached) && cached is not null)
        {
            return cached;
        }

        var generation = _generations.GetValueOrDefault(workspaceId);
        var list = await ListAsync(workspaceId, cancellationToken).ConfigureAwait(false);
        var loaded = list.Count == 0 ? PriceOverrides.None : new PriceOverrides(list);
        cache.Set(key, loaded, CacheTime);
        if (_generations.GetValueOrDefault(workspaceId) != generation)
        {
            cache.Remove(key);
        }

        return loaded;
    }

    /// <summary>The stored override of <paramref name="model"/> (normalised first), read from the table.</summary>
    public async Task<PriceOverride?> GetAsync(string workspaceId, string model, CancellationToken cancellationToken) =>
        await Table.GetIfExistsAsync(workspaceId, RowKey(model), cancellationToken: cancellationToken).ConfigureAwait(false) is { } row ? Read(row) : null;

    /// <summary>Stores <paramref name="value"/> (its model already normalised), replacing any earlier one; returns that earlier one.</summary>
    public async Task<PriceOverride?> SetAsync(string workspaceId, PriceOverride value, CancellationToken cancellationToken)
    {
        var entity = new TableEntity(workspaceId, RowKey(value.Model)) { [PriceProperty] = JsonSerializer.Serialize(value) };
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                // Read and write under the ETag, so the audit's "before" is the value this write replaced.
                var row = await Table.GetIfExistsAsync(workspaceId, entity.RowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
                try
                {
                    if (row is null)
                    {
                        await Table.InsertAsync(entity, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        await Table.UpdateAsync(entity, row.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                    }

                    LogSet(logger, workspaceId, value.Model);
                    return row is null ? null : Read(row);
                }
                catch (RequestFailedException ex) when (ex.Status is 409 or 412 && attempt < MaxAttempts)
                {
                    LogRaced(logger, workspaceId, value.Model, attempt);
                }
            }
        }
        finally
        {
            Invalidate(workspaceId);
        }
    }

    /// <summary>Removes the override of <paramref name="model"/>; returns it, or null when there was none.</summary>
    public async Task<PriceOverride?> DeleteAsync(string workspaceId, string model, CancellationToken cancellationToken)
    {
        var rowKey = RowKey(model);
        var name = ModelNames.Normalize(model);
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                if (await Table.GetIfExistsAsync(workspaceId, rowKey, cancellationToken: cancellationToken).ConfigureAwait(false) is not { } row)
                {
                    return null;
                }

                try
                {
                    await Table.DeleteAsync(workspaceId, rowKey, row.ETag, cancellationToken).ConfigureAwait(false);
                    LogDeleted(logger, workspaceId, name);
                    return Read(row);
                }
                catch (RequestFailedException ex) when (ex.Status == 412 && attempt < MaxAttempts)
                {
                    LogRaced(logger, workspaceId, name, attempt);
                }
            }
        }
        finally
        {
            Invalidate(workspaceId);
        }
    }

    /// <summary>Deletes a purged workspace's overrides. Returns how many.</summary>
    public async Task<int> DeleteWorkspaceAsync(string workspaceId, CancellationToken cancellationToken)
    {
        try
        {
            return await Table.DeletePartitionRowsAsync(TableClient.CreateQueryFilter($"PartitionKey eq {workspaceId}"), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Invalidate(workspaceId);
        }
    }

    /// <summary>A new override stamped with the time and the acting key.</summary>
    public PriceOverride Stamp(PriceOverride value, string? keyId) => value with { UpdatedAt = clock.GetUtcNow(), UpdatedBy = keyId };

    /// <summary>The workspace's overrides as stored now (not cached), by model name.</summary>
    public async Task<IReadOnlyList<PriceOverride>> ListAsync(string workspaceId, CancellationToken cancellationToken)
    {
        var list = new List<PriceOverride>();
        await foreach (var row in Table.QueryAsync(TableClient.CreateQueryFilter($"PartitionKey eq {workspaceId}"), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            list.Add(Read(row));
        }

        return list.OrderBy(o => o.Model, StringComparer.Ordinal).ToArray();
    }

    private void Invalidate(string workspaceId)
    {
        _generations.AddOrUpdate(workspaceId, 1, (_, g) => g + 1);
        cache.Remove(CacheKey(workspaceId));
    }

    private static PriceOverride Read(TableEntity row) =>
        JsonSerializer.Deserialize<PriceOverride>(row.GetString(PriceProperty) ?? "null")
        ?? throw new InvalidDataException($"The price override {row.PartitionKey}/{row.RowKey} is empty.");

    private static string RowKey(string model) => TableKey.Encode(ModelNames.Normalize(model));

    private static string CacheKey(string workspaceId) => "price-overrides:" + workspaceId;

    [LoggerMessage(Level = LogLevel.Information, Message = "Workspace {WorkspaceId} set its price override of {Model}")]
    private static partial void LogSet(ILogger logger, string workspaceId, string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "Workspace {WorkspaceId} removed its price override of {Model}")]
    private static partial void LogDeleted(ILogger logger, string workspaceId, string model);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Workspace {WorkspaceId}: the price override of {Model} changed under us (attempt {Attempt}); re-reading")]
    private static partial void LogRaced(ILogger logger, string workspaceId, string model, int attempt);
}
