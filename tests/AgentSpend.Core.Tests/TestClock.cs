namespace AgentSpend.Core.Tests;

/// <summary>A clock fixed at a given instant.</summary>
internal sealed class TestClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
