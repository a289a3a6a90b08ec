using System.Buffers;
using Azure.Data.Tables;

namespace AgentSpend.Core.Aggregation;

/// <summary>
/// Packs entity-group transactions by what they carry: at most 100 operations and 4 MiB of payload
/// (Azure's limits), so that a transaction takes as many events as fit with the bucket rows, slice rows,
/// run days and ledgers they change, however many that is.
/// </summary>
public static class TransactionPacker
{
    public const int MaxOperations = 100;

    /// <summary>Azure refuses a batch over 4 MiB; this leaves room for the multipart envelope.</summary>
    public const long MaxPayloadBytes = (4L * 1024 * 1024) - (256 * 1024);

    /// <summary>Azure refuses an entity over 1 MiB, counted as it counts (UTF-16 strings, see <see cref="StoredSize"/>).</summary>
    public const long MaxEntityBytes = 1024 * 1024;

    // Multipart headers and the request line of one operation, with its keys in the URL.
    private const int OperationOverheadBytes = 400;

    // Characters JSON writers escape as \uXXXX by default: quotes and HTML-sensitive ones, controls, anything not ASCII.
    private static readonly SearchValues<char> Plain = SearchValues.Create(
        " !#$%()*,-./0123456789:;=?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_abcdefghijklmnopqrstuvwxyz{|}~");

    /// <summary>
    /// The largest prefix of <paramref name="pending"/> (at most <paramref name="limit"/> items) that fits one
    /// transaction together with the rows it changes. Starts from <paramref name="guess"/> and adjusts: each
    /// item adds at least one operation, so growing by the operations left, or shrinking by the operations over,
    /// converges in a few steps.
    /// </summary>
    /// <returns>null when not even the first item fits (its changes alone exceed a limit).</returns>
    public static Plan<TItem>? Next<TItem>(
        IReadOnlyList<TItem> pending, int limit, int guess,
        Func<IReadOnlyList<TItem>, BucketChanges> apply, Func<TItem, TableTransactionAction> itemAction, string partitionKey)
    {
        limit = Math.Min(Math.Min(limit, pending.Count), MaxOperations - 1);
        var count = Math.Clamp(guess, 1, limit);
        Plan<TItem>? best = null;
        for (var step = 0; step < 12; step++)
        {
            var items = new ArraySegment<TItem>([.. pending.Take(count)]);
            var changes = apply(items);
            var actions = new List<TableTransactionAction>(count + changes.Count);
            actions.AddRange(items.Select(itemAction));
            actions.AddRange(changes.Actions(partitionKey));
            var bytes = actions.Sum(a => PayloadBytes(a.Entity));
            var operations = actions.Count;
            if (operations <= MaxOperations && bytes <= MaxPayloadBytes)
            {
                best = new Plan<TItem>(items, changes, actions, bytes);
                if (operations == MaxOperations || count == limit)
                {
                    return best;
                }

                var grown = Math.Min(limit, count + (MaxOperations - operations));
                if (bytes > 0 && grown > count)
                {
                    // Items of the same kind weigh alike: do not grow past what the bytes allow either.
                    grown = (int)Math.Min(grown, Math.Max(count + 1, count * (MaxPayloadBytes / (double)bytes)));
                }

                count = grown;
                continue;
            }

            // Taking off as many items as operations are over always fits; when that leaves nothing (items that
            // change several rows each), shrink in proportion instead and look again.
            var byOperations = Math.Max(count - (operations - MaxOperations), (int)(count * (MaxOperations / (double)operations)));
            var byBytes = (int)(count * (MaxPayloadBytes / (double)bytes));
            var shrunk = Math.Max(1, Math.Min(count - 1, Math.Min(byOperations, byBytes)));
            if (best is not null && shrunk <= best.Items.Count)
            {
                return best;
            }

            if (count == 1)
            {
                return best;
            }

            count = shrunk;
        }

        return best;
    }

    /// <summary>An upper bound of the bytes an entity takes in a batch request (JSON as the SDK writes it, and the operation's envelope).</summary>
    public static long PayloadBytes(ITableEntity entity)
    {
        long bytes = OperationOverheadBytes + (2 * (JsonText(entity.PartitionKey) + JsonText(entity.RowKey)));
        if (entity is TableEntity table)
        {
            foreach (var (name, value) in table)
            {
                bytes += JsonText(name) + 32 + value switch
                {
                    string s => JsonText(s),
                    byte[] b => (b.Length + 2) / 3 * 4,
                    _ => 40,
                };
            }
        }

        return bytes;
    }

    /// <summary>The entity's size as Azure counts it against its 1 MiB limit.</summary>
    public static long StoredSize(TableEntity entity)
    {
        long bytes = 4 + (2L * (entity.PartitionKey.Length + entity.RowKey.Length));
        foreach (var (name, value) in entity)
        {
            bytes += 8 + (2L * name.Length) + value switch
            {
                string s => 4 + (2L * s.Length),
                byte[] b => 4 + b.Length,
                int or bool => 4,
                _ => 8,
            };
        }

        return bytes;
    }

    private static long JsonText(string text)
    {
        long bytes = text.Length + 2;
        var rest = text.AsSpan();
        for (var i = rest.IndexOfAnyExcept(Plain); i >= 0; i = rest.IndexOfAnyExcept(Plain))
        {
            bytes += 5;
            rest = rest[(i + 1)..];
        }

        return bytes;
    }
}

/// <summary>One transaction's worth: the items, the rows they change, and every write in order (items first).</summary>
public sealed record Plan<TItem>(IReadOnlyList<TItem> Items, BucketChanges Changes, IReadOnlyList<TableTransactionAction> Actions, long PayloadBytes);
