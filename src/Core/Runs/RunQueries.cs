using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using AgentSpend.Core.Aggregation;
using AgentSpend.Core.Domain;
using AgentSpend.Core.Metrics;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Workspaces;
using Azure.Data.Tables;

namespace AgentSpend.Core.Runs;

/// <summary>A run or session with its figures, summed over its days.</summary>
public sealed class RunSummary(RunEntry entry, RunDay total) : UsageTotals(total.Total)
{
    [JsonPropertyOrder(-10)] public string Kind { get; } = entry.Kind.Name();
    [JsonPropertyOrder(-9)] public string Id { get; } = entry.Id;
    [JsonPropertyOrder(-8)] public string Status { get; } = entry.Status;
    [JsonPropertyOrder(-7)] public string Agent { get; } = entry.Agent;
    [JsonPropertyOrder(-6)] public string? User { get; } = entry.User;
    [JsonPropertyOrder(-5)] public string? Team { get; } = entry.Team;
    [JsonPropertyOrder(-4)] public string StartedAt { get; } = Instant(entry.FirstAtMs);
    [JsonPropertyOrder(-3)] public string EndedAt { get; } = Instant(entry.LastAtMs);

    /// <summary>The run's duration: from its first event to its last, in milliseconds (<c>duration_ms</c> sums the calls' own durations).</summary>
    [JsonPropertyOrder(-2)] public long ElapsedMs { get; } = entry.LastAtMs - entry.FirstAtMs;

    [JsonPropertyOrder(-1)] public string? CompletedAt { get; } = entry.CompletedAtMs is { } at ? Instant(at) : null;

    /// <summary>The models used, dearest first.</summary>
    public IReadOnlyList<string> Models { get; } = [.. total.Models.OrderByDescending(m => m.Value.CostNanos).ThenBy(m => m.Key, StringComparer.Ordinal).Select(m => m.Key)];

    public long Tokens { get; } = Concentration.TokensOf(total.Total);

    public static string Instant(long unixMs) => DateTimeOffset.FromUnixTimeMilliseconds(unixMs).ToString("O", CultureInfo.InvariantCulture);
}

public sealed record RunList(string Kind, string From, string To, IReadOnlyList<RunSummary> Items, string? NextCursor);

public sealed class RunModel(string model, UsageCounters counters) : UsageTotals(counters)
{
    [JsonPropertyOrder(-1)] public string Model { get; } = model;
}

public sealed record RunDetail(RunSummary Run, IReadOnlyList<RunModel> ModelUsage);

/// <summary>One stored event as the API shows it: no prompt text is ever stored, so none is shown.</summary>
public sealed record EventView(
    string Timestamp, string Agent, string Provider, string Model, long InputTokens, long OutputTokens, long CacheReadTokens, long CacheWriteTokens,
    long ReasoningTokens, decimal? CostUsd, decimal? EstimatedCostUsd, bool ServerPriced, long? DurationMs, bool? TaskSuccess,
    string? RunId, string? SessionId, string? UserId, string? Team, string? TaskType, IReadOnlyDictionary<string, string>? Tags)
{
    /// <summary>The API key the event was sent with.</summary>
    public string? KeyId { get; init; }

    /// <summary><c>killed</c> or <c>paused</c> when the event arrived while such a stop was in force for it; counted all the same.</summary>
    public string? Held { get; init; }

    public static EventView Of(UsageEvent e) => new(
        e.Timestamp.ToString("O", CultureInfo.InvariantCulture), e.Agent, e.Provider, e.Model, e.InputTokens, e.OutputTokens, e.CacheReadTokens, e.CacheWriteTokens,
        e.ReasoningTokens, e.CostNanos is { } c ? Money.ToUsd(c) : null, e.EstimatedCostNanos is { } est ? Money.ToUsd(est) : null, e.ServerPriced, e.DurationMs, e.TaskSuccess,
        e.RunId, e.SessionId, e.UserId, e.Team, e.TaskType, e.Tags)
    {
        KeyId = e.KeyId,
        Held = e.Held,
    };
}

