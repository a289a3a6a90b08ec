using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using AgentSpend.Core.Storage;
using Azure.Data.Tables;

namespace AgentSpend.Soak;

/// <summary>
/// Reserving checks against a block budget of the reserve workspace, and what became of each reservation: released
/// by its usage (an event with its idempotency key or run id, counted like any other), released by DELETE, or left
/// to expire. At the end, no reservation may outlive its TTL: none still counts against the budget, none is stored
/// with a later expiry than it was given, none is left in storage past the sweep that should have removed it, and
/// none whose usage was counted or that was deleted is still open.
/// </summary>
internal sealed class Reservations(SoakRun run)
{
    /// <summary>The budget's limit: low enough that the holds meet it now and then, so that checks are also refused.</summary>
    public const decimal Limit = 2m;

    /// <summary>Clocks of the soak and the instances are the same machine's; this covers the time between the server's hold and the soak's reading of the answer.</summary>
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The BudgetPeriods timer sweeps expired reservations every five minutes (at :00, :05…) on each instance: an
    /// expired row must be gone after two sweeps (one may fall in the storage outage) and a minute for a slow one.
    /// </summary>
    private static readonly TimeSpan SweepPeriod = TimeSpan.FromMinutes(11);

    private const int MinTtlSeconds = 5;
    private const int MaxTtlSeconds = 20;

    private enum Fate { Usage, Deleted, Expire }

    private sealed record Held(string Id, DateTimeOffset RepliedAt, int TtlSeconds, DateTimeOffset ExpiresAt, Fate Fate);

    private readonly ConcurrentDictionary<string, Held> _held = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<string> _releasedByUsage = [];
    private readonly ConcurrentBag<string> _deleted = [];
    private long _lastCheckTicks;

    public string BudgetId { get; private set; } = "";

    public async Task CreateBudgetAsync()
    {
        var workspace = run.Workspaces[Loads.Reserve];
        var body = JsonSerializer.Serialize(new { scope = "workspace", metric = "cost_usd", period = "total", limit = Limit, action = "block" });
        var result = await run.Sender.PostJsonAsync("setup", workspace.Key, "/api/v1/budgets", body, 201);
        BudgetId = result.Reply?.Json()?.GetProperty("id").GetString() ?? throw new InvalidOperationException($"Could not create the block budget: {result.Failure}");
    }

