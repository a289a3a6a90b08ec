using AgentSpend.Core.Observability;
using AgentSpend.Core.Storage;
using Azure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;

namespace AgentSpend.Core.Tests.Observability;

/// <summary>The queue sampler over a storage port faked with Moq: exact figures when it answers, the last ones kept when it fails.</summary>
public class QueueSamplerTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Depths_come_from_each_queue_and_its_poison_queue_and_the_lag_from_the_oldest_peeked_message()
    {
        var storage = new Mock<IStorageProvider>(MockBehavior.Strict);
        Queue(storage, StorageNames.IngestQueue, 7, [Peeked(Now.AddSeconds(-3)), Peeked(Now.AddSeconds(-42)), Peeked(null)]);
        Queue(storage, StorageNames.PoisonQueueOf(StorageNames.IngestQueue), 1);
        Queue(storage, StorageNames.AlertsQueue, 0);
        Queue(storage, StorageNames.PoisonQueueOf(StorageNames.AlertsQueue), 2);
        var metrics = Metrics();

        var sample = await new QueueSampler(storage.Object, metrics, new MovableClock(Now), NullLogger<QueueSampler>.Instance).SampleAsync(CancellationToken.None);

        Assert.Equal([new QueueDepth("usage-ingest", 7, 1), new QueueDepth("alerts", 0, 2)], sample!.Queues);
        Assert.Equal(TimeSpan.FromSeconds(42), sample.OldestIngestAge);
        Assert.Same(sample, metrics.LastQueueSample);
    }

    [Fact]
    public async Task A_storage_failure_keeps_the_last_figures_and_never_throws()
    {
        var storage = new Mock<IStorageProvider>(MockBehavior.Strict);
        Queue(storage, StorageNames.IngestQueue, 3, []);
        Queue(storage, StorageNames.PoisonQueueOf(StorageNames.IngestQueue), 0);
        Queue(storage, StorageNames.AlertsQueue, 0);
        Queue(storage, StorageNames.PoisonQueueOf(StorageNames.AlertsQueue), 0);
        var metrics = Metrics();
        var sampler = new QueueSampler(storage.Object, metrics, new MovableClock(Now), NullLogger<QueueSampler>.Instance);
        var first = await sampler.SampleAsync(CancellationToken.None);

        var failing = new Mock<IQueueStore>();
        failing.Setup(q => q.GetApproximateCountAsync(It.IsAny<CancellationToken>())).ThrowsAsync(new RequestFailedException(503, "Server busy"));
        storage.Setup(s => s.GetQueue(StorageNames.AlertsQueue)).Returns(failing.Object);

        Assert.Null(await sampler.SampleAsync(CancellationToken.None));
        Assert.Same(first, metrics.LastQueueSample);
        Assert.Equal(TimeSpan.Zero, first!.OldestIngestAge); // an empty queue has no lag
    }

    private static AgentSpendMetrics Metrics()
    {
        var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        return new AgentSpendMetrics(services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
    }

    private static PeekedMessage Peeked(DateTimeOffset? insertedOn) => new("id", "{}", 1, insertedOn);

    private static void Queue(Mock<IStorageProvider> storage, string name, int depth, IReadOnlyList<PeekedMessage>? peeked = null)
    {
        var queue = new Mock<IQueueStore>(MockBehavior.Strict);
        queue.Setup(q => q.GetApproximateCountAsync(It.IsAny<CancellationToken>())).ReturnsAsync(depth);
        if (peeked is not null)
        {
            queue.Setup(q => q.PeekAsync(32, It.IsAny<CancellationToken>())).ReturnsAsync(peeked);
        }

        storage.Setup(s => s.GetQueue(name)).Returns(queue.Object);
    }
}
