using System.IO.Compression;
using AgentSpend.Core.Otlp.Proto;
using Google.Protobuf;

namespace AgentSpend.Core.Otlp;

/// <summary>A body that is not the OTLP message it claims to be.</summary>
public sealed class OtlpFormatException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Reads OTLP/HTTP bodies: protobuf or JSON (the OTLP JSON mapping), gzip-compressed or not.</summary>
public static class OtlpDecoder
{
    /// <summary>Largest body accepted after decompression. One Codex turn exports about 1 MB of JSON.</summary>
    public const int MaxDecodedBytes = 32 * 1024 * 1024;

    private static readonly JsonParser Json = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true).WithRecursionLimit(32));

    /// <summary>Inflates a gzip body; null when it grows past <see cref="MaxDecodedBytes"/>.</summary>
    public static byte[]? Gunzip(ReadOnlyMemory<byte> body)
    {
        try
        {
            using var input = new GZipStream(new MemoryStream(body.ToArray()), CompressionMode.Decompress);
            using var output = new MemoryStream();
            var chunk = new byte[81920];
            int read;
            while ((read = input.Read(chunk)) > 0)
            {
                output.Write(chunk, 0, read);
                if (output.Length > MaxDecodedBytes)
                {
                    return null;
                }
            }

            return output.ToArray();
        }
        catch (InvalidDataException ex)
        {
            throw new OtlpFormatException("The body is not valid gzip.", ex);
        }
    }

    public static T Parse<T>(ReadOnlySpan<byte> body, bool json, MessageParser<T> parser)
        where T : IMessage<T>, new()
    {
        try
        {
            return json ? Json.Parse<T>(System.Text.Encoding.UTF8.GetString(body)) : parser.ParseFrom(body);
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or InvalidJsonException or FormatException or ArgumentException or InvalidOperationException)
        {
            throw new OtlpFormatException($"The body is not a valid OTLP {(json ? "JSON" : "protobuf")} {typeof(T).Name}: {ex.Message}", ex);
        }
    }
}
