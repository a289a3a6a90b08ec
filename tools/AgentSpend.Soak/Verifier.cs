using System.Globalization;
using System.Text.Json;
using AgentSpend.Core.Aggregation;
using AgentSpend.Core.Ingest;
using AgentSpend.Core.Storage;

namespace AgentSpend.Soak;

/// <summary>
/// Compares what the metrics API counts with the oracle, workspace by workspace: the total (overview), each day
/// (daily timeseries), each agent (breakdown by agent) and each agent on each day (the timeseries filtered by
/// agent), every figure: events, each token kind and cost. Also: both instances answer the same overview, and
/// nothing is unpriced.
/// </summary>
internal sealed class Verifier(SoakRun run, Cluster cluster)
{
    private readonly List<(int Order, string Text)> _mismatches = [];

    /// <summary>Every mismatch: first the totals of every workspace, then days, agents, and agents by day.</summary>
    public IReadOnlyList<string> Mismatches => [.. _mismatches.OrderBy(m => m.Order).Select(m => m.Text)];

    /// <summary>Compares every workspace; returns the days the comparison covered.</summary>
    public async Task<(string From, string To)> CompareAsync(KeylessLedger keyless)
    {
        var days = Loads.WorkspaceLabels.SelectMany(run.Oracle.Contributions).Select(c => c.Day)
            .Concat(keyless.Expected().Keys.Where(s => s.Day is not null && s.Agent is null).Select(s => s.Day!))
            .Append(DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture))
            .Order(StringComparer.Ordinal).ToArray();
        var (from, to) = (days[0], days[^1]);
        foreach (var label in Loads.WorkspaceLabels)
        {
            var counted = await CountedAsync(run.Workspaces[label], from, to);
            if (label == Loads.Keyless)
            {
                CompareKeyless(label, keyless, counted);
            }
            else
            {
                Compare(label, Oracle.Expected(run.Oracle.Contributions(label)), counted);
            }
        }

