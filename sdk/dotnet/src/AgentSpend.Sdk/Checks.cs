using System;
using System.Collections.Generic;
using System.Text.Json;

namespace AgentSpend.Sdk;

/// <summary>The body of <c>POST /api/v1/check</c>. A field left <c>null</c> is not sent.</summary>
public sealed class CheckRequest
{
    /// <summary><c>agent_name</c>; defaults to the client's <see cref="AgentSpendOptions.AgentName"/>.</summary>
    public string? AgentName { get; set; }

    /// <summary><c>user_id</c>; defaults to <see cref="AgentSpendOptions.Defaults"/>' <c>UserId</c>.</summary>
    public string? UserId { get; set; }

    /// <summary><c>team</c>; defaults to <see cref="AgentSpendOptions.Defaults"/>' <c>Team</c>.</summary>
    public string? Team { get; set; }

    /// <summary><c>model</c>.</summary>
    public string? Model { get; set; }

    /// <summary><c>tool</c>.</summary>
    public string? Tool { get; set; }

    /// <summary><c>estimated_cost_usd</c>: the estimate a cost budget must have room for.</summary>
    public decimal? EstimatedCostUsd { get; set; }

    /// <summary><c>estimated_tokens</c>: the estimate a token budget must have room for.</summary>
    public long? EstimatedTokens { get; set; }

    /// <summary><c>run_id</c>: a reservation is released once usage with this run id is counted.</summary>
    public string? RunId { get; set; }

    /// <summary><c>idempotency_key</c>: a reservation is released once usage with this key is counted.</summary>
    public string? IdempotencyKey { get; set; }

    /// <summary><c>reservation_ttl_seconds</c> (server default 600).</summary>
    public int? ReservationTtlSeconds { get; set; }

    /// <summary>A copy.</summary>
    public CheckRequest Clone() => (CheckRequest)MemberwiseClone();
}

/// <summary>An allowed check (a refusal throws <see cref="SpendRefusedException"/>).</summary>
public sealed class CheckResult
{
    internal CheckResult(IReadOnlyDictionary<string, decimal> remaining, Reservation? reservation, bool failedOpen, JsonElement? raw)
    {
        Remaining = remaining;
        Reservation = reservation;
        FailedOpen = failedOpen;
        Raw = raw;
    }

    /// <summary>Always true: a refusal throws.</summary>
    public bool Allowed { get; } = true;

    /// <summary>Room left per budget id.</summary>
    public IReadOnlyDictionary<string, decimal> Remaining { get; }

    /// <summary>The hold, for <see cref="AgentSpendClient.ReserveAsync"/> when a block budget applied.</summary>
    public Reservation? Reservation { get; }

    /// <summary>True when the service could not be asked and <see cref="AgentSpendOptions.FailOpen"/> let the call through.</summary>
    public bool FailedOpen { get; }

    /// <summary>The answer's body (null when failed open).</summary>
    public JsonElement? Raw { get; }
}

/// <summary>An estimate held against the block budgets that apply (<c>"reserve": true</c>).</summary>
public sealed class Reservation
{
    internal Reservation(string id, DateTimeOffset? expiresAt, IReadOnlyList<string> budgetIds)
    {
        Id = id;
        ExpiresAt = expiresAt;
        BudgetIds = budgetIds;
    }

    /// <summary>The id to pass to <see cref="AgentSpendClient.ReleaseAsync(string, System.Threading.CancellationToken)"/>.</summary>
    public string Id { get; }

    /// <summary>When it expires by itself.</summary>
    public DateTimeOffset? ExpiresAt { get; }

    /// <summary>The budgets it holds room in.</summary>
    public IReadOnlyList<string> BudgetIds { get; }
}

/// <summary>The budget that refused a check, as the server describes it.</summary>
public sealed class RefusingBudget
{
    internal RefusingBudget(JsonElement raw)
    {
        Raw = raw.Clone();
        Id = Json.String(raw, "id");
        Name = Json.String(raw, "name");
        Scope = Json.String(raw, "scope");
        ScopeValue = Json.String(raw, "scope_value");
        Metric = Json.String(raw, "metric");
        Period = Json.String(raw, "period");
        Limit = Json.Decimal(raw, "limit");
        Used = Json.Decimal(raw, "used");
        Remaining = Json.Decimal(raw, "remaining");
        PeriodEnd = Json.Date(raw, "period_end");
    }

    /// <summary><c>id</c>.</summary>
    public string? Id { get; }

    /// <summary><c>name</c>.</summary>
    public string? Name { get; }

    /// <summary><c>scope</c> (workspace, team, user, agent, key, model).</summary>
    public string? Scope { get; }

    /// <summary><c>scope_value</c>.</summary>
    public string? ScopeValue { get; }

    /// <summary><c>metric</c> (cost, tokens, calls).</summary>
    public string? Metric { get; }

    /// <summary><c>period</c>.</summary>
    public string? Period { get; }

    /// <summary><c>limit</c>.</summary>
    public decimal? Limit { get; }

    /// <summary><c>used</c>.</summary>
    public decimal? Used { get; }

    /// <summary><c>remaining</c>.</summary>
    public decimal? Remaining { get; }

    /// <summary><c>period_end</c>.</summary>
    public DateTimeOffset? PeriodEnd { get; }

    /// <summary>The budget object as the server sent it.</summary>
    public JsonElement Raw { get; }
}
