using System;
using System.Text.Json;

namespace AgentSpend.Sdk;

/// <summary>An AgentSpend call failed: a configuration error, or an answer the client cannot use (401, 403, 400 …).</summary>
public class AgentSpendException : Exception
{
    /// <summary>Creates the exception.</summary>
    public AgentSpendException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public AgentSpendException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public AgentSpendException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with the HTTP status of the answer.</summary>
    public AgentSpendException(string message, int? status, Exception? innerException = null)
        : base(message, innerException)
    {
        Status = status;
    }

    /// <summary>The HTTP status of the answer, when there was one.</summary>
    public int? Status { get; }
}

/// <summary>
/// The service could not be asked (network error, timeout, 5xx, a 429 that is not a refusal) and
/// <see cref="AgentSpendOptions.FailOpen"/> is false.
/// </summary>
public sealed class AgentSpendUnavailableException : AgentSpendException
{
    /// <summary>Creates the exception.</summary>
    public AgentSpendUnavailableException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public AgentSpendUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public AgentSpendUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with the HTTP status of the answer.</summary>
    public AgentSpendUnavailableException(string message, int? status, Exception? innerException = null)
        : base(message, status, innerException)
    {
    }
}

/// <summary>A check or reservation was refused (<c>429</c>, <c>allowed: false</c>): the agent must not spend.</summary>
public sealed class SpendRefusedException : AgentSpendException
{
    /// <summary>Creates the exception.</summary>
    public SpendRefusedException()
        : this("budget_exceeded", null, null, null, null)
    {
    }

    /// <summary>Creates the exception.</summary>
    public SpendRefusedException(string message)
        : base(message)
    {
        Reason = "budget_exceeded";
    }

    /// <summary>Creates the exception.</summary>
    public SpendRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
        Reason = "budget_exceeded";
    }

    /// <summary>Creates the exception from the parts of a refusal.</summary>
    public SpendRefusedException(string reason, RefusingBudget? budget, DateTimeOffset? resumeAt, TimeSpan? retryAfter, JsonElement? body)
        : base(Describe(reason, resumeAt), 429)
    {
        Reason = reason;
        Budget = budget;
        ResumeAt = resumeAt;
        RetryAfter = retryAfter;
        Body = body;
    }

    /// <summary>The server's reason: <c>killed</c> (a kill switch), <c>agent_paused</c> or <c>budget_exceeded</c>.</summary>
    public string Reason { get; }

    /// <summary>The refusing budget (<c>budget_exceeded</c>, often <c>agent_paused</c>), if the server named one.</summary>
    public RefusingBudget? Budget { get; }

    /// <summary>When the refusal is expected to lift (<c>resume_at</c>), if the server said.</summary>
    public DateTimeOffset? ResumeAt { get; }

    /// <summary>The answer's <c>Retry-After</c>, if present.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>The answer's body.</summary>
    public JsonElement? Body { get; }

    private static string Describe(string reason, DateTimeOffset? resumeAt) =>
        "AgentSpend refused the call: " + reason + (resumeAt is null ? "" : " (resumes at " + resumeAt.Value.ToString("o", System.Globalization.CultureInfo.InvariantCulture) + ")");
}
