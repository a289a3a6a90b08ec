using System.Globalization;
using System.Reflection;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;

namespace AgentSpend.Functions.Hosting;

/// <summary>
/// The one answer for "send it again later": a 429 or 503 whose body says why and whose <c>Retry-After</c> says when
/// (whole seconds, at least 1). It sets the header itself when it runs, so a handler returns it like any other typed
/// result and never touches the response; the middleware that refuses a request (rate limits, failed
/// authentications, storage outages) runs the same result.
/// </summary>
public sealed class RetryLater<TValue> : IResult, IStatusCodeHttpResult, IValueHttpResult, IValueHttpResult<TValue>, IEndpointMetadataProvider
{
    internal RetryLater(int statusCode, TValue value, TimeSpan retryAfter)
    {
        StatusCode = statusCode;
        Value = value;
        RetryAfter = retryAfter;
    }

    public int StatusCode { get; }

    int? IStatusCodeHttpResult.StatusCode => StatusCode;

    public TValue Value { get; }

    object? IValueHttpResult.Value => Value;

    public TimeSpan RetryAfter { get; }

    /// <summary>What the header carries: the wait rounded up to whole seconds, at least one.</summary>
    public string RetryAfterHeader => Math.Max(1, (long)Math.Ceiling(RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

    public Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.Headers.RetryAfter = RetryAfterHeader;
        return Value is ProblemDetails problem
            ? TypedResults.Problem(problem).ExecuteAsync(httpContext)
            : TypedResults.Json(Value, statusCode: StatusCode).ExecuteAsync(httpContext);
    }

    static void IEndpointMetadataProvider.PopulateMetadata(MethodInfo method, EndpointBuilder builder)
    {
        var contentType = typeof(TValue) == typeof(ProblemDetails) ? "application/problem+json" : "application/json";
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status429TooManyRequests, typeof(TValue), [contentType]));
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status503ServiceUnavailable, typeof(TValue), [contentType]));
    }
}

public static class RetryLater
{
    /// <summary>429 problem+json with a machine-readable <c>reason</c> (<c>daily_limit</c>, <c>rate_limited</c>…).</summary>
    public static RetryLater<ProblemDetails> TooManyRequests(string reason, string detail, TimeSpan retryAfter, IDictionary<string, object?>? extensions = null) =>
        Problem(StatusCodes.Status429TooManyRequests, "Too many requests.", reason, detail, retryAfter, extensions);

    /// <summary>503 problem+json with a machine-readable <c>reason</c>: nothing is wrong with the request, send it again later.</summary>
    public static RetryLater<ProblemDetails> ServiceUnavailable(string reason, string detail, TimeSpan retryAfter) =>
        Problem(StatusCodes.Status503ServiceUnavailable, "The service is unavailable for a moment.", reason, detail, retryAfter);

    /// <summary>A body that is an answer, not an error (a refused check, a health report), with the wait.</summary>
    public static RetryLater<TValue> Json<TValue>(int statusCode, TValue value, TimeSpan retryAfter) => new(statusCode, value, retryAfter);

    private static RetryLater<ProblemDetails> Problem(int status, string title, string reason, string detail, TimeSpan retryAfter, IDictionary<string, object?>? extensions = null)
    {
        var problem = new ProblemDetails { Status = status, Title = title, Detail = detail };
        problem.Extensions["reason"] = reason;
        foreach (var (key, value) in extensions ?? new Dictionary<string, object?>())
        {
            problem.Extensions[key] = value;
        }

        return new RetryLater<ProblemDetails>(status, problem, retryAfter);
    }
}
