using System.Collections.Concurrent;
using AgentSpend.Core.Storage;
using Azure;

namespace AgentSpend.Integration.Tests.Infrastructure;

/// <summary>
/// Storage whose ingest queue refuses one send on demand (<see cref="FailSend"/>): a queue that takes some messages
/// of a batch and not another. Everything else, receiving included, is the real storage. Records what it queued.
/// </summary>
internal sealed class FaultyIngestQueue(IStorageProvider inner) : IStorageProvider
{
    private readonly Queue _queue = new(inner.GetQueue(StorageNames.IngestQueue));

    /// <summary>Every message text the queue took, in order.</summary>
    public IReadOnlyList<string> Sent => [.. _queue.Sent];

    /// <summary>Sends attempted since the last <see cref="FailSend"/>.</summary>
    public int Attempts => _queue.Attempts;

    public ITableStore GetTable(string name) => inner.GetTable(name);

    public IQueueStore GetQueue(string name) => name == StorageNames.IngestQueue ? _queue : inner.GetQueue(name);

    /// <summary>The <paramref name="nth"/> send from now fails with 500; the ones before and after it go through.</summary>
    public void FailSend(int nth) => _queue.Arm(nth);

    private sealed class Queue(IQueueStore real) : IQueueStore
    {
        private int _attempts;
        private int _failAt = -1;

        public ConcurrentQueue<string> Sent { get; } = new();

        public int Attempts => Volatile.Read(ref _attempts);

        public string Name => real.Name;

        public void Arm(int nth)
        {
            Volatile.Write(ref _attempts, 0);
            Volatile.Write(ref _failAt, nth);
        }

        public async Task<string> SendAsync(string text, TimeSpan? initialInvisibility = null, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Increment(ref _attempts) == Volatile.Read(ref _failAt))
            {
                await Task.Yield(); // fails while its siblings are under way, as a real send would
                throw new RequestFailedException(500, "The queue service failed this send (injected by the test).");
            }

            var id = await real.SendAsync(text, initialInvisibility, cancellationToken);
            Sent.Enqueue(text);
            return id;
        }

        public Task CreateIfNotExistsAsync(CancellationToken cancellationToken = default) => real.CreateIfNotExistsAsync(cancellationToken);

        public Task<IReadOnlyList<LeasedMessage>> ReceiveAsync(int maxMessages, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default) =>
            real.ReceiveAsync(maxMessages, visibilityTimeout, cancellationToken);

        public Task<string> UpdateVisibilityAsync(string messageId, string popReceipt, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default) =>
            real.UpdateVisibilityAsync(messageId, popReceipt, visibilityTimeout, cancellationToken);

        public Task DeleteAsync(string messageId, string popReceipt, CancellationToken cancellationToken = default) =>
            real.DeleteAsync(messageId, popReceipt, cancellationToken);

        public Task<IReadOnlyList<PeekedMessage>> PeekAsync(int maxMessages, CancellationToken cancellationToken = default) => real.PeekAsync(maxMessages, cancellationToken);

        public Task<int> GetApproximateCountAsync(CancellationToken cancellationToken = default) => real.GetApproximateCountAsync(cancellationToken);
    }
}
