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
            limiter.OnRejected = async (context, cancellationToken) =>
            {
                var seconds = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)) : 1;
                context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                await Problems.TooManyRequests(Reason, $"This key may make {options.KeyRatePerSecond} requests a second here, with bursts of {options.KeyBurst}.")
                    .ExecuteAsync(context.HttpContext).ConfigureAwait(false);
            };
        });
}
