using AgentSpend.Core.Configuration;
using Microsoft.Extensions.Options;

namespace AgentSpend.Functions.Hosting;

/// <summary>
/// What every HTTP function shares, in one place for both hosts: security headers, problem details for errors
/// (storage outages as 503), CORS, API-key authentication, the function's authorization attributes, query contracts and
/// rate limiting. Local mode runs it as the app's middleware; under the Functions host a worker middleware runs it
/// (<see cref="Worker.FunctionsRequestPipeline"/>), so the same request gets the same answer from either.
/// </summary>
public static class RequestPipeline
{
    public static IApplicationBuilder UseAgentSpendPipeline(this IApplicationBuilder app)
    {
        app.UseSecurityHeaders();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        if (app.ApplicationServices.GetRequiredService<IOptions<AgentSpendOptions>>().Value.CorsOrigins.Count > 0)
        {
            app.UseCors();
        }

        app.UseAuthentication();
        app.UseAuthorization();
        app.UseQueryContracts();
        app.UseRateLimiter();
        return app;
    }
}
