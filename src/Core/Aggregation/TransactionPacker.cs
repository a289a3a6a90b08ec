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
    /// transaction together with the rows it changes. Starts from <paramref name="guess"/> and scales the count by how
    /// far the operations and bytes are from the limits, never past a count that did not fit, so it converges in a few
    /// steps whether an item takes a row of its own or shares a page with hundreds of others.
    /// </summary>
    /// <param name="itemActions">The writes of the items themselves, which come first in the transaction.</param>
    /// <returns>null when not even the first item fits (its changes alone exceed a limit).</returns>
    public static Plan<TItem>? Next<TItem>(
        IReadOnlyList<TItem> pending, int limit, int guess,
        Func<IReadOnlyList<TItem>, BucketChanges> apply, Func<IReadOnlyList<TItem>, IReadOnlyList<TableTransactionAction>> itemActions, string partitionKey)
    {
        limit = Math.Min(limit, pending.Count);
        var count = Math.Clamp(guess, 1, limit);
        var tooMany = limit + 1;
        Plan<TItem>? best = null;
        for (var step = 0; step < 16; step++)
        {
            var items = new ArraySegment<TItem>([.. pending.Take(count)]);
            var changes = apply(items);
            var own = itemActions(items);
            var actions = new List<TableTransactionAction>(own.Count + changes.Count);
            actions.AddRange(own);
            actions.AddRange(changes.Actions(partitionKey));
            var bytes = actions.Sum(a => PayloadBytes(a.Entity));
            var operations = actions.Count;
            var room = Math.Min(MaxOperations / (double)operations, MaxPayloadBytes / (double)Math.Max(1, bytes));
            if (operations <= MaxOperations && bytes <= MaxPayloadBytes)
            {
                best = new Plan<TItem>(items, changes, actions, bytes, own.Count);
                if (operations == MaxOperations || count == limit || count + 1 >= tooMany)
                {
                    return best;
                }

                // Some of what a transaction carries does not grow with its items (row 0, a slice row): aim a little short.
                count = (int)Math.Min(tooMany - 1, Math.Max(count + 1, Math.Min(limit, count * room * 0.95)));
                continue;
            }

            tooMany = count;
            var shrunk = Math.Max(1, Math.Min(count - 1, (int)(count * room * 0.95)));
            if (count == 1 || (best is not null && shrunk <= best.Items.Count))
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

/// <summary>One transaction's worth: the items, the rows they change, and every write in order: the items' own <paramref name="ItemActions"/> first.</summary>
public sealed record Plan<TItem>(IReadOnlyList<TItem> Items, BucketChanges Changes, IReadOnlyList<TableTransactionAction> Actions, long PayloadBytes, int ItemActions);
