namespace AgentSpend.Core.Storage;

/// <summary>A message taken from a queue under a lease (visibility timeout).</summary>
public sealed record LeasedMessage(string MessageId, string PopReceipt, string Text, long DequeueCount, DateTimeOffset? InsertedOn);

/// <summary>A message looked at without taking it.</summary>
public sealed record PeekedMessage(string MessageId, string Text, long DequeueCount, DateTimeOffset? InsertedOn = null);

/// <summary>
/// Port for one Azure queue. Message text is stored as given: callers encode binary payloads themselves.
/// </summary>
public interface IQueueStore
{
    string Name { get; }

    /// <summary>Azure's limit on one message's text, in bytes.</summary>
    public const int MaxMessageBytes = 64 * 1024;

    Task CreateIfNotExistsAsync(CancellationToken cancellationToken = default);

    Task<string> SendAsync(string text, TimeSpan? initialInvisibility = null, CancellationToken cancellationToken = default);

    /// <summary>Takes up to <paramref name="maxMessages"/> (1–32) messages, each invisible to others for <paramref name="visibilityTimeout"/>.</summary>
    Task<IReadOnlyList<LeasedMessage>> ReceiveAsync(int maxMessages, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default);

    /// <summary>Extends or shortens a lease; returns the new pop receipt (the old one stops working).</summary>
    Task<string> UpdateVisibilityAsync(string messageId, string popReceipt, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default);

    Task DeleteAsync(string messageId, string popReceipt, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<PeekedMessage>> PeekAsync(int maxMessages, CancellationToken cancellationToken = default);

    Task<int> GetApproximateCountAsync(CancellationToken cancellationToken = default);
}
