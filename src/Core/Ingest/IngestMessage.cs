using System.Buffers.Text;
using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Serialization;
using AgentSpend.Core.Domain;
using AgentSpend.Core.Storage;

namespace AgentSpend.Core.Ingest;

/// <summary>The body of one <c>usage-ingest</c> queue message: a batch of validated events.</summary>
public sealed record IngestMessage
{
    public const int CurrentVersion = 1;

    [JsonPropertyName("v")] public int Version { get; init; } = CurrentVersion;

    [JsonPropertyName("events")] public required IReadOnlyList<UsageEvent> Events { get; init; }
}

/// <summary>
/// Packs events into as few queue messages as fit: JSON, Brotli-compressed, base64, behind a format
/// tag. A batch that does not fit one message is split in halves until every part does.
/// </summary>
public static class IngestMessageCodec
{
    private const string FormatTag = "b1:";

    /// <summary>Compressed bytes per message such that tag + base64 stays within the queue's 64 KiB.</summary>
    public const int MaxCompressedBytes = (IQueueStore.MaxMessageBytes - 8) / 4 * 3;

    public static IReadOnlyList<string> Pack(IReadOnlyList<UsageEvent> events)
    {
        var messages = new List<string>();
        if (events.Count > 0)
        {
            PackInto(messages, events);
        }

        return messages;
    }

    /// <summary>
    /// Reads one queue message. Anything that is not a message <see cref="Pack"/> could have written (wrong tag,
    /// bad base64, corrupt Brotli, JSON that is not an ingest message, an unsupported version) throws
    /// <see cref="InvalidDataException"/>, with the underlying error as its inner exception.
    /// </summary>
    public static IngestMessage Unpack(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.StartsWith(FormatTag, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"Not an ingest message: it does not start with '{FormatTag}'.");
        }

        byte[] compressed;
        try
        {
            compressed = Convert.FromBase64String(text[FormatTag.Length..]);
        }
        catch (FormatException ex)
        {
            throw new InvalidDataException("Ingest message is not valid base64.", ex);
        }

        using var json = new MemoryStream();
        try
        {
            using var input = new BrotliStream(new MemoryStream(compressed), CompressionMode.Decompress);
            input.CopyTo(json);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException)
        {
            // BrotliStream reports corrupt data as InvalidOperationException.
            throw new InvalidDataException($"Ingest message is not valid Brotli data: {ex.Message}", ex);
        }

        IngestMessage? message;
        try
        {
            message = JsonSerializer.Deserialize(json.GetBuffer().AsSpan(0, (int)json.Length), CoreJsonContext.Default.IngestMessage);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"Ingest message is not a valid JSON batch: {ex.Message}", ex);
        }

        if (message is null)
        {
            throw new InvalidDataException("Ingest message is empty.");
        }

        if (message.Version != IngestMessage.CurrentVersion)
        {
            throw new InvalidDataException($"Ingest message version {message.Version} is not supported.");
        }

        // The serializer lets explicit nulls through for non-nullable members; the aggregator relies on them.
        if (message.Events is null)
        {
            throw new InvalidDataException("Ingest message has no 'events' array.");
        }

        for (var i = 0; i < message.Events.Count; i++)
        {
            var e = message.Events[i];
            if (e is null || e.Id is null || e.WorkspaceId is null || e.Day is null || e.Agent is null || e.Provider is null || e.Model is null)
            {
                throw new InvalidDataException($"Ingest message event {i} is null or lacks one of id, ws, day, ag, pv, md.");
            }
        }

        return message;
    }

    private static void PackInto(List<string> messages, IReadOnlyList<UsageEvent> events)
    {
        var compressed = Compress(new IngestMessage { Events = events });
        if (compressed.Length <= MaxCompressedBytes)
        {
            messages.Add(FormatTag + Convert.ToBase64String(compressed));
            return;
        }

        if (events.Count == 1)
        {
            throw new InvalidOperationException("One event does not fit a queue message; the validator's field limits should prevent this.");
        }

        var half = events.Count / 2;
        PackInto(messages, events.Take(half).ToArray());
        PackInto(messages, events.Skip(half).ToArray());
    }

    private static byte[] Compress(IngestMessage message)
    {
        var output = new MemoryStream();
        using (var brotli = new BrotliStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            JsonSerializer.Serialize(brotli, message, CoreJsonContext.Default.IngestMessage);
        }

        return output.ToArray();
    }

    /// <summary>Length of the queue text for a given compressed size; exposed for tests.</summary>
    internal static int TextLength(int compressedBytes) => FormatTag.Length + Base64.GetMaxEncodedToUtf8Length(compressedBytes);
}
