namespace AgentSpend.Functions.Hosting;

/// <summary>Which form an answer takes: <c>?format=json|csv</c>, else the Accept header.</summary>
public static class ResponseFormat
{
    public const string CsvMediaType = "text/csv; charset=utf-8";

    /// <summary>True for CSV, false for JSON, null for a <paramref name="format"/> that is neither (a 400 naming <c>format</c>).</summary>
    public static bool? WantsCsv(string? format, HttpRequest request) => format switch
    {
        null or "" => request.Headers.Accept.ToString().Contains("text/csv", StringComparison.OrdinalIgnoreCase),
        "csv" => true,
        "json" => false,
        _ => null,
    };
}
