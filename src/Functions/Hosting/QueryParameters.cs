using System.Globalization;

namespace AgentSpend.Functions.Hosting;

/// <summary>Page sizes of the list endpoints (unknown parameters are refused for every endpoint by <see cref="QueryContracts"/>).</summary>
public static class QueryParameters
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    /// <summary>The page size asked for: <c>limit</c>, 1 to <see cref="MaxLimit"/> (default <see cref="DefaultLimit"/>); null when out of bounds.</summary>
    public static int? Limit(HttpRequest request) =>
        request.Query["limit"].ToString() is { Length: > 0 } raw
            ? int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= MaxLimit ? n : null
            : DefaultLimit;

    public static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult BadLimit() =>
        Problems.BadRequest("limit", $"must be a whole number from 1 to {MaxLimit}.");
}