public sealed record EventPage(IReadOnlyList<EventView> Items, string? NextCursor);

/// <summary>Lists runs and sessions from the index, with their figures from their run days; pages a run's raw events.</summary>
public sealed class RunQueries(IStorageProvider storage, RunIndex index, MetricsService metrics, StorageFanOut fanOut)
{
    /// <summary>How many runs are summarised at a time while a model or provider filter looks for a page's worth.</summary>
    private const int FilterChunk = 32;

    /// <summary>
    /// The runs (or sessions) active in the range, latest first. <paramref name="keep"/> selects on what the index
    /// holds (agent, user, team, status); <paramref name="models"/>, when given, keeps only runs that used one of those
    /// models (their figures stay the whole run's).
    /// </summary>
    public async Task<RunList> ListAsync(
        Workspace workspace, RunKind kind, MetricsRange range, Func<RunEntry, bool> keep, IReadOnlySet<string>? models, int limit, string? cursor, CancellationToken cancellationToken)
    {
        (long LastAt, string Hash)? after = cursor is null ? null : DecodeListCursor(cursor);
        var candidates = (await index.ListAsync(workspace.Id, kind, workspace.StartOfDayUtc(range.From), workspace.StartOfDayUtc(range.To.AddDays(1)), cancellationToken).ConfigureAwait(false))
            .Where(keep)
            .OrderByDescending(e => e.LastAtMs).ThenBy(e => e.Hash, StringComparer.Ordinal)
            .Where(e => after is null || e.LastAtMs < after.Value.LastAt || (e.LastAtMs == after.Value.LastAt && string.CompareOrdinal(e.Hash, after.Value.Hash) > 0));
        if (models is null)
        {
            var entries = candidates.Take(limit + 1).ToArray();
            var page = entries.Take(limit).ToArray();
            var summaries = await Task.WhenAll(page.Select(e => SummariseAsync(workspace, e, cancellationToken))).ConfigureAwait(false);
            return Listed(kind, range, page, [.. summaries.Select(s => s.Summary)], entries.Length > limit);
        }

        // Which runs used the models is only in their run days: summarise in order until the page (and one more) is found.
        var found = new List<(RunEntry Entry, RunSummary Summary)>();
        foreach (var chunk in candidates.Chunk(FilterChunk))
        {
            var summaries = await Task.WhenAll(chunk.Select(e => SummariseAsync(workspace, e, cancellationToken))).ConfigureAwait(false);
            found.AddRange(chunk.Zip(summaries)
                .Where(x => x.Second.Total.Models.Any(m => m.Value.Events > 0 && models.Contains(m.Key)))
                .Select(x => (x.First, x.Second.Summary)));
            if (found.Count > limit)
            {
                break;
            }
        }

        var kept = found.Take(limit).ToArray();
        return Listed(kind, range, [.. kept.Select(k => k.Entry)], [.. kept.Select(k => k.Summary)], found.Count > limit);
    }

    /// <summary>The models a provider served in the range (per the day slices): a run used the provider when it used one of them.</summary>
    public async Task<IReadOnlySet<string>> ModelsOfProviderAsync(Workspace workspace, MetricsRange range, string provider, CancellationToken cancellationToken)
    {
        var days = await metrics.LoadAsync(workspace, range, MetricsFilter.For(Dimension.Provider, provider), cancellationToken).ConfigureAwait(false);
        return days.SelectMany(d => d.Slices()).Where(s => s.Value.Events > 0).Select(s => s.Key.ValueOf(Dimension.Model)).ToHashSet(StringComparer.Ordinal);
    }

    private static RunList Listed(RunKind kind, MetricsRange range, RunEntry[] page, RunSummary[] summaries, bool more)
    {
        var next = more && page.Length > 0 ? PageCursor.Encode(page[^1].LastAtMs.ToString(CultureInfo.InvariantCulture), page[^1].Hash) : null;
        return new RunList(kind.Name(), Workspace.FormatDay(range.From), Workspace.FormatDay(range.To), summaries, next);
    }

