using System.Buffers.Text;
using System.Text;

namespace AgentSpend.Core.Storage;

/// <summary>An opaque paging cursor: a few parts, joined and base64url-encoded; callers parse the parts.</summary>
public static class PageCursor
{
    public static string Encode(params ReadOnlySpan<string> parts) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(string.Join('|', parts)));

    /// <summary>The cursor's parts (the last one may hold '|'); <see cref="BadCursorException"/> when it is not one of ours.</summary>
    public static string[] Decode(string cursor, int parts)
    {
        try
        {
            var decoded = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor)).Split('|', parts);
            return decoded.Length == parts ? decoded : throw Bad();
        }
        catch (FormatException)
        {
            throw Bad();
        }
    }

    public static BadCursorException Bad() => new("is not a cursor this API gave out.");
}

/// <summary>A paging cursor this API did not give out.</summary>
public sealed class BadCursorException(string message) : Exception(message);
