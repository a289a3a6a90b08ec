namespace AgentSpend.Integration.Tests.Infrastructure;

/// <summary>The system clock moved by an offset a test sets: lets a test step past a period's end while timers and delays run in real time.</summary>
public sealed class ShiftedClock : TimeProvider
{
    private long _offsetTicks;

    public TimeSpan Offset
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));
        set => Interlocked.Exchange(ref _offsetTicks, value.Ticks);
    }

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;
}
