using AgentSpend.Core.Auth;

namespace AgentSpend.Core.Tests;

public sealed class AuthFailureLimiterTests
{
    [Fact]
    public void An_address_is_held_back_for_the_rest_of_its_minute_once_past_the_limit_and_others_are_not()
    {
        var clock = new MovableClock(new DateTimeOffset(2026, 12, 4, 10, 0, 0, TimeSpan.Zero));
        using var limiter = new AuthFailureLimiter(clock);

        for (var i = 0; i < AuthFailureLimiter.MaxFailuresPerMinute - 1; i++)
        {
            limiter.RecordFailure("203.0.113.9");
        }

        Assert.Null(limiter.RetryAfter("203.0.113.9"));
        limiter.RecordFailure("203.0.113.9");
        clock.Now += TimeSpan.FromSeconds(20);

        Assert.Equal(TimeSpan.FromSeconds(40), limiter.RetryAfter("203.0.113.9"));
        Assert.Null(limiter.RetryAfter("198.51.100.1"));
        Assert.Null(limiter.RetryAfter(null));

        clock.Now += TimeSpan.FromSeconds(40);
        Assert.Null(limiter.RetryAfter("203.0.113.9")); // a new minute
        limiter.RecordFailure("203.0.113.9");
        Assert.Null(limiter.RetryAfter("203.0.113.9"));
    }
}
