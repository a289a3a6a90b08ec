using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using AgentSpend.Core.Configuration;
using Microsoft.AspNetCore.RateLimiting;

namespace AgentSpend.Functions.Hosting;

/// <summary>
/// A request rate per API key on ingest and check, with a burst allowance: a token bucket per key, refilled
/// every second (per instance). Past it: 429 problem+json with <c>reason: rate_limited</c> and Retry-After.
/// </summary>
public static class KeyRateLimiting
{
    public const string Policy = "per-key";
    public const string Reason = "rate_limited";

    /// <summary>Requests with large bodies (OTLP exports, imports) one instance works on at once; more wait in line.</summary>
    public const int MaxBodyHeavyInFlight = 8;

    /// <summary>How many body-heavy requests may wait for a place; past that they are answered 503 <c>busy</c>.</summary>
    public const int MaxBodyHeavyWaiting = 32;

    public const string BusyReason = "busy";

    /// <summary>Whether a request carries a body that may be megabytes: each one holds that memory while it is read.</summary>
    public static bool IsBodyHeavy(HttpRequest request) =>
        HttpMethods.IsPost(request.Method)
        && (request.Path.StartsWithSegments("/api/otlp", StringComparison.OrdinalIgnoreCase) || request.Path.StartsWithSegments("/api/v1/import", StringComparison.OrdinalIgnoreCase));

    public static IServiceCollection AddKeyRateLimiting(this IServiceCollection services, AgentSpendOptions options) =>
        services.AddRateLimiter(limiter =>
        {
            limiter.AddPolicy(Policy, context =>
            {
                var key = context.User.FindFirstValue(AuthPolicies.KeyIdClaim) ?? "";
                return options.KeyRatePerSecond == 0
                    ? RateLimitPartition.GetNoLimiter(key)
                    : RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
                    {
                        TokenLimit = options.KeyBurst,
                        TokensPerPeriod = options.KeyRatePerSecond,
                        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                        QueueLimit = 0,
                        AutoReplenishment = true,
                    });
            });
            // Whatever the key: a handful of clients sending 16 MiB exports at once could otherwise take all of an instance's memory.
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context => IsBodyHeavy(context.Request)
                ? RateLimitPartition.GetConcurrencyLimiter("body-heavy", _ => new ConcurrencyLimiterOptions
                {
                    PermitLimit = MaxBodyHeavyInFlight,
                    QueueLimit = MaxBodyHeavyWaiting,
                    QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                })
                : RateLimitPartition.GetNoLimiter(""));
            limiter.OnRejected = async (context, cancellationToken) =>
            {
                if (IsBodyHeavy(context.HttpContext.Request) && !context.Lease.TryGetMetadata(MetadataName.RetryAfter, out _))
                {
                    await RetryLater.ServiceUnavailable(
                        BusyReason,
                        $"This instance is reading {MaxBodyHeavyInFlight} large uploads and {MaxBodyHeavyWaiting} more wait: send it again after Retry-After.",
                        TimeSpan.FromSeconds(1)).ExecuteAsync(context.HttpContext).ConfigureAwait(false);
                    return;
                }

                var wait = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(1);
                await RetryLater.TooManyRequests(Reason, $"This key may make {options.KeyRatePerSecond} requests a second here, with bursts of {options.KeyBurst}.", wait)
                    .ExecuteAsync(context.HttpContext).ConfigureAwait(false);
            };
        });
}
