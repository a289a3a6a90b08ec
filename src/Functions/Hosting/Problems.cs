using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentSpend.Functions.Hosting;

/// <summary>RFC 9457 problem details that name the offending field and why.</summary>
public static class Problems
{
    public static ProblemHttpResult BadRequest(string field, string reason) =>
        Create(StatusCodes.Status400BadRequest, "The request is not valid.", field, reason);

    public static ProblemHttpResult TooLarge(string field, string reason) =>
        Create(StatusCodes.Status413PayloadTooLarge, "The request is too large.", field, reason);

    /// <summary>400 for a batch of which no event could be accepted: one error per refused event, with its index.</summary>
    public static ProblemHttpResult BadRequestEvents(IReadOnlyList<AgentSpend.Core.Ingest.IngestError> errors, IReadOnlyList<string> rejectedAgents) =>
        TypedResults.Problem(
            detail: $"None of the batch's events was accepted: {errors.Count} error(s).",
            statusCode: StatusCodes.Status400BadRequest,
            title: "The request is not valid.",
            extensions: new Dictionary<string, object?>
            {
                ["errors"] = errors.Select(e => new Dictionary<string, object> { ["index"] = e.Index, ["field"] = e.Field, ["reason"] = e.Reason }).ToArray(),
                ["rejected_agents"] = rejectedAgents,
            });

    public static ProblemHttpResult UnsupportedMediaType() =>
        Create(StatusCodes.Status415UnsupportedMediaType, "The body's media type is not supported.", "Content-Type", "must be application/json (UTF-8).");

    public static ProblemHttpResult NotFound(string field, string reason) =>
        Create(StatusCodes.Status404NotFound, "Not found.", field, reason);

    public static ProblemHttpResult Conflict(string field, string reason) =>
        Create(StatusCodes.Status409Conflict, "The request conflicts with the current state.", field, reason);

    public static ProblemHttpResult Forbidden(string field, string reason) =>
        Create(StatusCodes.Status403Forbidden, "Forbidden", field, reason);

    /// <summary>What a batch past the plan's daily event limit answers (429, see <see cref="RetryLater"/>).</summary>
    public const string DailyLimit = "daily_limit";

    /// <summary>The wait a daily-limit refusal suggests when the limit says none.</summary>
    public static readonly TimeSpan DailyLimitRetry = TimeSpan.FromSeconds(60);

    /// <summary>What storage being unreachable or failing answers, wherever it happens (see <see cref="StorageOutageHandler"/>).</summary>
    public const string StorageUnavailable = "storage_unavailable";

    /// <summary>What a batch answers when not every one of its queue messages could be sent.</summary>
    public const string QueueUnavailable = "queue_unavailable";

    /// <summary>The allowed values for a reason: "a, b or c".</summary>
    public static string Choices(IReadOnlyCollection<string> names) => string.Join(", ", names.Take(names.Count - 1)) + " or " + names.Last();

    public static ProblemHttpResult Create(int status, string title, string field, string reason) =>
        TypedResults.Problem(
            detail: $"{field}: {reason}",
            statusCode: status,
            title: title,
            extensions: new Dictionary<string, object?>
            {
                ["errors"] = new[] { new Dictionary<string, string> { ["field"] = field, ["reason"] = reason } },
            });
}
