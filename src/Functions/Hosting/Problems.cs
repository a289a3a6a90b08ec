using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentSpend.Functions.Hosting;

/// <summary>RFC 9457 problem details that name the offending field and why.</summary>
public static class Problems
{
    public static ProblemHttpResult BadRequest(string field, string reason) =>
        Create(StatusCodes.Status400BadRequest, "The request is not valid.", field, reason);

    public static ProblemHttpResult TooLarge(string field, string reason) =>
        Create(StatusCodes.Status413PayloadTooLarge, "The request is too large.", field, reason);

    private static ProblemHttpResult Create(int status, string title, string field, string reason) =>
        TypedResults.Problem(
            detail: $"{field}: {reason}",
            statusCode: status,
            title: title,
            extensions: new Dictionary<string, object?>
            {
                ["errors"] = new[] { new Dictionary<string, string> { ["field"] = field, ["reason"] = reason } },
            });
}