    public Task RunAsync()
    {
        var random = new Random(run.Options.Seed + 303);
        var workspace = run.Workspaces[Loads.Reserve];
        return run.PacedAsync(TimeSpan.FromSeconds(1), async n =>
        {
            var agent = $"reserver-{n % 3}";
            var byRun = n % 2 == 0;
            var (key, runId) = byRun ? ((string?)null, (string?)$"rsv-run-{run.Tag}-{n}") : ($"rsv-{run.Tag}-{n}", null);
            var ttl = random.Next(MinTtlSeconds, MaxTtlSeconds + 1);
            var fate = (Fate)random.Next(3);
            var body = JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["agent_name"] = agent, ["estimated_cost_usd"] = random.Next(5, 31) / 100m, ["reserve"] = true, ["reservation_ttl_seconds"] = ttl,
                ["idempotency_key"] = key, ["run_id"] = runId,
            });
            run.Count("checks");
            var result = await run.Sender.SendAsync(Loads.Reserve, workspace.Key, HttpMethod.Post, "/api/v1/check", System.Text.Encoding.UTF8.GetBytes(body), "application/json", [200],
                final: r => r.Status == 429 && r.Json() is { } j && j.TryGetProperty("allowed", out var allowed) && allowed.ValueKind == JsonValueKind.False);
            var repliedAt = DateTimeOffset.UtcNow;
            Interlocked.Exchange(ref _lastCheckTicks, repliedAt.UtcTicks);
            if (result.Reply is not { } reply)
            {
                run.Fail($"check: {result.Failure}");
                return;
            }

            var answer = reply.Json()!.Value;
            if (reply.Status == 429)
            {
                run.Count("checks refused by the budget");
                return;
            }

            if (!answer.TryGetProperty("reservation", out var reservation) || reservation.ValueKind != JsonValueKind.Object)
            {
                run.Fail($"check: allowed without a reservation: {reply.Text}");
                return;
            }

            var id = reservation.GetProperty("id").GetString()!;
            var expiresAt = DateTimeOffset.Parse(reservation.GetProperty("expires_at").GetString()!, CultureInfo.InvariantCulture);
            _held[id] = new Held(id, repliedAt, ttl, expiresAt, fate);
            run.Count("checks allowed with a reservation");
            switch (fate)
            {
                case Fate.Usage:
                    await ReleaseByUsageAsync(workspace, id, agent, key, runId, n);
                    break;
                case Fate.Deleted:
                    var deleted = await run.Sender.SendAsync(Loads.Reserve, workspace.Key, HttpMethod.Delete, $"/api/v1/check/reservations/{id}", null, null, [204, 404]);
                    if (deleted.Reply?.Status == 204 || (deleted.Reply?.Status == 404 && (deleted.MayHaveArrived > 0 || DateTimeOffset.UtcNow > expiresAt - Margin)))
                    {
                        // 404: an earlier attempt released it and its answer was lost, or it had expired meanwhile.
                        _deleted.Add(id);
                        run.Count("reservations released by DELETE");
                    }
                    else
                    {
                        run.Fail($"DELETE reservation {id} (expires {expiresAt:O}): {deleted.Failure ?? deleted.Reply?.Status + " " + deleted.Reply?.Text}");
                    }

                    break;
                default:
                    run.Count("reservations left to expire");
                    break;
            }
        });
    }

    /// <summary>The call the reservation was made for: one event with its idempotency key, or its run id.</summary>
    private async Task ReleaseByUsageAsync(SoakWorkspace workspace, string id, string agent, string? key, string? runId, long n)
    {
        var at = DateTimeOffset.UtcNow.AddSeconds(-1);
        var eventKey = key ?? $"rsv-use-{run.Tag}-{n}";
        var usage = new Usage(1, 120, 30, 0, 0, 0, 0.001m);
        var body = JsonSerializer.Serialize(new { events = new[] { new Dictionary<string, object?>
        {
            ["agent_name"] = agent, ["provider"] = "anthropic", ["model"] = "claude-haiku-4-5", ["timestamp"] = at.ToString("O", CultureInfo.InvariantCulture),
            ["input_tokens"] = usage.Input, ["output_tokens"] = usage.Output, ["cost_usd"] = usage.Cost, ["idempotency_key"] = eventKey, ["run_id"] = runId,
        } } });
        var result = await run.Sender.PostJsonAsync(Loads.Reserve, workspace.Key, "/api/v1/ingest", body, 202);
        if (result.Reply?.Json()?.GetProperty("accepted").GetInt32() != 1)
        {
            run.Fail($"usage of reservation {id}: {result.Failure ?? result.Reply?.Text}");
            return;
        }

        run.Oracle.Accept(Loads.Reserve, eventKey, new Contribution(at.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), agent, usage));
        _releasedByUsage.Add(id);
        run.Count("reservations released by usage");
    }

    /// <summary>When the last reservation the soak may have caused expires: after this, nothing of them may count.</summary>
    public DateTimeOffset AllExpireBy =>
        new DateTimeOffset(Interlocked.Read(ref _lastCheckTicks), TimeSpan.Zero) + TimeSpan.FromSeconds(MaxTtlSeconds) + Margin;

    /// <summary>
    /// Right after the queue drained: a reservation whose usage was counted (or that was deleted) and that has not
    /// expired must be released: its open row gone.
    /// </summary>
    public async Task<List<string>> CheckReleasedAsync(IStorageProvider storage)
    {
        var problems = new List<string>();
        var workspace = run.Workspaces[Loads.Reserve];
        var now = DateTimeOffset.UtcNow;
        var open = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        await foreach (var row in storage.GetTable(StorageNames.ReservationsTable).QueryAsync(TableClient.CreateQueryFilter($"PartitionKey eq {workspace.Id + "|open"}")))
        {
            open[row.RowKey] = row.GetDateTimeOffset("ExpiresAt") ?? DateTimeOffset.MinValue;
        }

        foreach (var id in _releasedByUsage)
        {
            if (open.TryGetValue(id, out var expires) && expires > now + Margin)
            {
                problems.Add($"reservation {id}: its usage was accepted (202) and the queue drained, yet it is still open (expires {expires:O})");
            }
        }

        foreach (var id in _deleted)
        {
            if (open.TryGetValue(id, out var expires) && expires > now + Margin)
            {
                problems.Add($"reservation {id}: DELETE answered 204, yet it is still open (expires {expires:O})");
            }
        }

        return problems;
    }

    /// <summary>
    /// After every reservation's TTL: the budget's remaining room must be its limit less its usage (nothing held),
    /// and no row of the reservations table may carry a later expiry than it was given, nor be left past the sweep.
    /// </summary>
    public async Task<(List<string> Problems, string Summary)> CheckExpiredAsync(IStorageProvider storage)
    {
        var problems = new List<string>();
        var workspace = run.Workspaces[Loads.Reserve];

        // Checks are answered from a snapshot at most a few seconds old: ask until it reflects the end state.
        decimal held = -1, used = 0, remaining = 0;
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var overview = await run.Sender.GetJsonAsync("verify", workspace.Key, "/api/v1/metrics/overview?range=90d");
            used = overview.GetProperty("cost_usd").GetDecimal();
            var check = await run.Sender.SendAsync("verify", workspace.Key, HttpMethod.Post, "/api/v1/check",
                System.Text.Encoding.UTF8.GetBytes("{\"agent_name\":\"reserver-0\",\"estimated_cost_usd\":0}"), "application/json", [200, 429]);
            var answer = check.Reply?.Json() ?? throw new InvalidOperationException($"The final check failed: {check.Failure}");
            remaining = answer.TryGetProperty("remaining", out var r) && r.ValueKind == JsonValueKind.Object && r.TryGetProperty(BudgetId, out var left)
                ? left.GetDecimal()
                : answer.GetProperty("budget").GetProperty("remaining").GetDecimal();
            held = Limit - used - remaining;
            if (held == 0)
            {
                break;
            }

            await Task.Delay(1000);
        }

        if (held != 0)
        {
            problems.Add($"reservations: ${held} still held against the budget after every TTL passed (limit {Limit}, used {used}, remaining {remaining})");
        }

        var now = DateTimeOffset.UtcNow;
        var latest = AllExpireBy;
        int rows = 0, expired = 0, released = 0;
        var filter = TableClient.CreateQueryFilter($"PartitionKey ge {workspace.Id + "|"} and PartitionKey lt {workspace.Id + "}"}");
        await foreach (var row in storage.GetTable(StorageNames.ReservationsTable).QueryAsync(filter))
        {
            if (row.RowKey == "ledger")
            {
                continue;
            }

            rows++;
            var id = row.RowKey.StartsWith("h|", StringComparison.Ordinal) ? row.RowKey[2..] : row.RowKey;
            var expires = row.GetDateTimeOffset("ExpiresAt");
            released += row.GetDateTimeOffset("ReleasedAt") is null ? 0 : 1;
            if (expires is not { } at)
            {
                problems.Add($"reservations table: row {row.PartitionKey}/{row.RowKey} has no ExpiresAt");
                continue;
            }

            expired += at <= now ? 1 : 0;
            var bound = _held.TryGetValue(id, out var h) ? h.RepliedAt + TimeSpan.FromSeconds(h.TtlSeconds) + Margin : latest;
            if (at > bound)
            {
                problems.Add($"reservations table: {row.PartitionKey}/{row.RowKey} expires {at:O}, after its TTL allows ({bound:O})");
            }

            if (at < now - SweepPeriod)
            {
                problems.Add($"reservations table: {row.PartitionKey}/{row.RowKey} expired {at:O} and is still stored after the sweep period ({SweepPeriod.TotalMinutes:F0} min)");
            }
        }

        return (problems, $"{_held.Count} reservations held ({_releasedByUsage.Count} released by usage, {_deleted.Count} by DELETE, {run.Figure("reservations left to expire")} left to expire), " +
                          $"{run.Figure("checks refused by the budget")} checks refused by the budget; at the end ${held} held, {rows} rows in the table ({expired} expired, {released} released, not yet swept)");
    }
}
