using System.Text.Json;
using AgentSpend.Core.Domain;
using Azure;
using Azure.Data.Tables;

namespace AgentSpend.Core.Runs;

/// <summary>What groups events into a run: the client's <c>run_id</c>, or its <c>session_id</c>.</summary>
public enum RunKind
{
    Run,
    Session,
}

public static class RunKinds
{
    public static string Name(this RunKind kind) => kind == RunKind.Run ? "run" : "session";

    /// <summary>The groups an event belongs to: its run and its session, where it names them.</summary>
    public static IEnumerable<(RunKind Kind, string Id)> Of(UsageEvent e)
    {
        if (e.RunId is { Length: > 0 } run)
        {
            yield return (RunKind.Run, run);
        }

        if (e.SessionId is { Length: > 0 } session)
        {
            yield return (RunKind.Session, session);
        }
    }

    /// <summary>Fixed-length, key-safe identity of a run within a workspace.</summary>
    public static string Hash(string workspaceId, RunKind kind, string id) => Aggregation.UsageTableKeys.Hash(workspaceId, kind.Name(), id);
}

/// <summary>
/// One run's (or session's) usage on one local day: its counters, per model, and the first and last event's
/// time. Stored in the day's partition beside the buckets and written in the same transactions, so a run's
/// figures are exactly the sum of its counted events; a run that spans days has a row in each.
/// </summary>
public sealed class RunDay
{
    public const string RowPrefix = "r|";

    private RunDay(string rowKey, RunKind kind, string id, ETag? etag)
    {
        RowKey = rowKey;
        Kind = kind;
        Id = id;
        ETag = etag;
    }

    public string RowKey { get; }

    public RunKind Kind { get; }

    public string Id { get; }

    /// <summary>Null while the row is not stored yet.</summary>
    public ETag? ETag { get; internal set; }

    public string Agent { get; private set; } = "";

    public string? User { get; private set; }

    public string? Team { get; private set; }

    public long FirstAtMs { get; private set; } = long.MaxValue;

    public long LastAtMs { get; private set; }

    public UsageCounters Total { get; private init; } = new();

    public Dictionary<string, UsageCounters> Models { get; private init; } = new(StringComparer.Ordinal);

    public static string RowKeyOf(string partitionKey, string runHash) => $"{RowPrefix}{partitionKey}|{runHash}";

    public static RunDay New(string partitionKey, string workspaceId, RunKind kind, string id) =>
        new(RowKeyOf(partitionKey, RunKinds.Hash(workspaceId, kind, id)), kind, id, null);

    /// <summary>Adds what one event counted (or, re-priced, changed by).</summary>
    public void Add(UsageEvent e, UsageCounters counted)
    {
        if (Agent.Length == 0)
        {
            (Agent, User, Team) = (e.Agent, e.UserId, e.Team);
        }

        var at = e.Timestamp.ToUnixTimeMilliseconds();
        FirstAtMs = Math.Min(FirstAtMs, at);
        LastAtMs = Math.Max(LastAtMs, at);
        Total.Add(counted);
        if (!Models.TryGetValue(e.Model, out var model))
        {
            Models[e.Model] = model = new UsageCounters();
        }

        model.Add(counted);
    }

    /// <summary>Folds another day of the same run into this one (for a run's whole span).</summary>
    public void Merge(RunDay other)
    {
        if (Agent.Length == 0)
        {
            (Agent, User, Team) = (other.Agent, other.User, other.Team);
        }

        FirstAtMs = Math.Min(FirstAtMs, other.FirstAtMs);
        LastAtMs = Math.Max(LastAtMs, other.LastAtMs);
        Total.Add(other.Total);
        foreach (var (name, counters) in other.Models)
        {
            if (!Models.TryGetValue(name, out var model))
            {
                Models[name] = model = new UsageCounters();
            }

            model.Add(counters);
        }
    }

    internal RunDay Clone() => new(RowKey, Kind, Id, ETag)
    {
        Agent = Agent,
        User = User,
        Team = Team,
        FirstAtMs = FirstAtMs,
        LastAtMs = LastAtMs,
        Total = Total.Clone(),
        Models = Models.ToDictionary(kv => kv.Key, kv => kv.Value.Clone(), StringComparer.Ordinal),
    };

    public TableEntity ToEntity(string partitionKey) => new(partitionKey, RowKey)
    {
        ["Kind"] = Kind.Name(),
        ["Id"] = Id,
        ["Agent"] = Agent,
        ["User"] = User,
        ["Team"] = Team,
        ["FirstAt"] = FirstAtMs,
        ["LastAt"] = LastAtMs,
        ["Total"] = JsonSerializer.Serialize(Total.ToArray(), CoreJsonContext.Default.Int64Array),
        ["Models"] = JsonSerializer.Serialize(
            Models.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal), CoreJsonContext.Default.DictionaryStringInt64Array),
    };

    public static RunDay FromEntity(TableEntity entity)
    {
        var kind = entity.GetString("Kind") == "session" ? RunKind.Session : RunKind.Run;
        var day = new RunDay(entity.RowKey, kind, entity.GetString("Id") ?? "", entity.ETag)
        {
            Agent = entity.GetString("Agent") ?? "",
            User = entity.GetString("User"),
            Team = entity.GetString("Team"),
            FirstAtMs = entity.GetInt64("FirstAt") ?? long.MaxValue,
            LastAtMs = entity.GetInt64("LastAt") ?? 0,
        };
        if (entity.GetString("Total") is { } total)
        {
            day.Total.Add(UsageCounters.FromArray(JsonSerializer.Deserialize(total, CoreJsonContext.Default.Int64Array)!));
        }

        if (entity.GetString("Models") is { } models)
        {
            foreach (var (name, values) in JsonSerializer.Deserialize(models, CoreJsonContext.Default.DictionaryStringInt64Array)!)
            {
                day.Models[name] = UsageCounters.FromArray(values);
            }
        }

        return day;
    }
}