        return (from, to);
    }

    /// <summary>What the app counts in every scope of a workspace over [from, to].</summary>
    private async Task<Dictionary<Scope, Usage>> CountedAsync(SoakWorkspace workspace, string from, string to)
    {
        var counted = new Dictionary<Scope, Usage>();
        var range = $"from={from}&to={to}";
        var overview = await run.Sender.GetJsonAsync("verify", workspace.Key, $"/api/v1/metrics/overview?{range}");
        counted[new Scope("total", null, null)] = Read(overview);
        if (overview.GetProperty("unpriced_events").GetInt64() != 0)
        {
            _mismatches.Add((-1, $"{workspace.Label}: {overview.GetProperty("unpriced_events").GetInt64()} unpriced events (every event sent has a cost or a priced model)"));
        }

        // Both instances must tell the same: neither may answer from what it read before the other counted.
        for (var instance = 0; instance < Cluster.Size; instance++)
        {
            if (!cluster.IsRunning(instance))
            {
                continue; // it did not start again: that is a failure of the run already
            }

            var other = Read(await run.Sender.GetJsonFromAsync(instance, workspace.Key, $"/api/v1/metrics/overview?{range}"));
            if (other != counted[new Scope("total", null, null)])
            {
                _mismatches.Add((-1, $"{workspace.Label}: instance {Cluster.Name(instance)} answers the overview {other}, another read {counted[new Scope("total", null, null)]}"));
            }
        }

        foreach (var point in (await run.Sender.GetJsonAsync("verify", workspace.Key, $"/api/v1/metrics/timeseries?granularity=day&{range}")).GetProperty("points").EnumerateArray())
        {
            var day = point.GetProperty("date").GetString()!;
            counted[new Scope($"day {day}", day, null)] = Read(point);
        }

        var breakdown = await run.Sender.GetJsonAsync("verify", workspace.Key, $"/api/v1/metrics/breakdown?by=agent&{range}");
        if (breakdown.TryGetProperty("other", out var other0) && other0.ValueKind != JsonValueKind.Null)
        {
            _mismatches.Add((-1, $"{workspace.Label}: the breakdown by agent folded agents into 'other' ({other0}); the per-agent comparison is incomplete"));
        }

        foreach (var item in breakdown.GetProperty("items").EnumerateArray())
        {
            var agent = item.GetProperty("key").GetString()!;
            counted[new Scope($"agent {agent}", null, agent)] = Read(item);
            var series = await run.Sender.GetJsonAsync("verify", workspace.Key, $"/api/v1/metrics/timeseries?granularity=day&{range}&agent={Uri.EscapeDataString(agent)}");
            foreach (var point in series.GetProperty("points").EnumerateArray())
            {
                var day = point.GetProperty("date").GetString()!;
                counted[new Scope($"agent {agent} on {day}", day, agent)] = Read(point);
            }
        }

        return counted;
    }

    private static Usage Read(JsonElement e) => new(
        e.GetProperty("events").GetInt64(), e.GetProperty("input_tokens").GetInt64(), e.GetProperty("output_tokens").GetInt64(),
        e.GetProperty("cache_read_tokens").GetInt64(), e.GetProperty("cache_write_tokens").GetInt64(), e.GetProperty("reasoning_tokens").GetInt64(),
        e.GetProperty("cost_usd").GetDecimal());

    /// <summary>Every scope either side knows, every figure equal (a scope missing on one side counts as zero there).</summary>
    private void Compare(string label, Dictionary<Scope, Usage> expected, Dictionary<Scope, Usage> counted)
    {
        foreach (var scope in expected.Keys.Union(counted.Keys).OrderBy(Order).ThenBy(s => s.Name, StringComparer.Ordinal))
        {
            var (want, got) = (expected.GetValueOrDefault(scope), counted.GetValueOrDefault(scope));
            for (var f = 0; f < Usage.Fields.Length; f++)
            {
                if (want.Field(f) != got.Field(f))
                {
                    _mismatches.Add((Order(scope), $"{label}, {scope.Name}: {Usage.Fields[f]} expected {want.Field(f)}, counted {got.Field(f)} ({got.Field(f) - want.Field(f):+0.#########;-0.#########})"));
                }
            }
        }
    }

    /// <summary>
    /// Keyless batches: each scope must count its accepted batches plus between none and its allowed copies, whole
    /// batches, every figure in step (see <see cref="KeylessLedger"/>).
    /// </summary>
    private void CompareKeyless(string label, KeylessLedger keyless, Dictionary<Scope, Usage> counted)
    {
        var expected = keyless.Expected();
        foreach (var scope in expected.Keys.Union(counted.Keys).OrderBy(Order).ThenBy(s => s.Name, StringComparer.Ordinal))
        {
            var (batches, allowed) = expected.GetValueOrDefault(scope);
            var got = counted.GetValueOrDefault(scope);
            var copies = (got.Events / (decimal)keyless.Batch.Events) - batches;
            var whole = copies == decimal.Truncate(copies) && copies >= 0 && copies <= allowed;
            if (!whole || got != keyless.Batch * (batches + (long)copies))
            {
                _mismatches.Add((Order(scope), $"{label}, {scope.Name}: expected {batches} batches of {keyless.Batch.Events} events (and up to {allowed} more copies), counted {got}"));
            }
            else if (copies > 0 && scope.Day is null && scope.Agent is null)
            {
                run.Count("keyless batches counted twice after an ambiguous failure (allowed)", (long)copies);
            }
        }
    }

    private static int Order(Scope s) => (s.Day is null ? 0 : 1) + (s.Agent is null ? 0 : 2);

    /// <summary>The poison queues must be empty; what an ingest poison message holds is told by workspace, so a loss can be traced.</summary>
    public async Task<List<string>> PoisonAsync(IStorageProvider storage)
    {
        var problems = new List<string>();
        var labels = run.Workspaces.Values.ToDictionary(w => w.Id, w => w.Label, StringComparer.Ordinal);
        foreach (var queue in new[] { StorageNames.IngestQueue, StorageNames.AlertsQueue }.Select(StorageNames.PoisonQueueOf))
        {
            var store = storage.GetQueue(queue);
            var count = await store.GetApproximateCountAsync();
            run.Figures[$"poison {queue}"] = count;
            if (count == 0)
            {
                continue;
            }

            var detail = "";
            if (queue == StorageNames.PoisonQueueOf(StorageNames.IngestQueue))
            {
                // Whether each poisoned event has its raw row: counted before its message was poisoned (a page holds it), or lost.
                var peeked = await store.PeekAsync(32);
                var usage = storage.GetTable(StorageNames.UsageTable);
                // An event resent in two poisoned messages is one event.
                var distinct = peeked.SelectMany(m => Unpack(m.Text)).DistinctBy(e => (e.WorkspaceId, e.Id)).ToArray();
                var counted = new Dictionary<string, CountedEventSet>(StringComparer.Ordinal);
                foreach (var partition in distinct.Select(UsageTableKeys.PartitionOf).Distinct(StringComparer.Ordinal))
                {
                    counted[partition] = await CountedEventSet.LoadAsync(usage, partition, CancellationToken.None);
                }

                var events = distinct.Select(e => (Event: e, Counted: counted[UsageTableKeys.PartitionOf(e)].Contains(EventPages.HashOf(e)))).ToArray();
                var held = events.GroupBy(e => labels.GetValueOrDefault(e.Event.WorkspaceId, e.Event.WorkspaceId)).Select(g =>
                    $"{g.Key} {g.Count()} distinct events on {string.Join(", ", g.Select(e => e.Event.Day).Distinct().Order(StringComparer.Ordinal))}, " +
                    $"{g.Count(e => e.Counted)} of them counted (a page holds them), {g.Count(e => !e.Counted)} not");
                detail = $"; the first {peeked.Count} hold: {string.Join("; ", held)}";
            }

            problems.Add($"{queue}: {count} messages{detail}");
        }

        return problems;
    }

    private static IReadOnlyList<Core.Domain.UsageEvent> Unpack(string text)
    {
        try
        {
            return IngestMessageCodec.Unpack(text).Events;
        }
        catch (InvalidDataException)
        {
            return [];
        }
    }
}
