using System.Net.Http;
using AgentSpend.Core.Poison;
using AgentSpend.Core.Storage;
using Azure;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentSpend.Core.Tests.Poison;

public sealed class QueueHealthTests
{
    /// <summary>Queues whose depth reads are counted, and answer with what the test says (a count, or an exception).</summary>
    private sealed class ScriptedQueues(Func<string, int> depth) : IStorageProvider
    {
        public int Reads;

        public int Depth(string name) => depth(name);

        public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IQueueStore GetQueue(string name) => new Queue(name, this);

        public ITableStore GetTable(string name) => throw new NotSupportedException();

        private sealed class Queue(string name, ScriptedQueues owner) : IQueueStore
        {
            public string Name => name;

            public async Task<int> GetApproximateCountAsync(CancellationToken cancellationToken = default)
            {
                Interlocked.Increment(ref owner.Reads);
                await owner.Gate.Task;
                return owner.Depth(name);
            }

            public Task CreateIfNotExistsAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();

            public Task<string> SendAsync(string text, TimeSpan? initialInvisibility = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

            public Task<IReadOnlyList<LeasedMessage>> ReceiveAsync(int maxMessages, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default) => throw new NotSupportedException();

            public Task<string> UpdateVisibilityAsync(string messageId, string popReceipt, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default) => throw new NotSupportedException();

            public Task DeleteAsync(string messageId, string popReceipt, CancellationToken cancellationToken = default) => throw new NotSupportedException();

            public Task<IReadOnlyList<PeekedMessage>> PeekAsync(int maxMessages, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        }
    }

    private static QueueHealth HealthOver(ScriptedQueues storage, TimeProvider clock) =>
        new(new PoisonQueues(storage, clock, NullLogger<PoisonQueues>.Instance), clock, NullLogger<QueueHealth>.Instance);

    [Fact]
    public async Task Callers_at_once_share_one_read_which_is_kept_until_it_is_old_or_forgotten()
    {
        var clock = new MovableClock(new DateTimeOffset(2026, 12, 5, 9, 0, 0, TimeSpan.Zero));
        var depths = new Dictionary<string, int> { ["usage-ingest-poison"] = 3, ["alerts-poison"] = 0 };
        var storage = new ScriptedQueues(name => depths[name]);
        var health = HealthOver(storage, clock);

        var waiting = Enumerable.Range(0, 20).Select(_ => health.GetAsync(CancellationToken.None).AsTask()).ToArray();
        storage.Gate.SetResult();
        var reports = await Task.WhenAll(waiting);

        Assert.Equal(2, storage.Reads); // one read: each poison queue once
        Assert.All(reports, r => Assert.Same(reports[0], r));
        Assert.Equal((QueueHealthReport.Ok, true), (reports[0].Storage, reports[0].Degraded));
        Assert.Equal([new PoisonCount("usage-ingest-poison", 3)], reports[0].Poison);

        depths["usage-ingest-poison"] = 0;
        clock.Now += QueueHealth.Freshness - TimeSpan.FromMilliseconds(1);
        Assert.Same(reports[0], await health.GetAsync(CancellationToken.None));
        Assert.Equal(2, storage.Reads);

        health.Forget();
        var afterReplay = await health.GetAsync(CancellationToken.None);
        Assert.Equal(4, storage.Reads);
        Assert.Equal((QueueHealthReport.Ok, false, 0), (afterReplay.Storage, afterReplay.Degraded, afterReplay.Poison.Count));
    }

    public static TheoryData<Exception, string> Failures => new()
    {
        { new RequestFailedException(503, "ServerBusy"), QueueHealthReport.Unreachable },
        { new RequestFailedException(0, "Connection refused", new HttpRequestException("refused")), QueueHealthReport.Unreachable },
        { new HttpRequestException("refused"), QueueHealthReport.Unreachable },
        { new RequestFailedException(403, "AuthorizationFailure"), QueueHealthReport.Error },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task A_read_storage_does_not_answer_is_reported_not_thrown_and_kept_like_any_other(Exception failure, string storageState)
    {
        var clock = new MovableClock(new DateTimeOffset(2026, 12, 5, 9, 0, 0, TimeSpan.Zero));
        var storage = new ScriptedQueues(_ => throw failure);
        storage.Gate.SetResult();
        var health = HealthOver(storage, clock);

        var report = await health.GetAsync(CancellationToken.None);
        var again = await health.GetAsync(CancellationToken.None);

        Assert.Equal((storageState, true, 0), (report.Storage, report.Degraded, report.Poison.Count));
        Assert.Same(report, again);
        Assert.Equal(2, storage.Reads); // the second caller did not ask storage again
    }
}