    /// <summary>
    /// Breakdown by session over the range: each session's run days inside the range, summed. Filters on agent, user
    /// and team select sessions; a model filter keeps that model's share of each session.
    /// </summary>
    public async Task<Breakdown> SessionBreakdownAsync(
        Workspace workspace, MetricsRange range, MetricsFilter filter, BreakdownSort sort, int? top, CancellationToken cancellationToken)
    {
        string? Wanted(Dimension d) => filter.Dimensions.Where(f => f.Dimension == d).Select(f => f.Value).FirstOrDefault();
        var (agent, user, team, model) = (Wanted(Dimension.Agent), Wanted(Dimension.User), Wanted(Dimension.Team), Wanted(Dimension.Model));
        var entries = (await index.ListAsync(workspace.Id, RunKind.Session, workspace.StartOfDayUtc(range.From), workspace.StartOfDayUtc(range.To.AddDays(1)), cancellationToken).ConfigureAwait(false))
            .Where(e => (agent is null || e.Agent == agent) && (user is null || e.User == user) && (team is null || e.Team == team))
            .ToArray();
        var (from, to) = (Workspace.FormatDay(range.From), Workspace.FormatDay(range.To));
        var values = new Dictionary<string, UsageCounters>(StringComparer.Ordinal);
        using var gate = new SemaphoreSlim(16);
        await Task.WhenAll(entries.Select(async entry =>
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var total = await SumDaysAsync(workspace, entry, day => string.CompareOrdinal(day, from) >= 0 && string.CompareOrdinal(day, to) <= 0, cancellationToken).ConfigureAwait(false);
                var counters = model is null ? total.Total : total.Models.GetValueOrDefault(model);
                if (counters is { Events: > 0 })
                {
                    lock (values)
                    {
                        values[entry.Id] = counters;
                    }
                }
            }
            finally
            {
                gate.Release();
            }
        })).ConfigureAwait(false);
        return Breakdown.Of("session", range, filter, values, sort, top);
    }

    public async Task<RunDetail?> DetailAsync(Workspace workspace, RunKind kind, string id, CancellationToken cancellationToken)
    {
        if (await index.FindAsync(workspace.Id, kind, id, cancellationToken).ConfigureAwait(false) is not { } entry)
        {
            return null;
        }

        var (summary, total) = await SummariseAsync(workspace, entry, cancellationToken).ConfigureAwait(false);
        return new RunDetail(summary, [.. total.Models.OrderByDescending(m => m.Value.CostNanos).ThenBy(m => m.Key, StringComparer.Ordinal).Select(m => new RunModel(m.Key, m.Value))]);
    }

    /// <summary>The run's stored events, day by day from its first; null when there is no such run.</summary>
    public async Task<EventPage?> EventsAsync(Workspace workspace, RunKind kind, string id, int limit, string? cursor, CancellationToken cancellationToken)
    {
        if (await index.FindAsync(workspace.Id, kind, id, cancellationToken).ConfigureAwait(false) is not { } entry)
        {
            return null;
        }

        var days = Days(entry, workspace).ToArray();
        var (dayIndex, fromRow, skip) = cursor is null ? (0, "", 0) : DecodeEventCursor(cursor, days.Length);
        var table = storage.GetTable(StorageNames.UsageTable);

        // Pages that span the run's time (a run's events share pages: the aggregator writes a session's and a run's
        // events together), and the legacy one-event rows of the run itself.
        var (first, last) = (DateTimeOffset.FromUnixTimeMilliseconds(entry.FirstAtMs), DateTimeOffset.FromUnixTimeMilliseconds(entry.LastAtMs + 1));
        var legacy = (kind == RunKind.Run ? EventPages.LegacyRunProperty : EventPages.LegacySessionProperty) + " eq " + TableClient.CreateQueryFilter($"{id}");
        var items = new List<EventView>(limit);
        string? next = null;
        while (dayIndex < days.Length && next is null)
        {
            var partition = UsageTableKeys.Partition(workspace.Id, days[dayIndex]);
            var rows = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey ge {(fromRow.Length > 0 ? fromRow : UsageTableKeys.EventRowPrefix)} and RowKey lt {EventPages.RangeEnd}");
            var filter = $"{rows} and (({legacy}) or ({EventPages.SpanFilter(first, last)}))";
            await foreach (var row in table.QueryAsync(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                var matching = EventPages.Read(row).Where(e => (kind == RunKind.Run ? e.RunId : e.SessionId) == id).ToArray();
                var taken = row.RowKey == fromRow ? skip : 0;
                var room = limit - items.Count;
                items.AddRange(matching.Skip(taken).Take(room).Select(EventView.Of));
                if (matching.Length - taken > room)
                {
                    next = PageCursor.Encode(dayIndex.ToString(CultureInfo.InvariantCulture), (taken + room).ToString(CultureInfo.InvariantCulture), row.RowKey);
                    break;
                }
            }

            if (next is null)
            {
                dayIndex++;
                (fromRow, skip) = ("", 0);
            }
        }

        // A next page is offered only when another event of the run was found beyond this one.
        return new EventPage([.. items.OrderBy(e => e.Timestamp, StringComparer.Ordinal)], next);
    }

    private async Task<(RunSummary Summary, RunDay Total)> SummariseAsync(Workspace workspace, RunEntry entry, CancellationToken cancellationToken)
    {
        var total = await SumDaysAsync(workspace, entry, _ => true, cancellationToken).ConfigureAwait(false);
        return (new RunSummary(entry, total), total);
    }

    private async Task<RunDay> SumDaysAsync(Workspace workspace, RunEntry entry, Func<string, bool> inRange, CancellationToken cancellationToken)
    {
        var table = storage.GetTable(StorageNames.UsageTable);
        var rows = await Task.WhenAll(Days(entry, workspace).Where(inRange).Select(day =>
        {
            var partition = UsageTableKeys.Partition(workspace.Id, day);
            return fanOut.RunAsync(token => table.GetIfExistsAsync(partition, RunDay.RowKeyOf(partition, entry.Hash), cancellationToken: token), cancellationToken);
        })).ConfigureAwait(false);
        var total = RunDay.New("", workspace.Id, entry.Kind, entry.Id);
        foreach (var row in rows.OfType<TableEntity>())
        {
            total.Merge(RunDay.FromEntity(row));
        }

        return total;
    }

    /// <summary>
    /// The days a run's rows are on, at most the last <c>retention_days</c> + 1 of its span: no event older than the
    /// retention is accepted, so only a span stretched before that rule (or a run going for months) is cut, and no
    /// run can make a read fan out across years.
    /// </summary>
    private static IEnumerable<string> Days(RunEntry entry, Workspace workspace)
    {
        var last = DateOnly.ParseExact(entry.LastDay, Workspace.DayFormat, CultureInfo.InvariantCulture);
        var first = DateOnly.ParseExact(entry.FirstDay, Workspace.DayFormat, CultureInfo.InvariantCulture);
        if (first < last.AddDays(-workspace.RetentionDays))
        {
            first = last.AddDays(-workspace.RetentionDays);
        }

        for (var day = first; day <= last; day = day.AddDays(1))
        {
            yield return Workspace.FormatDay(day);
        }
    }

    private static (long LastAt, string Hash) DecodeListCursor(string cursor)
    {
        var parts = PageCursor.Decode(cursor, 2);
        return long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var lastAt) ? (lastAt, parts[1]) : throw PageCursor.Bad();
    }

    private static (int Day, string Row, int Skip) DecodeEventCursor(string cursor, int days)
    {
        var parts = PageCursor.Decode(cursor, 3);
        return int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var day) && day < days
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var skip)
            && parts[2].StartsWith(UsageTableKeys.EventRowPrefix, StringComparison.Ordinal)
            ? (day, parts[2], skip)
            : throw PageCursor.Bad();
    }
}
