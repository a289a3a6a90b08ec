using System.Text;

namespace AgentSpend.Core.Storage;

/// <summary>
/// Makes user-supplied text safe to use inside a PartitionKey or RowKey. Azure forbids <c>/ \ # ?</c>
/// and control characters in keys, and AgentSpend uses <c>|</c> as its own separator; each of those,
/// and <c>%</c> itself, becomes <c>%XX</c> (UTF-8 bytes). Everything else passes through, so keys stay
/// readable and sort like the text they came from. The encoding is reversible.
/// </summary>
public static class TableKey
{
    public static string Encode(string value)
    {
        var clean = true;
        foreach (var c in value)
        {
            if (NeedsEscape(c))
            {
                clean = false;
                break;
            }
        }

        if (clean)
        {
            return value;
        }

        var builder = new StringBuilder(value.Length + 8);
        Span<byte> utf8 = stackalloc byte[4];
        foreach (ref readonly var c in value.AsSpan())
        {
            if (!NeedsEscape(c))
            {
                builder.Append(c);
                continue;
            }

            var length = Encoding.UTF8.GetBytes(new ReadOnlySpan<char>(in c), utf8);
            foreach (var b in utf8[..length])
            {
                builder.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }

    public static string Decode(string key) => Uri.UnescapeDataString(key);

    private static bool NeedsEscape(char c) =>
        c is '/' or '\\' or '#' or '?' or '|' or '%' || char.IsControl(c);
}
