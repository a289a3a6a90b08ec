using AgentSpend.Core.Domain;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Workspaces;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;

namespace AgentSpend.Core.Limits;

/// <summary>What the plan let through of one batch.</summary>
public sealed record LimitDecision(IReadOnlyList<UsageEvent> Allowed, IReadOnlyList<string> RejectedAgents, bool DailyLimitReached, TimeSpan RetryAfter, long? DailyLimit);

/// <summary>
/// Enforces a workspace's plan at ingest: the agents it may have, and the events it may send per
/// workspace-local day. Known agents are kept in the <c>limits</c> table (partition <c>{workspace}|agents</c>)
/// and cached; the day's count is one row (partition <c>{workspace}|quota</c>) updated under its ETag, so
/// concurrent ingests cannot both take the last places.
/// <para>
/// Only what is queued stays charged. Places and quota are taken before queueing (so that concurrent batches
/// cannot both take the last ones) and recorded in the request's <see cref="IngestCharge"/>; a batch the quota
/// refuses registers no agent; a request that fails after charging (a queue send failed, storage went away)
/// gives its charge back with <see cref="RefundAsync"/>; an agent's place is kept for good once a batch with
/// its events has been queued whole (<see cref="KeepPlaces"/>).
/// </para>
/// </summary>
public sealed partial class PlanLimitEnforcer(IStorageProvider storage, TimeProvider clock, ILogger<PlanLimitEnforcer> logger)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, AgentRegistry> _registries = new(StringComparer.Ordinal);

    private static readonly TimeSpan AgentCacheTime = TimeSpan.FromSeconds(60);

    private ITableStore Table => storage.GetTable(StorageNames.LimitsTable);

    public static string AgentsPartition(string workspaceId) => workspaceId + "|agents";

    public static string QuotaPartition(string workspaceId) => workspaceId + "|quota";

    /// <param name="charge">Receives what this batch takes: quota, and the agents it registers.</param>
    public async Task<LimitDecision> ApplyAsync(Workspace workspace, IReadOnlyList<UsageEvent> events, IngestCharge charge, CancellationToken cancellationToken)
    {
        var registry = _registries.GetOrAdd(workspace.Id, static _ => new AgentRegistry());
        var seen = events.Select(e => e.Agent).Distinct(StringComparer.Ordinal).ToArray();
        if (registry.IsFresh(clock) && registry.KnowsAll(seen))
        {
            // The common case: no lock, and no storage request unless the workspace has a daily quota.
            return await TakeQuotaAsync(workspace, events, [], charge, cancellationToken).ConfigureAwait(false);
        }

        // One caller per workspace decides on new agents at a time, so concurrent batches with new agents neither
        // load the list twice, nor insert an agent twice, nor both take the last place.
        await registry.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!registry.IsFresh(clock))
            {
                var known = new HashSet<string>(StringComparer.Ordinal);
                var filter = TableClient.CreateQueryFilter($"PartitionKey eq {AgentsPartition(workspace.Id)}");
                await foreach (var row in Table.QueryAsync(filter, ["RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
                {
                    known.Add(TableKey.Decode(row.RowKey));
                }

                registry.Replace(known, clock);
            }

            var admitted = new List<string>();
            var rejected = new HashSet<string>(StringComparer.Ordinal);
            foreach (var agent in seen)
            {
                if (registry.Knows(agent))
                {
                    continue;
                }

                if (registry.Count + admitted.Count >= workspace.Limits.MaxAgents)
                {
                    rejected.Add(agent);
                }
                else
                {
                    admitted.Add(agent);
                }
            }

            var allowed = rejected.Count == 0 ? events : events.Where(e => !rejected.Contains(e.Agent)).ToArray();
            var decision = await TakeQuotaAsync(workspace, allowed, rejected.Order(StringComparer.Ordinal).ToArray(), charge, cancellationToken).ConfigureAwait(false);
            if (decision.DailyLimitReached)
            {
                return decision; // nothing of the batch is queued, so it takes no place either
            }

            await Task.WhenAll(admitted.Select(agent => RegisterAsync(workspace.Id, agent, registry, charge, cancellationToken))).ConfigureAwait(false);
            registry.Add(admitted);
            return decision;
        }
        finally
        {
            registry.Gate.Release();
        }
    }

    /// <summary>
    /// A batch was queued whole: the agents it carried keep the places a batch of this or another request took for
    /// them, whatever happens to that request later (their events are counted now).
    /// </summary>
    public void KeepPlaces(string workspaceId, IReadOnlyList<UsageEvent> queued)
    {
        if (queued.Count > 0 && _registries.TryGetValue(workspaceId, out var registry) && registry.HasProvisional)
        {
            foreach (var e in queued)
            {
                registry.Keep(e.Agent);
            }
        }
    }

    /// <summary>
    /// Gives back what a request took and did not keep: the events it took from each day's quota, and the places of
    /// the agents it registered that no batch queued whole since. Never throws: it runs while the request is already
    /// failing. The first failure ends it (storage that failed once would most likely fail each further step too, and
    /// the request would wait for every one); what stays charged is logged, and the client's resend is charged again.
    /// </summary>
    public async Task RefundAsync(Workspace workspace, IngestCharge charge)
    {
        if (charge.IsEmpty)
        {
            return;
        }

        var (quota, agents) = charge.TakeAll();
        try
        {
            foreach (var (day, events) in quota)
            {
                await GiveBackQuotaAsync(workspace.Id, day, events).ConfigureAwait(false);
                LogQuotaRefunded(logger, events, day, workspace.Id);
            }

            if (agents.Length > 0 && _registries.TryGetValue(workspace.Id, out var registry))
            {
                await GiveBackPlacesAsync(workspace.Id, agents, registry).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            // Whatever went wrong here must not hide the request's own failure.
            LogRefundFailed(logger, ex, workspace.Id);
        }
    }

    /// <summary>Whether the agent has ever sent usage to the workspace (it is registered on its first event).</summary>
    public async Task<bool> KnowsAgentAsync(string workspaceId, string agent, CancellationToken cancellationToken) =>
        await Table.GetIfExistsAsync(AgentsPartition(workspaceId), TableKey.Encode(agent), ["RowKey"], cancellationToken).ConfigureAwait(false) is not null;

    /// <summary>The events counted against today's quota so far.</summary>
    public async Task<long> UsedTodayAsync(Workspace workspace, CancellationToken cancellationToken)
    {
        var row = await Table.GetIfExistsAsync(QuotaPartition(workspace.Id), Workspace.FormatDay(workspace.Today(clock)), cancellationToken: cancellationToken).ConfigureAwait(false);
        return row?.GetInt64("Count") ?? 0;
    }

    /// <summary>Deletes a workspace's agents and quota rows (its purge). Returns how many.</summary>
    public async Task<int> DeleteWorkspaceAsync(string workspaceId, CancellationToken cancellationToken)
    {
        if (_registries.TryRemove(workspaceId, out var registry))
        {
            registry.Forget();
        }

        var filter = TableClient.CreateQueryFilter($"PartitionKey ge {workspaceId + "|"} and PartitionKey lt {workspaceId + "}"}");
        return await Table.DeletePartitionRowsAsync(filter, cancellationToken).ConfigureAwait(false);
    }

    private async Task<LimitDecision> TakeQuotaAsync(Workspace workspace, IReadOnlyList<UsageEvent> allowed, string[] rejectedAgents, IngestCharge charge, CancellationToken cancellationToken)
    {
        if (workspace.Limits.EventsPerDay is not { } perDay || allowed.Count == 0)
        {
            return new LimitDecision(allowed, rejectedAgents, false, TimeSpan.Zero, workspace.Limits.EventsPerDay);
        }

        var reached = !await TryTakeQuotaAsync(workspace, allowed.Count, perDay, charge, cancellationToken).ConfigureAwait(false);
        var now = clock.GetUtcNow();
        var retryAfter = reached ? workspace.StartOfDayUtc(workspace.Today(clock).AddDays(1)) - now : TimeSpan.Zero;
        return new LimitDecision(reached ? [] : allowed, rejectedAgents, reached, retryAfter, perDay);
    }

    private async Task RegisterAsync(string workspaceId, string agent, AgentRegistry registry, IngestCharge charge, CancellationToken cancellationToken)
    {
        try
        {
            await Table.InsertAsync(new TableEntity(AgentsPartition(workspaceId), TableKey.Encode(agent)) { ["FirstSeenAt"] = clock.GetUtcNow() }, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            // Registered by another instance meanwhile: it is known either way, and not ours to give back.
            return;
        }

        // Recorded as each insert succeeds: if a sibling insert fails, the refund still finds this one.
        registry.MarkProvisional(agent);
        charge.Registered(agent);
    }

    private async Task<bool> TryTakeQuotaAsync(Workspace workspace, int events, long perDay, IngestCharge charge, CancellationToken cancellationToken)
    {
        var partition = QuotaPartition(workspace.Id);
        var day = Workspace.FormatDay(workspace.Today(clock));
        while (true)
        {
            var row = await Table.GetIfExistsAsync(partition, day, cancellationToken: cancellationToken).ConfigureAwait(false);
            var used = row?.GetInt64("Count") ?? 0;
            if (used + events > perDay)
            {
                return false;
            }

            var updated = new TableEntity(partition, day) { ["Count"] = used + events };
            try
            {
                if (row is null)
                {
                    await Table.InsertAsync(updated, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await Table.UpdateAsync(updated, row.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                }

                charge.TookQuota(day, events);
                return true;
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412)
            {
                // Another ingest took places meanwhile: read the count again.
            }
        }
    }

    private async Task GiveBackQuotaAsync(string workspaceId, string day, long events)
    {
        var partition = QuotaPartition(workspaceId);
        while (true)
        {
            var row = await Table.GetIfExistsAsync(partition, day, cancellationToken: CancellationToken.None).ConfigureAwait(false);
            if (row is null)
            {
                return; // purged meanwhile: nothing left to give back
            }

            var updated = new TableEntity(partition, day) { ["Count"] = Math.Max(0, (row.GetInt64("Count") ?? 0) - events) };
            try
            {
                await Table.UpdateAsync(updated, row.ETag, TableUpdateMode.Replace, CancellationToken.None).ConfigureAwait(false);
                return;
            }
            catch (RequestFailedException ex) when (ex.Status == 412)
            {
                // Another ingest took places meanwhile: read the count again.
            }
        }
    }

    private async Task GiveBackPlacesAsync(string workspaceId, string[] agents, AgentRegistry registry)
    {
        await registry.Gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            // Unmarked one by one as they are deleted: a place a batch kept meanwhile is not given back, and if a delete
            // fails, its row stays and so does the agent in the registry, which keeps matching the table. A batch that
            // found the agent known just before this and is queued just after leaves it counted but unregistered, a
            // until its next event registers it again: a narrow race, at worst letting one more agent in than the cap allows.
            foreach (var agent in agents.Where(registry.Unmark))
            {
                await Table.DeleteAsync(AgentsPartition(workspaceId), TableKey.Encode(agent), ETag.All, CancellationToken.None).ConfigureAwait(false);
                registry.Remove(agent);
            }
        }
        finally
        {
            registry.Gate.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Gave back {Events} events of {Day}'s quota of workspace {WorkspaceId}: the request that took them failed")]
    private static partial void LogQuotaRefunded(ILogger logger, long events, string day, string workspaceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not give back all a failed request of workspace {WorkspaceId} took from its plan; its resend is charged again")]
    private static partial void LogRefundFailed(ILogger logger, Exception exception, string workspaceId);

    /// <summary>The agents of one workspace known to this instance, reloaded from the table once a minute.</summary>
    private sealed class AgentRegistry
    {
        private volatile HashSet<string> _known = new(StringComparer.Ordinal);
        private DateTimeOffset _loadedAt = DateTimeOffset.MinValue;

        // Registered by a request that has not yet queued a batch with them: given back if that request fails.
        // Kept apart from _known, so a reload of the list does not make them permanent.
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _provisional = new(StringComparer.Ordinal);

        public SemaphoreSlim Gate { get; } = new(1, 1);

        public int Count => _known.Count;

        public bool HasProvisional => !_provisional.IsEmpty;

        public bool IsFresh(TimeProvider clock) => clock.GetUtcNow() - _loadedAt < AgentCacheTime;

        public bool Knows(string agent) => _known.Contains(agent);

        public bool KnowsAll(IEnumerable<string> agents) => agents.All(_known.Contains);

        public void Replace(HashSet<string> known, TimeProvider clock)
        {
            _known = known;
            _loadedAt = clock.GetUtcNow();
        }

        // Copy-on-write: readers outside the gate never see a set being changed.
        public void Add(List<string> agents)
        {
            if (agents.Count > 0)
            {
                _known = new HashSet<string>(_known.Concat(agents), StringComparer.Ordinal);
            }
        }

        public void Remove(string agent)
        {
            if (_known.Contains(agent))
            {
                _known = new HashSet<string>(_known.Where(a => a != agent), StringComparer.Ordinal);
            }
        }

        public void MarkProvisional(string agent) => _provisional[agent] = 0;

        public void Keep(string agent) => _provisional.TryRemove(agent, out _);

        /// <summary>True when the agent was still provisional, so its place is to be given back (by this caller only).</summary>
        public bool Unmark(string agent) => _provisional.TryRemove(agent, out _);

        public void Forget() => _loadedAt = DateTimeOffset.MinValue;
    }
}
