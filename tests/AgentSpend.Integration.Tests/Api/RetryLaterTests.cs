using System.Text.Json;
using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.Api;

/// <summary>The one "send it again later" result, run without a host: status, Retry-After rounded up, and the body.</summary>
public sealed class RetryLaterTests
{
    [Theory]
    [InlineData(0.2, "1")]
    [InlineData(1.0, "1")]
    [InlineData(1.01, "2")]
    [InlineData(86_399.5, "86400")]
    [InlineData(-5, "1")]
    public async Task A_problem_sets_retry_after_in_whole_seconds_rounded_up_and_writes_problem_json_with_its_reason(double seconds, string header)
    {
        var (context, body) = NewContext();

        await RetryLater.TooManyRequests("daily_limit", "The plan allows 10 events per day.", TimeSpan.FromSeconds(seconds)).ExecuteAsync(context);

        Assert.Equal((429, header, "application/problem+json"), (context.Response.StatusCode, context.Response.Headers.RetryAfter.ToString(), context.Response.ContentType));
        var problem = JsonDocument.Parse(body.ToArray()).RootElement;
        Assert.Equal((429, "Too many requests.", "The plan allows 10 events per day.", "daily_limit"),
            (problem.GetProperty("status").GetInt32(), problem.GetProperty("title").GetString(), problem.GetProperty("detail").GetString(), problem.GetProperty("reason").GetString()));
    }

    [Fact]
    public async Task An_answer_that_is_not_an_error_keeps_its_own_body_and_status()
    {
        var (context, body) = NewContext();
        var result = RetryLater.Json(StatusCodes.Status503ServiceUnavailable, new Dictionary<string, string> { ["status"] = "degraded" }, TimeSpan.FromSeconds(5));

        await result.ExecuteAsync(context);

        Assert.Equal((503, "5"), (context.Response.StatusCode, context.Response.Headers.RetryAfter.ToString()));
        Assert.StartsWith("application/json", context.Response.ContentType, StringComparison.Ordinal);
        Assert.Equal("""{"status":"degraded"}""", System.Text.Encoding.UTF8.GetString(body.ToArray()));
        Assert.Equal(503, ((IStatusCodeHttpResult)result).StatusCode);
    }

    private static (DefaultHttpContext Context, MemoryStream Body) NewContext()
    {
        var services = new ServiceCollection().AddLogging().AddProblemDetails().BuildServiceProvider();
        var body = new MemoryStream();
        return (new DefaultHttpContext { RequestServices = services, Response = { Body = body } }, body);
    }
}
