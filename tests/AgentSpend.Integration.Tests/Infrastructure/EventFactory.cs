using AgentSpend.Core.Domain;
using AgentSpend.Core.Workspaces;

namespace AgentSpend.Integration.Tests.Infrastructure;

/// <summary>Deterministic events whose totals are known in closed form.</summary>
internal static class EventFactory
{
    /// <summary>Event i has i % 7 + 1 input tokens, 2 output tokens and costs (i % 5) micro-dollars; every 10th is unpriced.</summary>
    public static UsageEvent Queued(int i, DateOnly day, string idPrefix = "s:") => new()
    {
        Id = $"{idPrefix}{i}",
        WorkspaceId = Workspace.DefaultId,
        Day = Json.Day(day),
        Timestamp = new DateTimeOffset(day.ToDateTime(new TimeOnly(12, 0)), TimeSpan.Zero).AddMilliseconds(i),
        Agent = $"agent-{i % 13}",
        Provider = "anthropic",
        Model = $"model-{i % 4}",
        InputTokens = i % 7 + 1,
        OutputTokens = 2,
        CostNanos = i % 10 == 9 ? null : (i % 5) * 1_000L,
        UserId = $"user-{i % 3}",
    };

    /// <summary><see cref="Queued"/> in runs of 20 events and sessions of 100, 12 users in 3 teams, a tag with 100 values.</summary>
    public static UsageEvent QueuedRealistic(int i, DateOnly day, string idPrefix) => Queued(i, day, idPrefix) with
    {
        RunId = $"{idPrefix}run-{i / 20}",
        SessionId = $"{idPrefix}session-{i / 100}",
        UserId = $"user-{i % 12}",
        Team = $"team-{i % 3}",
        Tags = new Dictionary<string, string> { ["repo"] = $"repo-{i % 100}" },
    };

    public static object Wire(int i, DateOnly day, string? idempotencyKey) => WireFields(i, day, idempotencyKey);

    /// <summary><see cref="Wire"/> as fields a test can add to; counted the same (<see cref="Expected"/>).</summary>
    public static Dictionary<string, object?> WireFields(int i, DateOnly day, string? idempotencyKey) => new()
    {
        ["agent_name"] = $"agent-{i % 13}",
        ["provider"] = "anthropic",
        ["model"] = $"model-{i % 4}",
        ["timestamp"] = $"{Json.Day(day)}T12:00:00.{i % 1000:D3}Z",
        ["input_tokens"] = i % 7 + 1,
        ["output_tokens"] = 2,
        ["cost_usd"] = i % 10 == 9 ? (decimal?)null : (i % 5) / 1_000_000m,
        ["idempotency_key"] = idempotencyKey,
    };

    /// <summary>
    /// <see cref="Wire"/> with what real agents send beside it: a run of 20 events, a session of 100, 12 users in
    /// 3 teams, and a tag with 100 values. Counted the same as <see cref="Wire"/> (<see cref="Expected"/>).
    /// </summary>
    public static object WireRealistic(int i, DateOnly day, string? idempotencyKey, string runPrefix = "run")
    {
        var fields = WireFields(i, day, idempotencyKey);
        fields["run_id"] = $"{runPrefix}-{i / 20}";
        fields["session_id"] = $"{runPrefix}-session-{i / 100}";
        fields["user_id"] = $"user-{i % 12}";
        fields["team"] = $"team-{i % 3}";
        fields["tags"] = new Dictionary<string, string> { ["repo"] = $"repo-{i % 100}" };
        return fields;
    }

    public static (long Events, long Input, long Output, decimal Cost, long Unpriced) Expected(IEnumerable<int> indexes)
    {
        var list = indexes.ToArray();
        return (list.Length, list.Sum(i => (long)(i % 7 + 1)), 2L * list.Length,
            list.Where(i => i % 10 != 9).Sum(i => (i % 5) / 1_000_000m), list.Count(i => i % 10 == 9));
    }

    public static (long, long, long, decimal, long) Actual(System.Text.Json.JsonElement overview) =>
        (overview.Long("events"), overview.Long("input_tokens"), overview.Long("output_tokens"), overview.Dec("cost_usd"), overview.Long("unpriced_events"));
}
