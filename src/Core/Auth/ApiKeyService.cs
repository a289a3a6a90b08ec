using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using AgentSpend.Core.Configuration;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Workspaces;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentSpend.Core.Auth;

/// <summary>Who is calling: the key's workspace and what it may do.</summary>
public sealed record ApiKeyIdentity(string KeyId, string WorkspaceId, string Name, IReadOnlySet<string> Scopes);

/// <summary>A key as the list shows it. The raw key is never stored, so it is never here.</summary>
public sealed record ApiKeyInfo(
    string Id,
    string WorkspaceId,
    string Name,
    string Prefix,
    IReadOnlyList<string> Scopes,
    DateTimeOffset CreatedAt,
    string? CreatedBy,
    DateTimeOffset? LastUsedAt,
    long AuthFailuresCount,
    DateTimeOffset? LastFailedAt,
    DateTimeOffset? RevokedAt,
    DateTimeOffset? ExpiresAt)
{
    /// <summary>The stored SHA-256 of the key; internal bookkeeping, never serialised.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string Hash { get; init; } = "";

    public ApiKeyStatus Status(DateTimeOffset now) =>
        RevokedAt is not null ? ApiKeyStatus.Revoked : ExpiresAt is { } expires ? (expires <= now ? ApiKeyStatus.Expired : ApiKeyStatus.Expiring) : ApiKeyStatus.Active;

    /// <summary>Revoked, or past its expiry: it no longer authenticates.</summary>
    public bool IsRetired(DateTimeOffset now) => Status(now) is ApiKeyStatus.Revoked or ApiKeyStatus.Expired;
}

/// <summary>Where a key stands; the API writes it as its lower-case name.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<ApiKeyStatus>))]
public enum ApiKeyStatus
{
    [System.Text.Json.Serialization.JsonStringEnumMemberName("active")]
    Active,

    /// <summary>Works until its expiry (a rotated key's grace period, or a key made to expire).</summary>
    [System.Text.Json.Serialization.JsonStringEnumMemberName("expiring")]
    Expiring,

    [System.Text.Json.Serialization.JsonStringEnumMemberName("expired")]
    Expired,

    [System.Text.Json.Serialization.JsonStringEnumMemberName("revoked")]
    Revoked,
}

public static class ApiKeyScopes
{
    /// <summary>Write usage only: ingest, OTLP, import, check.</summary>
    public const string Ingest = "ingest";

    /// <summary>Metrics only.</summary>
    public const string Read = "read";

    /// <summary>Everything within its workspace.</summary>
    public const string Admin = "admin";

    /// <summary>Everything within its workspace, and the workspaces themselves.</summary>
    public const string InstanceAdmin = "instance-admin";

    public static IReadOnlyList<string> All { get; } = [Ingest, Read, Admin, InstanceAdmin];
}

