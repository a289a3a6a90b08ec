using AgentSpend.Core.Aggregation;

namespace AgentSpend.Core.Tests.Aggregation;

public class InvocationCoalescerTests
{
    [Fact]
    public async Task Invocations_dispatched_together_are_one_pass_and_each_gets_its_own_items_result()
    {
        var passes = new List<int[]>();
        using var coalescer = new InvocationCoalescer<int>((items, _) =>
        {
            lock (passes)
            {
                passes.Add([.. items]);
            }

            return Task.FromResult<IReadOnlyList<Exception?>>([.. items.Select(i => i % 7 == 0 ? new InvalidDataException($"item {i}") : null)]);
        }, maxPerPass: 64, linger: TimeSpan.FromMilliseconds(50));

        var results = await Task.WhenAll(Enumerable.Range(1, 40).Select(i => coalescer.RunAsync(i, CancellationToken.None)));

        Assert.Equal(Enumerable.Range(1, 40), Assert.Single(passes).Order());
        Assert.Equal(1, coalescer.Passes);
        Assert.Equal([7, 14, 21, 28, 35], results.Select((r, i) => (r, i + 1)).Where(x => x.r is not null).Select(x => x.Item2));
        Assert.All(results.Where(r => r is not null), r => Assert.IsType<InvalidDataException>(r));
        Assert.Equal("item 21", results[20]!.Message);
    }

    [Fact]
    public async Task Items_that_arrive_during_a_pass_wait_for_the_next_and_no_invocation_ends_before_its_own_pass()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var passes = new List<int[]>();
        using var coalescer = new InvocationCoalescer<int>(async (items, _) =>
        {
            lock (passes)
            {
                passes.Add([.. items]);
            }

            if (items.Contains(1))
            {
                await release.Task; // the first pass is held until the test lets it go
            }

            return [.. items.Select(_ => (Exception?)null)];
        }, maxPerPass: 64, linger: TimeSpan.Zero);

        var first = coalescer.RunAsync(1, CancellationToken.None);
        await WaitUntilAsync(() => passes.Count == 1);
        var later = Enumerable.Range(2, 5).Select(i => coalescer.RunAsync(i, CancellationToken.None)).ToArray();
        await Task.Delay(50);

        Assert.False(first.IsCompleted);
        Assert.All(later, t => Assert.False(t.IsCompleted));
        release.SetResult();
        await Task.WhenAll(later.Append(first));
        Assert.Equal([[1], [2, 3, 4, 5, 6]], passes);
    }

    [Fact]
    public async Task A_pass_that_throws_fails_its_own_items_only_and_the_next_pass_still_runs()
    {
        var calls = 0;
        using var coalescer = new InvocationCoalescer<string>((items, _) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                throw new TimeoutException("storage did not answer");
            }

            return Task.FromResult<IReadOnlyList<Exception?>>([.. items.Select(_ => (Exception?)null)]);
        }, maxPerPass: 3, linger: TimeSpan.FromMilliseconds(50));

        var results = await Task.WhenAll(new[] { "a", "b", "c", "d", "e" }.Select(i => coalescer.RunAsync(i, CancellationToken.None)));

        // At most three to a pass: a, b and c failed together; d and e went in the next pass and were done.
        Assert.Equal(2, coalescer.Passes);
        Assert.All(results[..3], r => Assert.Equal("storage did not answer", Assert.IsType<TimeoutException>(r).Message));
        Assert.All(results[3..], Assert.Null);
    }

    [Fact]
    public async Task A_cancelled_invocation_stops_waiting_without_touching_the_others()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var coalescer = new InvocationCoalescer<int>(async (items, _) =>
        {
            await release.Task;
            return [.. items.Select(_ => (Exception?)null)];
        }, maxPerPass: 64, linger: TimeSpan.FromMilliseconds(20));
        using var cancel = new CancellationTokenSource();

        var cancelled = coalescer.RunAsync(1, cancel.Token);
        var kept = coalescer.RunAsync(2, CancellationToken.None);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.False(kept.IsCompleted);
        release.SetResult();
        Assert.Null(await kept);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }
}
