using System.Globalization;

namespace AgentSpend.Functions.Hosting;

/// <summary>Query-parameter rules shared by the list endpoints: unknown parameters are refused, page sizes bounded.</summary>
public static class QueryParameters
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    /// <summary>A 400 naming the first parameter (in ordinal order) that is not in <paramref name="known"/>; null when there is none.</summary>
    public static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult? RefuseUnknown(HttpRequest request, params string[] known) =>
        request.Query.Keys.Where(k => !known.Contains(k)).Order(StringComparer.Ordinal).FirstOrDefault() is { } name
            ? Problems.BadRequest(name, $"'{name}' is not a parameter here; use {(known.Length == 0 ? "none" : string.Join(", ", known))}.")
            : null;

    /// <summary>The page size asked for: <c>limit</c>, 1 to <see cref="MaxLimit"/> (default <see cref="DefaultLimit"/>); null when out of bounds.</summary>
    public static int? Limit(HttpRequest request) =>
        request.Query["limit"].ToString() is { Length: > 0 } raw
            ? int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= MaxLimit ? n : null
            : DefaultLimit;

    public static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult BadLimit() =>
        Problems.BadRequest("limit", $"must be a whole number from 1 to {MaxLimit}.");
}
