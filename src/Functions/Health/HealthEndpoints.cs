using System.Reflection;
using AgentSpend.Core.Poison;
using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentSpend.Functions.Health;

/// <summary>A poison queue that holds messages.</summary>
public sealed record PoisonQueueHealth(string Queue, int ApproximateMessages);

/// <summary>
/// <c>status</c> is <c>ok</c>, or <c>degraded</c> while a poison queue holds messages or storage could not be read;
/// <c>storage</c> is <c>ok</c>, <c>unreachable</c> or <c>error</c>; <c>poison</c> lists the poison queues that hold messages.
/// </summary>
public sealed record HealthResponse(string Status, string Version, string Storage, IReadOnlyList<PoisonQueueHealth> Poison);

public static class HealthEndpoints
{
    public const string StatusOk = "ok";
    public const string StatusDegraded = "degraded";

    public static readonly string Version =
        (typeof(HealthEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0")
        .Split('+')[0];

    /// <summary>The process is up; never reads storage. A platform's liveness probe.</summary>
    public sealed record LivenessResponse(string Status, string Version);

    public static Ok<LivenessResponse> GetLiveness() => TypedResults.Ok(new LivenessResponse(StatusOk, Version));

    /// <summary>
    /// 200 when storage answers and every poison queue is empty, else 503 with the same body: a readiness probe or a
    /// load balancer then sends no traffic here until it is, and nothing restarts the instance.
    /// </summary>
    public static async Task<Results<Ok<HealthResponse>, RetryLater<HealthResponse>>> GetReadinessAsync(QueueHealth queues, CancellationToken cancellationToken)
    {
        var health = (await GetHealthAsync(queues, cancellationToken).ConfigureAwait(false)).Value!;
        if (health.Status == StatusOk)
        {
            return TypedResults.Ok(health);
        }

        return RetryLater.Json(StatusCodes.Status503ServiceUnavailable, health, QueueHealth.Freshness);
    }

    /// <summary>Always 200, so that a platform probe does not restart an instance for what a restart cannot mend (a poison queue, a storage outage).</summary>
    public static async Task<Ok<HealthResponse>> GetHealthAsync(QueueHealth queues, CancellationToken cancellationToken)
    {
        var report = await queues.GetAsync(cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(new HealthResponse(
            report.Degraded ? StatusDegraded : StatusOk, Version, report.Storage, [.. report.Poison.Select(p => new PoisonQueueHealth(p.Queue, p.ApproximateMessages))]));
    }
}
