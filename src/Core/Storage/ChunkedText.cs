using System.Text;
using Azure.Data.Tables;

namespace AgentSpend.Core.Storage;

/// <summary>
/// A text longer than one string property holds (Azure allows 32 K characters), stored over properties D0, D1, … of
/// at most <see cref="ChunkChars"/> characters each, with their number in <c>Chunks</c>.
/// </summary>
public static class ChunkedText
{
    public const int ChunkChars = 30_000;

    public static void Write(TableEntity entity, string text)
    {
        var chunk = 0;
        for (var start = 0; start < text.Length; start += ChunkChars, chunk++)
        {
            entity[$"D{chunk}"] = text.Substring(start, Math.Min(ChunkChars, text.Length - start));
        }

        entity["Chunks"] = chunk;
    }

    public static string Read(TableEntity entity)
    {
        var chunks = entity.GetInt32("Chunks") ?? 0;
        var text = new StringBuilder();
        for (var i = 0; i < chunks; i++)
        {
            text.Append(entity.GetString($"D{i}"));
        }

        return text.ToString();
    }
}
