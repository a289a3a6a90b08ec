using AgentSpend.Core.Domain;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Workspaces;
using Azure;
using Azure.Data.Tables;

namespace AgentSpend.Core.Limits;

/// <summary>What the plan let through of one batch.</summary>
public sealed record LimitDecision(IReadOnlyList<UsageEvent> Allowed, IReadOnlyList<string> RejectedAgents, bool DailyLimitReached, TimeSpan RetryAfter, long? DailyLimit);

/// <summary>
/// Enforces a workspace's plan at ingest: the agents it may have, and the events it may send per
/// workspace-local day. Known agents are kept in the <c>limits</c> table (partition <c>{workspace}|agents</c>)
/// and cached; the day's count is one row (partition <c>{workspace}|quota</c>) updated under its ETag, so
/// concurrent ingests cannot both take the last places.
/// </summary>
public sealed class PlanLimitEnforcer(IStorageProvider storage, TimeProvider clock)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, AgentRegistry> _registries = new(StringComparer.Ordinal);

    private static readonly TimeSpan AgentCacheTime = TimeSpan.FromSeconds(60);

    private ITableStore Table => storage.GetTable(StorageNames.LimitsTable);

    public static string AgentsPartition(string workspaceId) => workspaceId + "|agents";

    public static string QuotaPartition(string workspaceId) => workspaceId + "|quota";

    public async Task<LimitDecision> ApplyAsync(Workspace workspace, IReadOnlyList<UsageEvent> events, CancellationToken cancellationToken)
    {
        var rejectedAgents = await RegisterAgentsAsync(workspace, events, cancellationToken).ConfigureAwait(false);
        var allowed = rejectedAgents.Count == 0 ? events : events.Where(e => !rejectedAgents.Contains(e.Agent)).ToArray();
        var rejectedList = rejectedAgents.Order(StringComparer.Ordinal).ToArray();
        if (workspace.Limits.EventsPerDay is not { } perDay || allowed.Count == 0)
        {
            return new LimitDecision(allowed, rejectedList, false, TimeSpan.Zero, workspace.Limits.EventsPerDay);
        }

        var reached = !await TryTakeQuotaAsync(workspace, allowed.Count, perDay, cancellationToken).ConfigureAwait(false);
        var now = clock.GetUtcNow();
        var retryAfter = reached ? workspace.StartOfDayUtc(workspace.Today(clock).AddDays(1)) - now : TimeSpan.Zero;
        return new LimitDecision(reached ? [] : allowed, rejectedList, reached, retryAfter, perDay);
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

    private async Task<HashSet<string>> RegisterAgentsAsync(Workspace workspace, IReadOnlyList<UsageEvent> events, CancellationToken cancellationToken)
    {
        var rejected = new HashSet<string>(StringComparer.Ordinal);
        var registry = _registries.GetOrAdd(workspace.Id, static _ => new AgentRegistry());
        var seen = events.Select(e => e.Agent).Distinct(StringComparer.Ordinal).ToArray();
        if (registry.IsFresh(clock) && registry.KnowsAll(seen))
        {
            return rejected; // the common case: no lock, no storage request
        }

        // One caller per workspace loads and registers at a time, so concurrent batches with the same new
        // agents neither load the list twice nor insert each agent twice.
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

            await Task.WhenAll(admitted.Select(agent => RegisterAsync(workspace.Id, agent, cancellationToken))).ConfigureAwait(false);
            registry.Add(admitted);
        }
        finally
        {
            registry.Gate.Release();
        }

        return rejected;
    }

    private async Task RegisterAsync(string workspaceId, string agent, CancellationToken cancellationToken)
    {
        try
        {
            await Table.InsertAsync(new TableEntity(AgentsPartition(workspaceId), TableKey.Encode(agent)) { ["FirstSeenAt"] = clock.GetUtcNow() }, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            // Registered by another instance meanwhile: it is known either way.
        }
    }

    private async Task<bool> TryTakeQuotaAsync(Workspace workspace, int events, long perDay, CancellationToken cancellationToken)
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

                return true;
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412)
            {
                // Another ingest took places meanwhile: read the count again.
            }
        }
    }

    /// <summary>The agents of one workspace known to this instance, reloaded from the table once a minute.</summary>
    private sealed class AgentRegistry
    {
        private volatile HashSet<string> _known = new(StringComparer.Ordinal);
        private DateTimeOffset _loadedAt = DateTimeOffset.MinValue;

        public SemaphoreSlim Gate { get; } = new(1, 1);

        public int Count => _known.Count;

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

        public void Forget() => _loadedAt = DateTimeOffset.MinValue;
    }
}
