using AgentSpend.Core.Storage;

namespace AgentSpend.Core.Tests.Poison;

/// <summary>Queues in memory, for the rules that sit on top of <see cref="IQueueStore"/>; every call is written to <see cref="Operations"/>.</summary>
internal sealed class InMemoryQueues : IStorageProvider
{
    private readonly Dictionary<string, InMemoryQueue> _queues = new(StringComparer.Ordinal);

    public List<string> Operations { get; } = [];

    public InMemoryQueue Queue(string name)
    {
        lock (_queues)
        {
            return _queues.TryGetValue(name, out var queue) ? queue : _queues[name] = new InMemoryQueue(name, this);
        }
    }

    public IQueueStore GetQueue(string name) => Queue(name);

    public ITableStore GetTable(string name) => throw new NotSupportedException("no tables here");

    public void Record(string operation)
    {
        lock (Operations)
        {
            Operations.Add(operation);
        }
    }
}

internal sealed class InMemoryQueue(string name, InMemoryQueues owner) : IQueueStore
{
    private readonly List<(string Id, string Text, bool Leased)> _messages = [];
    private int _next;

    public string Name => name;

    /// <summary>Called before each receive: lets a test make messages arrive while a caller works.</summary>
    public Action<InMemoryQueue>? BeforeReceive { get; set; }

    /// <summary>Thrown by the send of the message with this text.</summary>
    public string? FailSendOf { get; set; }

    public IReadOnlyList<string> Texts
    {
        get
        {
            lock (_messages)
            {
                return [.. _messages.Select(m => m.Text)];
            }
        }
    }

    public Task CreateIfNotExistsAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task<string> SendAsync(string text, TimeSpan? initialInvisibility = null, CancellationToken cancellationToken = default)
    {
        if (text == FailSendOf)
        {
            throw new InvalidOperationException("send refused");
        }

        lock (_messages)
        {
            var id = $"{name}-{_next++}";
            _messages.Add((id, text, false));
            owner.Record($"send {name} {text}");
            return Task.FromResult(id);
        }
    }

    public Task<IReadOnlyList<LeasedMessage>> ReceiveAsync(int maxMessages, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxMessages, 32);
        BeforeReceive?.Invoke(this);
        lock (_messages)
        {
            var taken = new List<LeasedMessage>();
            for (var i = 0; i < _messages.Count && taken.Count < maxMessages; i++)
            {
                if (!_messages[i].Leased)
                {
                    _messages[i] = _messages[i] with { Leased = true };
                    taken.Add(new LeasedMessage(_messages[i].Id, "receipt-" + _messages[i].Id, _messages[i].Text, 1, null));
                }
            }

            owner.Record($"receive {name} {maxMessages} -> {taken.Count}");
            return Task.FromResult<IReadOnlyList<LeasedMessage>>(taken);
        }
    }

    public Task<string> UpdateVisibilityAsync(string messageId, string popReceipt, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public Task DeleteAsync(string messageId, string popReceipt, CancellationToken cancellationToken = default)
    {
        lock (_messages)
        {
            var index = _messages.FindIndex(m => m.Id == messageId);
            if (index < 0 || popReceipt != "receipt-" + messageId)
            {
                throw new InvalidOperationException($"no message {messageId} under that receipt");
            }

            owner.Record($"delete {name} {_messages[index].Text}");
            _messages.RemoveAt(index);
            return Task.CompletedTask;
        }
    }

    public Task<IReadOnlyList<PeekedMessage>> PeekAsync(int maxMessages, CancellationToken cancellationToken = default)
    {
        lock (_messages)
        {
            return Task.FromResult<IReadOnlyList<PeekedMessage>>([.. _messages.Take(maxMessages).Select(m => new PeekedMessage(m.Id, m.Text, 0))]);
        }
    }

    public Task<int> GetApproximateCountAsync(CancellationToken cancellationToken = default)
    {
        lock (_messages)
        {
            return Task.FromResult(_messages.Count);
        }
    }
}
