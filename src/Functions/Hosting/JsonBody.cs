using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentSpend.Functions.Hosting;

/// <summary>
/// Reads a small JSON request body strictly: application/json only, a size cap, a depth cap, no
/// unknown fields, exact types. Every failure is a problem+json naming the field and the reason.
/// </summary>
public static class JsonBody
{
    public const int DefaultMaxBytes = 16 * 1024;

    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.Strict,
        AllowTrailingCommas = false,
        MaxDepth = 8,
    };

    /// <summary>Reads <typeparamref name="T"/>; an absent body gives <paramref name="whenEmpty"/> (or a 400 when that is null).</summary>
    public static async Task<(T? Value, ProblemHttpResult? Problem)> ReadAsync<T>(HttpRequest request, CancellationToken cancellationToken, T? whenEmpty = null, int maxBytes = DefaultMaxBytes)
        where T : class
    {
        var body = await RequestBody.ReadAsync(request, maxBytes, cancellationToken).ConfigureAwait(false);
        if (body is null)
        {
            return (null, Problems.TooLarge("body", $"The body must be at most {maxBytes} bytes."));
        }

        if (body.Value.Length == 0)
        {
            return whenEmpty is not null ? (whenEmpty, null) : (null, Problems.BadRequest("body", "A JSON object is required."));
        }

        if (!RequestBody.IsJson(request))
        {
            return (null, Problems.UnsupportedMediaType());
        }

        try
        {
            var value = JsonSerializer.Deserialize<T>(body.Value.Span, Options);
            return value is null ? (null, Problems.BadRequest("body", "A JSON object is required, not null.")) : (value, null);
        }
        catch (JsonException ex)
        {
            var field = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "body" : ex.Path.TrimStart('$', '.');
            return (null, Problems.BadRequest(field, Describe(ex)));
        }
    }

    /// <summary>The serializer's messages name .NET types; say it in the API's terms instead.</summary>
    private static string Describe(JsonException ex) => ex.Message switch
    {
        var m when m.Contains("could not be mapped", StringComparison.Ordinal) => "is not a known field.",
        var m when m.Contains("maximum configured depth", StringComparison.Ordinal) => "is nested too deeply.",
        var m when m.Contains("missing required properties", StringComparison.Ordinal) => "misses a required field.",
        var m when m.Contains("could not be converted", StringComparison.Ordinal) => "has the wrong type or is out of range.",
        _ => "is not valid JSON.",
    };
}
