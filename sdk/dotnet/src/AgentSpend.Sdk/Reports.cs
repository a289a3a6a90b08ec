using System.Collections.Generic;

namespace AgentSpend.Sdk;

/// <summary>An event the server refused (a <c>202</c> with <c>errors</c>, or a whole-batch <c>400</c>). Not resent.</summary>
public sealed class RejectedEvent
{
    internal RejectedEvent(UsageEvent usageEvent, int index, string? field, string reason, int status)
    {
        Event = usageEvent;
        Index = index;
        Field = field;
        Reason = reason;
        Status = status;
    }

    /// <summary>The event as it was sent (with its <c>idempotency_key</c> and <c>timestamp</c>).</summary>
    public UsageEvent Event { get; }

    /// <summary>Its index in the batch that was sent.</summary>
    public int Index { get; }

    /// <summary>The field the server named, if any.</summary>
    public string? Field { get; }

    /// <summary>The server's reason (several errors of one event joined with <c>"; "</c>).</summary>
    public string Reason { get; }

    /// <summary>HTTP status of the answer: 202 (part of the batch refused) or 400 (all of it).</summary>
    public int Status { get; }

    /// <inheritdoc />
    public override string ToString() => $"event {Index} rejected ({Status}): {(Field is null ? "" : Field + ": ")}{Reason}";
}

/// <summary>Events the client did not deliver and will not retry.</summary>
public sealed class DroppedEvents
{
    internal DroppedEvents(IReadOnlyList<UsageEvent> events, string reason, int? status, string? message, int attempts)
    {
        Events = events;
        Reason = reason;
        Status = status;
        Message = message;
        Attempts = attempts;
    }

    /// <summary>The events (as prepared for sending; empty when an event could not even be read).</summary>
    public IReadOnlyList<UsageEvent> Events { get; }

    /// <summary>
    /// Why: <see cref="DropReasons.BufferFull"/>, <see cref="DropReasons.Closed"/>, <see cref="DropReasons.TooLarge"/>,
    /// <see cref="DropReasons.Invalid"/>, <see cref="DropReasons.GaveUp"/>, <see cref="DropReasons.HttpError"/>,
    /// <see cref="DropReasons.Deadline"/>, <see cref="DropReasons.Error"/>.
    /// </summary>
    public string Reason { get; }

    /// <summary>The last HTTP status seen, if any.</summary>
    public int? Status { get; }

    /// <summary>The server's reason or the network error's message, if any.</summary>
    public string? Message { get; }

    /// <summary>How many requests were made for these events (0: none).</summary>
    public int Attempts { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Events.Count} events dropped: {Reason}{(Status is null ? "" : " (HTTP " + Status + ")")}";
}

/// <summary>The values of <see cref="DroppedEvents.Reason"/>.</summary>
public static class DropReasons
{
    /// <summary>The buffer held <see cref="AgentSpendOptions.BufferCapacity"/> events already.</summary>
    public const string BufferFull = "buffer_full";

    /// <summary>The client was disposed.</summary>
    public const string Closed = "closed";

    /// <summary>The event's JSON alone is larger than <see cref="AgentSpendOptions.MaxBatchBytes"/>.</summary>
    public const string TooLarge = "too_large";

    /// <summary>The event could not be prepared (serialized).</summary>
    public const string Invalid = "invalid";

    /// <summary>Retrying would have gone past <see cref="AgentSpendOptions.MaxRetryTime"/> (or a <c>Retry-After</c> lay past it).</summary>
    public const string GaveUp = "gave_up";

    /// <summary>The server answered a 4xx other than 400 and 429 (401, 403, 413, 415 …): not retried.</summary>
    public const string HttpError = "http_error";

    /// <summary>Still unsent when disposing reached <see cref="AgentSpendOptions.ShutdownTimeout"/>.</summary>
    public const string Deadline = "deadline";

    /// <summary>An unexpected error in the background sender (reported here, never thrown into the agent).</summary>
    public const string Error = "error";
}
