using System.Reflection;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentSpend.Functions.Health;

public sealed record HealthResponse(string Status, string Version);

public static class HealthEndpoints
{
    public static readonly string Version =
        (typeof(HealthEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0")
        .Split('+')[0];

    public static void MapHealth(this IEndpointRouteBuilder app) =>
        app.MapGet("/api/health", GetHealth).AllowAnonymous();

    public static Ok<HealthResponse> GetHealth() => TypedResults.Ok(new HealthResponse("ok", Version));
}
