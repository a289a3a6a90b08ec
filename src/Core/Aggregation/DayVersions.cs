using System.Globalization;
using AgentSpend.Core.Storage;
using Azure;
using Azure.Data.Tables;

namespace AgentSpend.Core.Aggregation;

/// <summary>
/// Per workspace-day, a version token that changes whenever the day's buckets may have changed, and a
/// lease held while a writer is at work on the day. Readers keep a day they have read only while it is
/// leased by nobody and its token is unchanged, so a kept day always equals the stored one: a day being
/// written is read afresh every time, and the token a writer sets when it finishes tells every reader to
/// read once more.
/// <para>
/// One row per workspace-month (<c>{workspace}|versions</c>, <c>yyyy-MM</c>) with a token (<c>dDD</c>) and a
/// lease (<c>wDD</c>) property per day: writers of different days merge without conflict, and a 90-day read
/// takes four point reads. A lease lapses on its own after <see cref="LeaseTime"/>, should its writer die.
/// </para>
/// </summary>
public sealed class DayVersions(IStorageProvider storage, TimeProvider clock)
{
    /// <summary>Longer than any aggregation pass or re-pricing of one day takes.</summary>
    public static readonly TimeSpan LeaseTime = TimeSpan.FromMinutes(10);

    private const string PartitionSuffix = "|versions";
    private const int MaxReleaseAttempts = 20;

    public static string PartitionOf(string workspaceId) => workspaceId + PartitionSuffix;

    /// <summary>Takes a lease on the days (yyyy-MM-dd) of a workspace before they are written.</summary>
    public async Task<DayLease> BeginAsync(string workspaceId, IEnumerable<string> days, CancellationToken cancellationToken)
    {
        var lease = new DayLease(workspaceId, [.. days.Distinct(StringComparer.Ordinal)],
            $"{(clock.GetUtcNow() + LeaseTime).ToUnixTimeMilliseconds()}|{Guid.NewGuid():N}");
        var table = storage.GetTable(StorageNames.UsageTable);
        var token = Guid.NewGuid().ToString("N");
        await Task.WhenAll(lease.Days.GroupBy(day => day[..7], StringComparer.Ordinal).Select(month =>
        {
            var entity = new TableEntity(PartitionOf(workspaceId), month.Key);
            foreach (var day in month)
            {
                entity[TokenProperty(day)] = token;
                entity[LeaseProperty(day)] = lease.Id;
            }

            return table.UpsertAsync(entity, TableUpdateMode.Merge, cancellationToken);
        })).ConfigureAwait(false);
        return lease;
    }

    /// <summary>
    /// Gives the days a new token and releases the lease where no later writer has taken it over (then that
    /// writer's end releases it).
    /// </summary>
    public async Task EndAsync(DayLease lease, CancellationToken cancellationToken)
    {
        var table = storage.GetTable(StorageNames.UsageTable);
        var token = Guid.NewGuid().ToString("N");
        await Task.WhenAll(lease.Days.GroupBy(day => day[..7], StringComparer.Ordinal).Select(async month =>
        {
            for (var attempt = 1; ; attempt++)
            {
                var row = await table.GetIfExistsAsync(PartitionOf(lease.WorkspaceId), month.Key, cancellationToken: cancellationToken).ConfigureAwait(false);
                var entity = new TableEntity(PartitionOf(lease.WorkspaceId), month.Key);
                foreach (var day in month)
                {
                    entity[TokenProperty(day)] = token;
                    if (row?.GetString(LeaseProperty(day)) == lease.Id)
                    {
                        entity[LeaseProperty(day)] = string.Empty;
                    }
                }

                try
                {
                    if (row is null)
                    {
                        await table.UpsertAsync(entity, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        await table.UpdateAsync(entity, row.ETag, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
                    }

                    return;
                }
                catch (RequestFailedException ex) when (ex.Status == 412 && attempt < MaxReleaseAttempts)
                {
                    // Another writer stamped the month meanwhile: read its lease again.
                }
            }
        })).ConfigureAwait(false);
    }

    /// <summary>Each day's token from <paramref name="from"/> to <paramref name="to"/>, and whether a writer holds it now.</summary>
    public async Task<Dictionary<DateOnly, DayVersion>> ReadAsync(string workspaceId, DateOnly from, DateOnly to, CancellationToken cancellationToken)
    {
        var table = storage.GetTable(StorageNames.UsageTable);
        var months = new List<DateOnly>();
        for (var month = new DateOnly(from.Year, from.Month, 1); month <= to; month = month.AddMonths(1))
        {
            months.Add(month);
        }

        var rows = await Task.WhenAll(months.Select(m => table.GetIfExistsAsync(
            PartitionOf(workspaceId), m.ToString("yyyy-MM", CultureInfo.InvariantCulture), cancellationToken: cancellationToken))).ConfigureAwait(false);
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var versions = new Dictionary<DateOnly, DayVersion>();
        for (var day = from; day <= to; day = day.AddDays(1))
        {
            var row = rows[months.IndexOf(new DateOnly(day.Year, day.Month, 1))];
            var name = day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            var held = row?.GetString(LeaseProperty(name)) is { Length: > 0 } lease
                && long.TryParse(lease.AsSpan(0, lease.IndexOf('|')), CultureInfo.InvariantCulture, out var until) && until > now;
            versions[day] = new DayVersion(row?.GetString(TokenProperty(name)), held);
        }

        return versions;
    }

    private static string TokenProperty(string day) => "d" + day[8..10];

    private static string LeaseProperty(string day) => "w" + day[8..10];
}

/// <summary>A writer's hold on some days of a workspace (see <see cref="DayVersions"/>).</summary>
public sealed record DayLease(string WorkspaceId, IReadOnlyList<string> Days, string Id);

/// <summary>A day's version token (null: never stamped) and whether a writer is at work on it.</summary>
public sealed record DayVersion(string? Token, bool Leased);
