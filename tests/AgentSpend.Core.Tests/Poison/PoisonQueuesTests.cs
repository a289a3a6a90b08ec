using AgentSpend.Core.Poison;
using AgentSpend.Core.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentSpend.Core.Tests.Poison;

public sealed class PoisonQueuesTests
{
    private static readonly string Poison = StorageNames.PoisonQueueOf(StorageNames.IngestQueue);

    [Fact]
    public async Task A_replay_moves_every_poisoned_message_in_pages_of_32_sending_each_to_the_queue_before_deleting_it()
    {
        var storage = new InMemoryQueues();
        var texts = Enumerable.Range(0, 70).Select(i => $"m{i}").ToArray();
        foreach (var text in texts)
        {
            await storage.Queue(Poison).SendAsync(text);
        }

        storage.Operations.Clear();

        var outcome = await new PoisonQueues(storage, TimeProvider.System, NullLogger<PoisonQueues>.Instance).ReplayAsync(StorageNames.IngestQueue, CancellationToken.None);

        Assert.Equal(new ReplayOutcome(StorageNames.IngestQueue, 70, 70, 0), outcome);
        Assert.Equal(texts.Order(StringComparer.Ordinal), storage.Queue(StorageNames.IngestQueue).Texts.Order(StringComparer.Ordinal));
        Assert.Empty(storage.Queue(Poison).Texts);
        Assert.Equal([$"receive {Poison} 32 -> 32", $"receive {Poison} 32 -> 32", $"receive {Poison} 6 -> 6"], storage.Operations.Where(o => o.StartsWith("receive", StringComparison.Ordinal)));
        foreach (var text in texts)
        {
            Assert.True(
                storage.Operations.IndexOf($"send {StorageNames.IngestQueue} {text}") < storage.Operations.IndexOf($"delete {Poison} {text}"),
                $"{text} was deleted from the poison queue before it was sent back");
        }
    }

    [Fact]
    public async Task A_replay_moves_at_most_what_the_poison_queue_held_when_it_started_however_many_messages_keep_arriving()
    {
        var storage = new InMemoryQueues();
        for (var i = 0; i < 40; i++)
        {
            await storage.Queue(Poison).SendAsync($"m{i}");
        }

        var arrived = 0;
        storage.Queue(Poison).BeforeReceive = q => q.SendAsync($"late{arrived++}").GetAwaiter().GetResult();

        var outcome = await new PoisonQueues(storage, TimeProvider.System, NullLogger<PoisonQueues>.Instance).ReplayAsync(StorageNames.IngestQueue, CancellationToken.None);

        // Two receives (32, then the 8 left of the 40), each after one more message arrived.
        Assert.Equal(new ReplayOutcome(StorageNames.IngestQueue, 40, 40, 2), outcome);
        Assert.Equal(2, arrived);
        Assert.Equal(["late0", "late1"], storage.Queue(Poison).Texts);
        Assert.Equal(40, storage.Queue(StorageNames.IngestQueue).Texts.Count);
    }

    [Fact]
    public async Task A_message_whose_send_fails_stays_in_the_poison_queue_and_the_replay_says_it_stopped()
    {
        var storage = new InMemoryQueues();
        await storage.Queue(Poison).SendAsync("fine");
        await storage.Queue(Poison).SendAsync("refused");
        storage.Queue(StorageNames.IngestQueue).FailSendOf = "refused";

        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            new PoisonQueues(storage, TimeProvider.System, NullLogger<PoisonQueues>.Instance).ReplayAsync(StorageNames.IngestQueue, CancellationToken.None));

        Assert.Equal(["fine"], storage.Queue(StorageNames.IngestQueue).Texts);
        Assert.Equal(["refused"], storage.Queue(Poison).Texts);
    }

    [Fact]
    public async Task Only_the_trigger_queues_can_be_replayed_and_their_depths_are_read_with_their_poison_queues()
    {
        var storage = new InMemoryQueues();
        await storage.Queue(StorageNames.AlertsQueue).SendAsync("a");
        await storage.Queue(StorageNames.PoisonQueueOf(StorageNames.AlertsQueue)).SendAsync("b");
        await storage.Queue(StorageNames.PoisonQueueOf(StorageNames.AlertsQueue)).SendAsync("c");
        var queues = new PoisonQueues(storage, TimeProvider.System, NullLogger<PoisonQueues>.Instance);

        Assert.Equal([StorageNames.IngestQueue, StorageNames.AlertsQueue], PoisonQueues.Queues);
        Assert.False(PoisonQueues.IsKnown(Poison));
        await Assert.ThrowsAsync<ArgumentException>(() => queues.ReplayAsync(Poison, CancellationToken.None));
        Assert.Equal(
            [new QueueDepth("usage-ingest", 0, "usage-ingest-poison", 0), new QueueDepth("alerts", 1, "alerts-poison", 2)],
            await queues.ReadDepthsAsync(CancellationToken.None));
    }
}