/// <summary>
/// API keys are stored only as SHA-256 hashes (the row key), never in clear; a presented key is hashed,
/// its row read with one point read and the hash compared in constant time. Key rows are spread over 256
/// partitions named by the hash's first two hex digits (<c>key|3f</c>), so lookups from everywhere do not
/// all land on one partition. Lookups are cached briefly, so most calls cost no storage request. Last use
/// and failed attempts are counted in memory and written by <see cref="FlushUsageAsync"/> at intervals:
/// one write per key per interval, not one per request.
/// </summary>
public sealed partial class ApiKeyService(
    IStorageProvider storage, IOptions<AgentSpendOptions> options, TimeProvider clock, StorageFanOut fanOut, ILogger<ApiKeyService> logger) : IDisposable
{
    /// <summary>How many looked-up keys, found or not, are remembered at most: unknown keys cannot grow the cache without bound.</summary>
    public const int MaxCachedLookups = 50_000;

    /// <summary>The shortest key worth a lookup: generated keys are much longer, a configured admin key at least 24 characters.</summary>
    public const int MinPresentedLength = 16;

    public const string KeyPrefix = "as_";
    private const string KeyPartitionPrefix = "key|";

    /// <summary>Sorts after every <c>key|xx</c> partition and before any other (<c>}</c> follows <c>|</c>).</summary>
    private const string KeyPartitionsEnd = "key}";

    /// <summary>Where every key row lived before they were spread by hash prefix; emptied once at start.</summary>
    private const string LegacyKeyPartition = "key";
    private const string BootstrapPartition = "bootstrap";

    /// <summary>Keys a workspace may hold, retired ones included; past it, those retired over <see cref="ForgetRetiredAfter"/> ago make room.</summary>
    public const int MaxKeysPerWorkspace = 200;

    /// <summary>How long a revoked or expired key stays listed once its workspace is at <see cref="MaxKeysPerWorkspace"/>.</summary>
    public static readonly TimeSpan ForgetRetiredAfter = TimeSpan.FromDays(30);

    private const string IndexPartitionPrefix = "ws|";
    private const string IndexedMarker = "key-index-v1";
    private const string PartitionedMarker = "key-partitions-v2";
    private const int MaxPresentedLength = 256;
    private static readonly TimeSpan CacheTime = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<string, KeyUsage> _usage = new(StringComparer.Ordinal);
    private readonly MemoryCache cache = new(new MemoryCacheOptions { SizeLimit = MaxCachedLookups });

    // Per workspace: until when a full index is known to hold no key old enough to forget (see AddToIndexAsync).
    private readonly ConcurrentDictionary<string, DateTimeOffset> _nothingToForgetUntil = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim[] _forgetting = [.. Enumerable.Range(0, 16).Select(_ => new SemaphoreSlim(1, 1))];

    // Until this instance knows the legacy partition is empty, a key missing from its partition may still be
    // there; afterwards an unknown key costs one point read.
    private volatile bool _legacyEmpty;

    private ITableStore Table => storage.GetTable(StorageNames.ApiKeysTable);

    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>The partition of the key row whose row key is <paramref name="hash"/>: one of 256, by its first two hex digits.</summary>
    public static string KeyPartition(string hash) => KeyPartitionPrefix + hash[..2];

    /// <summary>A new random key: <c>as_</c>, the workspace id, <c>_</c>, then 43 URL-safe characters (256 bits).</summary>
    public static string Generate(string workspaceId)
    {
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return $"{KeyPrefix}{workspaceId}_{secret}";
    }

    public async Task<ApiKeyIdentity?> AuthenticateAsync(string presentedKey, CancellationToken cancellationToken)
    {
        if (!IsPlausible(presentedKey))
        {
            return null;
        }

        var hash = Hash(presentedKey);
        if (!cache.TryGetValue(CacheKey(hash), out StoredKey? stored))
        {
            var row = await ReadKeyAsync(hash, forUpdate: false, cancellationToken).ConfigureAwait(false);
            stored = row is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(row.RowKey), Encoding.ASCII.GetBytes(hash))
                ? new StoredKey(ToInfo(row))
                : null;
            cache.Set(CacheKey(hash), stored, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = CacheTime });
        }

        if (stored is null)
        {
            return null;
        }

        var now = clock.GetUtcNow();
        var usage = _usage.GetOrAdd(hash, static _ => new KeyUsage());
        if (stored.Info.IsRetired(now))
        {
            usage.Failed(now);
            LogRefusedKey(logger, stored.Info.Id, stored.Info.WorkspaceId);
            return null;
        }

        usage.Used(now);
        return stored.Identity;
    }

    /// <summary>
    /// Issues a key; null when the workspace holds <see cref="MaxKeysPerWorkspace"/> keys and none retired long enough
    /// ago to forget. The workspace's index row goes in first: a key is never usable without being listed (and so
    /// revocable); a crash between the two leaves an index row that points at nothing, which listing skips.
    /// </summary>
    public async Task<(ApiKeyInfo Info, string RawKey)?> CreateAsync(string workspaceId, string name, IReadOnlyCollection<string> scopes, string? createdBy, CancellationToken cancellationToken)
    {
        var raw = Generate(workspaceId);
        var entity = NewKeyEntity(raw, workspaceId, name, scopes, createdBy, clock.GetUtcNow());
        if (!await AddToIndexAsync(workspaceId, entity.RowKey, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        await Table.InsertAsync(entity, cancellationToken).ConfigureAwait(false);
        return (ToInfo(entity), raw);
    }

    /// <summary>The workspace's keys: its index partition, then a point read of each key row; never a scan of the key rows.</summary>
    public async Task<IReadOnlyList<ApiKeyInfo>> ListAsync(string workspaceId, CancellationToken cancellationToken) =>
        [.. (await ReadIndexedAsync(workspaceId, cancellationToken).ConfigureAwait(false))
            .Select(row => WithPendingUsage(ToInfo(row)))
            .OrderBy(k => k.CreatedAt).ThenBy(k => k.Id, StringComparer.Ordinal)];

    private static string IndexPartition(string workspaceId) => IndexPartitionPrefix + workspaceId;

    private static TableEntity IndexEntity(string workspaceId, string hash) => new(IndexPartition(workspaceId), hash[..12]) { ["Hash"] = hash };

    private async Task<bool> AddToIndexAsync(string workspaceId, string hash, CancellationToken cancellationToken)
    {
        if (await CappedPartition.TryAddAsync(Table, IndexEntity(workspaceId, hash), MaxKeysPerWorkspace, cancellationToken).ConfigureAwait(false))
        {
            return true;
        }

        // Full: forget keys retired long ago, then try once more. Reading every key of a full workspace is 200 reads, so
        // one caller per workspace does it at a time, and when it finds nothing to forget the others, and later callers,
        // learn from it: no key can become forgettable before the earliest retirement it saw plus 30 days, nor one
        // revoked from now on (anywhere) before 30 days from now.
        if (_nothingToForgetUntil.TryGetValue(workspaceId, out var until) && clock.GetUtcNow() < until)
        {
            return false;
        }

        var stripe = _forgetting[(int)((uint)StringComparer.Ordinal.GetHashCode(workspaceId) % (uint)_forgetting.Length)];
        await stripe.WaitAsync(cancellationToken).ConfigureAwait(false);
        var forgotten = 0;
        try
        {
            var now = clock.GetUtcNow();
            if (_nothingToForgetUntil.TryGetValue(workspaceId, out until) && now < until)
            {
                return false;
            }

            var nextForgettable = now + NothingToForgetRecheck;
            foreach (var row in await ReadIndexedAsync(workspaceId, cancellationToken).ConfigureAwait(false))
            {
                var info = ToInfo(row);
                var retiredAt = info.RevokedAt ?? (info.ExpiresAt is { } expires && expires <= now ? expires : null);
                if (retiredAt is { } at && now - at > ForgetRetiredAfter)
                {
                    await DeleteKeyRowAsync(row.RowKey, cancellationToken).ConfigureAwait(false);
                    await CappedPartition.TryDeleteAsync(Table, IndexPartition(workspaceId), info.Id, cancellationToken).ConfigureAwait(false);
                    forgotten++;
                }
                else if ((retiredAt ?? info.ExpiresAt) is { } later && later + ForgetRetiredAfter < nextForgettable)
                {
                    nextForgettable = later + ForgetRetiredAfter;
                }
            }

            if (forgotten == 0)
            {
                _nothingToForgetUntil[workspaceId] = nextForgettable;
            }
        }
        finally
        {
            stripe.Release();
        }

        return forgotten > 0 && await CappedPartition.TryAddAsync(Table, IndexEntity(workspaceId, hash), MaxKeysPerWorkspace, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>How long "nothing to forget" is believed at most, so a row changed by hand (or a clock moved) is seen again.</summary>
    private static readonly TimeSpan NothingToForgetRecheck = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The key rows the workspace's index points at, a point read each within the instance's fan-out bound; an index
    /// row whose key is gone is skipped. (A query naming several row keys saves requests only within one partition,
    /// and a workspace's keys are spread over up to 200 of them.)
    /// </summary>
    private async Task<List<TableEntity>> ReadIndexedAsync(string workspaceId, CancellationToken cancellationToken)
    {
        var hashes = new List<string>();
        await foreach (var row in CappedPartition.ListAsync(Table, IndexPartition(workspaceId), cancellationToken).ConfigureAwait(false))
        {
            if (row.GetString("Hash") is { } hash)
            {
                hashes.Add(hash);
            }
        }

        var rows = await Task.WhenAll(hashes.Distinct(StringComparer.Ordinal)
            .Select(hash => fanOut.RunAsync(token => ReadKeyAsync(hash, forUpdate: false, token), cancellationToken))).ConfigureAwait(false);
        return [.. rows.OfType<TableEntity>().Where(r => string.Equals(r.GetString("WorkspaceId"), workspaceId, StringComparison.Ordinal))];
    }

    /// <summary>
    /// Gives keys stored before the workspace index existed their index rows, once (a marker row says it is done);
    /// safe to run on several instances at once. Reads the key rows of both layouts, the legacy partition and the
    /// hash-prefix ones, whichever the keys are in by then.
    /// </summary>
    public async Task EnsureKeyIndexAsync(CancellationToken cancellationToken)
    {
        if (await Table.GetIfExistsAsync(BootstrapPartition, IndexedMarker, cancellationToken: cancellationToken).ConfigureAwait(false) is not null)
        {
            return;
        }

        var workspaces = new HashSet<string>(StringComparer.Ordinal);
        var keyRows = TableClient.CreateQueryFilter($"PartitionKey eq {LegacyKeyPartition} or (PartitionKey ge {KeyPartitionPrefix} and PartitionKey lt {KeyPartitionsEnd})");
        await foreach (var row in Table.QueryAsync(keyRows, ["RowKey", "WorkspaceId"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var workspaceId = row.GetString("WorkspaceId") ?? Workspace.DefaultId;
            await Table.UpsertAsync(IndexEntity(workspaceId, row.RowKey), TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            workspaces.Add(workspaceId);
        }

        // Counted afresh from the rows at the next issue.
        foreach (var workspaceId in workspaces)
        {
            await Table.TryDeleteAsync(IndexPartition(workspaceId), CappedPartition.CountRowKey, ETag.All, cancellationToken).ConfigureAwait(false);
        }

        await Table.UpsertAsync(new TableEntity(BootstrapPartition, IndexedMarker) { ["At"] = clock.GetUtcNow() }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Moves the key rows still in the legacy partition to their hash-prefix partitions, once (a marker row says it
    /// is done), after which this instance stops looking there. Each row is moved as <see cref="MoveAsync"/> says, so
    /// several instances may run it at once, and one that stops half-way is finished by the next start.
    /// </summary>
    public async Task EnsureKeyPartitionsAsync(CancellationToken cancellationToken)
    {
        if (await Table.GetIfExistsAsync(BootstrapPartition, PartitionedMarker, cancellationToken: cancellationToken).ConfigureAwait(false) is null)
        {
            var moved = 0;
            await foreach (var row in Table.QueryAsync(TableClient.CreateQueryFilter($"PartitionKey eq {LegacyKeyPartition}"), cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                await MoveAsync(row, cancellationToken).ConfigureAwait(false);
                moved++;
            }

            await Table.UpsertAsync(new TableEntity(BootstrapPartition, PartitionedMarker) { ["At"] = clock.GetUtcNow() }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            LogKeysMoved(logger, moved);
        }

        _legacyEmpty = true;
    }

    public async Task<ApiKeyInfo?> GetAsync(string workspaceId, string keyId, CancellationToken cancellationToken)
    {
        var row = await FindRowAsync(workspaceId, keyId, forUpdate: false, cancellationToken).ConfigureAwait(false);
        return row is null ? null : WithPendingUsage(ToInfo(row));
    }

    /// <summary>Revokes a key of the workspace at once. Returns it before and after, or null when the workspace has no such key.</summary>
    public async Task<(ApiKeyInfo Before, ApiKeyInfo After)?> RevokeAsync(string workspaceId, string keyId, CancellationToken cancellationToken)
    {
        // A usage flush (or a move to the key's partition) may change the row between the read and the write: a
        // revocation must not fail for that, so it reads again and tries again.
        for (var attempt = 1; ; attempt++)
        {
            var row = await FindRowAsync(workspaceId, keyId, forUpdate: true, cancellationToken).ConfigureAwait(false);
            if (row is null)
            {
                return null;
            }

            var before = ToInfo(row);
            if (before.RevokedAt is not null)
            {
                return (before, before);
            }

            row["RevokedAt"] = clock.GetUtcNow();
            try
            {
                await Table.UpdateAsync(row, row.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                cache.Remove(CacheKey(row.RowKey));
                _nothingToForgetUntil.TryRemove(workspaceId, out _); // not needed by the rule, but a clock that disagrees is then no matter
                return (before, ToInfo(row));
            }
            catch (RequestFailedException ex) when (ex.Status is 412 or 404 && attempt < MaxRevokeAttempts)
            {
            }
        }
    }

    private const int MaxRevokeAttempts = 10;

    /// <summary>
    /// Issues a new key with the old one's name and scopes, and retires the old one after
    /// <paramref name="grace"/> (at once when zero). The two rows are in different partitions, so no transaction
    /// holds both: the new key goes in first, so there is no moment without a working key (a crash in between leaves
    /// a new key nobody was given, listed and revocable). Null when the key is unknown or already retired, or when
    /// another caller retired or rotated it first (the new key is then withdrawn).
    /// </summary>
    public async Task<(ApiKeyInfo Old, ApiKeyInfo New, string RawKey)?> RotateAsync(string workspaceId, string keyId, TimeSpan grace, string? rotatedBy, CancellationToken cancellationToken)
    {
        var row = await FindRowAsync(workspaceId, keyId, forUpdate: true, cancellationToken).ConfigureAwait(false);
        var now = clock.GetUtcNow();
        if (row is null || ToInfo(row).IsRetired(now))
        {
            return null;
        }

        var old = ToInfo(row);
        var raw = Generate(workspaceId);
        var fresh = NewKeyEntity(raw, workspaceId, old.Name, old.Scopes, rotatedBy, now);
        fresh["RotatedFrom"] = old.Id;
        if (!await AddToIndexAsync(workspaceId, fresh.RowKey, cancellationToken).ConfigureAwait(false))
        {
            throw new KeyLimitReachedException(MaxKeysPerWorkspace);
        }

        await Table.InsertAsync(fresh, cancellationToken).ConfigureAwait(false);
        while (true)
        {
            if (grace > TimeSpan.Zero)
            {
                row["ExpiresAt"] = now + grace;
            }
            else
            {
                row["RevokedAt"] = now;
            }

            try
            {
                await Table.UpdateAsync(row, row.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                break;
            }
            catch (RequestFailedException ex) when (ex.Status is 404 or 412)
            {
                // Changed since it was read. A usage flush: retire it again. Retired or rotated by another caller: that
                // caller won, and the new key must not stay as a second successor.
                var current = await ReadKeyAsync(row.RowKey, forUpdate: true, cancellationToken).ConfigureAwait(false);
                if (current is null || current.GetDateTimeOffset("RevokedAt") != old.RevokedAt || current.GetDateTimeOffset("ExpiresAt") != old.ExpiresAt)
                {
                    await DeleteKeyRowAsync(fresh.RowKey, cancellationToken).ConfigureAwait(false);
                    await CappedPartition.TryDeleteAsync(Table, IndexPartition(workspaceId), fresh.RowKey[..12], cancellationToken).ConfigureAwait(false);
                    return null;
                }

                row = current;
            }
        }

        cache.Remove(CacheKey(row.RowKey));
        return (ToInfo(row), ToInfo(fresh), raw);
    }

    /// <summary>Revokes every key of a workspace (when the workspace is deleted). Returns how many.</summary>
    public async Task<int> RevokeAllAsync(string workspaceId, CancellationToken cancellationToken)
    {
        var revoked = 0;
        foreach (var key in await ListAsync(workspaceId, cancellationToken).ConfigureAwait(false))
        {
            if (key.RevokedAt is null && await RevokeAsync(workspaceId, key.Id, cancellationToken).ConfigureAwait(false) is not null)
            {
                revoked++;
            }
        }

        return revoked;
    }

    /// <summary>Deletes every key row of a workspace (the last step of its purge). Returns how many.</summary>
    public async Task<int> DeleteAllAsync(string workspaceId, CancellationToken cancellationToken)
    {
        var deleted = 0;
        foreach (var row in await ReadIndexedAsync(workspaceId, cancellationToken).ConfigureAwait(false))
        {
            await DeleteKeyRowAsync(row.RowKey, cancellationToken).ConfigureAwait(false);
            cache.Remove(CacheKey(row.RowKey));
            _usage.TryRemove(row.RowKey, out _);
            deleted++;
        }

        await Table.DeletePartitionRowsAsync(TableClient.CreateQueryFilter($"PartitionKey eq {IndexPartition(workspaceId)}"), cancellationToken).ConfigureAwait(false);
        return deleted;
    }

    /// <summary>Writes the last-used times and failure counts gathered since the previous flush.</summary>
    public async Task<int> FlushUsageAsync(CancellationToken cancellationToken)
    {
        var written = 0;
        foreach (var (hash, usage) in _usage)
        {
            var (lastUsed, failures, lastFailed) = usage.Take();
            if (lastUsed is null && failures == 0)
            {
                continue;
            }

            try
            {
                await ApplyUsageAsync(hash, lastUsed, failures, lastFailed, cancellationToken).ConfigureAwait(false);
                written++;
            }
            catch (RequestFailedException ex)
            {
                usage.Restore(lastUsed, failures, lastFailed); // kept for the next flush
                LogUsageFlushFailed(logger, ex, ex.Status);
            }
        }

        return written;
    }

    /// <summary>
    /// Makes sure the default workspace has an instance-admin key: the one in AGENTSPEND_ADMIN_KEY, or on
    /// the very first start a generated one, which is returned (to be printed once) and never again.
    /// </summary>
    public async Task<string?> EnsureBootstrapKeyAsync(CancellationToken cancellationToken) =>
        await EnsureBootstrapKeyAsync(generateIfNone: true, cancellationToken).ConfigureAwait(false);

    /// <summary>As <see cref="EnsureBootstrapKeyAsync(CancellationToken)"/>; with <paramref name="generateIfNone"/> false no key is generated (where nothing may print it).</summary>
    public async Task<string?> EnsureBootstrapKeyAsync(bool generateIfNone, CancellationToken cancellationToken)
    {
        var configured = options.Value.AdminKey;
        var now = clock.GetUtcNow();
        if (configured is not null)
        {
            var entity = NewKeyEntity(configured, Workspace.DefaultId, "admin key from " + AgentSpendOptions.AdminKeySetting, [ApiKeyScopes.InstanceAdmin], null, now);
            var existing = await ReadKeyAsync(entity.RowKey, forUpdate: false, cancellationToken).ConfigureAwait(false);
            if (existing is null)
            {
                await Table.UpsertAsync(IndexEntity(Workspace.DefaultId, entity.RowKey), TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                await Table.UpsertAsync(entity, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
            }
            else if (ToInfo(existing).IsRetired(now))
            {
                // Revoking it through the API must stick, even though the setting still names it.
                LogConfiguredKeyRevoked(logger, AgentSpendOptions.AdminKeySetting);
            }

            cache.Remove(CacheKey(entity.RowKey));
            return null;
        }

        if (!generateIfNone)
        {
            return null;
        }

        // Whoever inserts the marker first generates the key, so concurrent first starts print one key.
        try
        {
            await Table.InsertAsync(new TableEntity(BootstrapPartition, Workspace.DefaultId) { ["CreatedAt"] = now }, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            return null;
        }

        var key = Generate(Workspace.DefaultId);
        var generated = NewKeyEntity(key, Workspace.DefaultId, "generated admin key", [ApiKeyScopes.InstanceAdmin], null, now);
        await Table.UpsertAsync(IndexEntity(Workspace.DefaultId, generated.RowKey), TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        await Table.InsertAsync(generated, cancellationToken).ConfigureAwait(false);
        LogGenerated(logger, DisplayPrefix(key));
        return key;
    }

    /// <summary>What a list shows of a key: enough to recognise it, too little to use it.</summary>
    public static string DisplayPrefix(string key)
    {
        var secretStart = key.StartsWith(KeyPrefix, StringComparison.Ordinal) ? key.IndexOf('_', KeyPrefix.Length) + 1 : 0;
        return key[..Math.Min(key.Length, Math.Max(secretStart, 3) + 4)];
    }

    private async Task ApplyUsageAsync(string hash, DateTimeOffset? lastUsed, long failures, DateTimeOffset? lastFailed, CancellationToken cancellationToken)
    {
        while (true)
        {
            var row = await ReadKeyAsync(hash, forUpdate: true, cancellationToken).ConfigureAwait(false);
            if (row is null)
            {
                return; // deleted meanwhile
            }

            if (lastUsed is { } used && (row.GetDateTimeOffset("LastUsedAt") is not { } stored || stored < used))
            {
                row["LastUsedAt"] = used;
            }

            if (failures > 0)
            {
                row["AuthFailures"] = (row.GetInt64("AuthFailures") ?? 0) + failures;
                row["LastFailedAt"] = lastFailed;
            }

            try
            {
                await Table.UpdateAsync(row, row.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (RequestFailedException ex) when (ex.Status is 404 or 412)
            {
                // Another instance flushed the same key (412), or its row was moved to its partition or deleted since
                // it was read (404): read again and add to what is there.
            }
        }
    }

    /// <summary>
    /// The key row of <paramref name="hash"/>: a point read of its partition and, while this instance may still have
    /// keys in the legacy partition, a second one there when the first finds nothing. With <paramref name="forUpdate"/>
    /// a legacy row is moved first and the moved row returned: changes are only ever written to the new partition.
    /// </summary>
    private async Task<TableEntity?> ReadKeyAsync(string hash, bool forUpdate, CancellationToken cancellationToken)
    {
        var row = await Table.GetIfExistsAsync(KeyPartition(hash), hash, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (row is not null || _legacyEmpty)
        {
            return row;
        }

        var legacy = await Table.GetIfExistsAsync(LegacyKeyPartition, hash, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (legacy is null || !forUpdate)
        {
            return legacy;
        }

        await MoveAsync(legacy, cancellationToken).ConfigureAwait(false);
        return await Table.GetIfExistsAsync(KeyPartition(hash), hash, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Moves a key row from the legacy partition to its own: the copy goes in first, then the legacy row is deleted,
    /// so a crash in between leaves both, and the next move finds the copy (409) and only deletes.
    /// </summary>
    /// <remarks>
    /// Why a usage flush racing a move can neither lose a key nor bring one back: nothing in this version writes a
    /// legacy row. A flush, revocation or rotation that finds its row there moves it first and then changes the copy
    /// with the copy's ETag, and a flush that read a row just before it moved gets 404 and reads again. So every copy
    /// of a legacy row is the same, a later copy cannot overwrite changes (the insert fails with 409), and a deleted
    /// legacy row cannot return (an update with an ETag never creates a row). Only an instance still running the
    /// previous version during an upgrade may change a legacy row after it was copied; the delete's ETag then no
    /// longer matches and the changed row is copied again, over the first copy, so its revocation is not lost. A move
    /// racing the deletion of its key can put a copy back, but only retired keys and those of deleted workspaces are
    /// deleted, and such a row authenticates nothing.
    /// </remarks>
    private async Task MoveAsync(TableEntity legacy, CancellationToken cancellationToken)
    {
        var again = false;
        while (true)
        {
            var copy = new TableEntity(KeyPartition(legacy.RowKey), legacy.RowKey);
            foreach (var (name, value) in legacy)
            {
                if (name is not ("PartitionKey" or "RowKey" or "Timestamp" or "odata.etag"))
                {
                    copy[name] = value;
                }
            }

            try
            {
                if (again)
                {
                    await Table.UpsertAsync(copy, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await Table.InsertAsync(copy, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (RequestFailedException ex) when (ex.Status == 409)
            {
                // Copied already: by another instance, or by an earlier start that stopped before the delete.
            }

            if (await Table.TryDeleteAsync(LegacyKeyPartition, legacy.RowKey, legacy.ETag, cancellationToken).ConfigureAwait(false)
                || await Table.GetIfExistsAsync(LegacyKeyPartition, legacy.RowKey, cancellationToken: cancellationToken).ConfigureAwait(false) is not { } changed)
            {
                return;
            }

            LogLegacyRowChanged(logger, legacy.RowKey[..12]);
            (legacy, again) = (changed, true);
        }
    }

    /// <summary>
    /// Deletes a key row, and its legacy row while this instance may have keys there (that one first, so a move that
    /// copied it just before leaves a copy that the second delete removes).
    /// </summary>
    private async Task DeleteKeyRowAsync(string hash, CancellationToken cancellationToken)
    {
        if (!_legacyEmpty)
        {
            await Table.TryDeleteAsync(LegacyKeyPartition, hash, ETag.All, cancellationToken).ConfigureAwait(false);
        }

        await Table.TryDeleteAsync(KeyPartition(hash), hash, ETag.All, cancellationToken).ConfigureAwait(false);
    }

    private async Task<TableEntity?> FindRowAsync(string workspaceId, string keyId, bool forUpdate, CancellationToken cancellationToken)
    {
        if (keyId.Length is 0 or > 64 || !keyId.All(char.IsAsciiLetterOrDigit))
        {
            return null;
        }

        // Two point reads: the workspace's index row, then the key it points at.
        if (await Table.GetIfExistsAsync(IndexPartition(workspaceId), keyId, cancellationToken: cancellationToken).ConfigureAwait(false) is not { } index
            || index.GetString("Hash") is not { } hash
            || await ReadKeyAsync(hash, forUpdate, cancellationToken).ConfigureAwait(false) is not { } row)
        {
            return null;
        }

        return string.Equals(row.GetString("WorkspaceId"), workspaceId, StringComparison.Ordinal) ? row : null;
    }

    private ApiKeyInfo WithPendingUsage(ApiKeyInfo info)
    {
        if (!_usage.TryGetValue(info.Hash, out var usage))
        {
            return info;
        }

        var (lastUsed, failures, lastFailed) = usage.Peek();
        return info with
        {
            LastUsedAt = lastUsed is { } u && (info.LastUsedAt is null || info.LastUsedAt < u) ? u : info.LastUsedAt,
            AuthFailuresCount = info.AuthFailuresCount + failures,
            LastFailedAt = lastFailed ?? info.LastFailedAt,
        };
    }

    private static TableEntity NewKeyEntity(string key, string workspaceId, string name, IEnumerable<string> scopes, string? createdBy, DateTimeOffset now)
    {
        var hash = Hash(key);
        return new TableEntity(KeyPartition(hash), hash)
        {
            ["KeyId"] = hash[..12],
            ["WorkspaceId"] = workspaceId,
            ["Name"] = name,
            ["Scopes"] = string.Join(',', scopes),
            ["Prefix"] = DisplayPrefix(key),
            ["CreatedAt"] = now,
            ["CreatedBy"] = createdBy,
        };
    }

    private static ApiKeyInfo ToInfo(TableEntity row) => new(
        row.GetString("KeyId") ?? row.RowKey[..12],
        row.GetString("WorkspaceId") ?? Workspace.DefaultId,
        row.GetString("Name") ?? "",
        row.GetString("Prefix") ?? "",
        (row.GetString("Scopes") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries),
        row.GetDateTimeOffset("CreatedAt") ?? default,
        row.GetString("CreatedBy"),
        row.GetDateTimeOffset("LastUsedAt"),
        row.GetInt64("AuthFailures") ?? 0,
        row.GetDateTimeOffset("LastFailedAt"),
        row.GetDateTimeOffset("RevokedAt"),
        row.GetDateTimeOffset("ExpiresAt"))
    {
        Hash = row.RowKey,
    };

    private static string CacheKey(string hash) => "apikey:" + hash;

    /// <summary>Whether <paramref name="key"/> could be a key at all (16–256 printable ASCII characters): what cannot costs no lookup.</summary>
    public static bool IsPlausible(string? key) =>
        key is { Length: >= MinPresentedLength and <= MaxPresentedLength } && key.All(c => c is > ' ' and <= '~');

    public void Dispose()
    {
        cache.Dispose();
        foreach (var stripe in _forgetting)
        {
            stripe.Dispose();
        }
    }

    private sealed record StoredKey(ApiKeyInfo Info)
    {
        public ApiKeyIdentity Identity { get; } = new(Info.Id, Info.WorkspaceId, Info.Name, Info.Scopes.ToHashSet(StringComparer.Ordinal));
    }

    /// <summary>Uses and failures of one key since the last flush.</summary>
    private sealed class KeyUsage
    {
        private readonly Lock _lock = new();
        private DateTimeOffset? _lastUsed;
        private long _failures;
        private DateTimeOffset? _lastFailed;

        public void Used(DateTimeOffset at)
        {
            lock (_lock)
            {
                _lastUsed = _lastUsed is { } previous && previous > at ? previous : at;
            }
        }

        public void Failed(DateTimeOffset at)
        {
            lock (_lock)
            {
                _failures++;
                _lastFailed = at;
            }
        }

        public (DateTimeOffset? LastUsed, long Failures, DateTimeOffset? LastFailed) Peek()
        {
            lock (_lock)
            {
                return (_lastUsed, _failures, _lastFailed);
            }
        }

        public (DateTimeOffset? LastUsed, long Failures, DateTimeOffset? LastFailed) Take()
        {
            lock (_lock)
            {
                var taken = (_lastUsed, _failures, _lastFailed);
                (_lastUsed, _failures, _lastFailed) = (null, 0, null);
                return taken;
            }
        }

        public void Restore(DateTimeOffset? lastUsed, long failures, DateTimeOffset? lastFailed)
        {
            if (lastUsed is { } used)
            {
                Used(used);
            }

            lock (_lock)
            {
                _failures += failures;
                _lastFailed ??= lastFailed;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Generated the first admin key ({KeyPrefix}…); it is shown once on the console and stored only as a hash")]
    private static partial void LogGenerated(ILogger logger, string keyPrefix);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The key in {Setting} was revoked through the API and stays revoked; set a new one")]
    private static partial void LogConfiguredKeyRevoked(ILogger logger, string setting);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused key {KeyId} of workspace {WorkspaceId}: it is revoked or expired")]
    private static partial void LogRefusedKey(ILogger logger, string keyId, string workspaceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Moved {Count} key rows from the legacy key partition to their hash-prefix partitions")]
    private static partial void LogKeysMoved(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The legacy row of key {KeyId} changed while it was moved (an instance of the previous version?): copied again")]
    private static partial void LogLegacyRowChanged(ILogger logger, string keyId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not write key usage (status {Status}); it is kept for the next flush")]
    private static partial void LogUsageFlushFailed(ILogger logger, Exception exception, int status);
}

/// <summary>The workspace holds as many keys as it may (<see cref="ApiKeyService.MaxKeysPerWorkspace"/>), none retired long enough ago to forget.</summary>
public sealed class KeyLimitReachedException(int limit) : Exception($"A workspace holds at most {limit} keys, retired ones included (those retired over 30 days ago make room).");
