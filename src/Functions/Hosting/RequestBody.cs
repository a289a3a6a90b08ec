using System.Buffers;
using AgentSpend.Core.Ingest;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentSpend.Functions.Hosting;

internal static class RequestBody
{
    /// <summary>True for application/json and application/*+json (any charset parameter).</summary>
    public static bool IsJson(HttpRequest request) =>
        Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(request.ContentType, out var type)
        && type.MediaType.Value is { } media
        && (media.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || media.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && media.EndsWith("+json", StringComparison.OrdinalIgnoreCase))
        && (type.Charset.Value is null || type.Charset.Value.Equals("utf-8", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Reads the body and undoes its <c>Content-Encoding</c> (gzip, or none): the bytes as sent before compression, or
    /// the problem to answer (413 past <paramref name="maxBytes"/> on the wire or <paramref name="maxDecodedBytes"/>
    /// inflated, 415 for another encoding, 400 for a body that is not the gzip it claims to be).
    /// </summary>
    public static async Task<(ReadOnlyMemory<byte> Body, ProblemHttpResult? Problem)> ReadDecodedAsync(
        HttpRequest request, int maxBytes, int maxDecodedBytes, CancellationToken cancellationToken)
    {
        if (await ReadAsync(request, maxBytes, cancellationToken).ConfigureAwait(false) is not { } body)
        {
            return (default, Problems.TooLarge("body", $"The body must be at most {maxBytes} bytes."));
        }

        switch (request.Headers.ContentEncoding.ToString().ToLowerInvariant())
        {
            case "" or "identity":
                return (body, null);
            case "gzip":
                try
                {
                    return Gzip.Inflate(body, maxDecodedBytes) is { } inflated
                        ? (inflated, null)
                        : (default, Problems.TooLarge("body", $"The body must inflate to at most {maxDecodedBytes} bytes."));
                }
                catch (InvalidDataException)
                {
                    return (default, Problems.BadRequest("body", "The body is not valid gzip."));
                }

            default:
                return (default, Problems.Create(StatusCodes.Status415UnsupportedMediaType, "The body's encoding is not supported.", "Content-Encoding", "must be gzip or absent."));
        }
    }

    /// <summary>Reads the whole body, or returns null as soon as it exceeds <paramref name="maxBytes"/> (chunked bodies included).</summary>
    public static async Task<ReadOnlyMemory<byte>?> ReadAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes)
        {
            return null;
        }

        var length = request.ContentLength;
        var buffer = new ArrayBufferWriter<byte>((int)(length ?? 16 * 1024) + 1);
        while (true)
        {
            // A body of known length needs room for what is left of it, plus one byte to see that it ended: asking
            // for more would grow the buffer past the body on every request (16 KB for a 100-byte check).
            var memory = buffer.GetMemory(length is { } declared ? Math.Max(1, (int)declared + 1 - buffer.WrittenCount) : 16 * 1024);
            var read = await request.Body.ReadAsync(memory, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return buffer.WrittenMemory;
            }

            buffer.Advance(read);
            if (buffer.WrittenCount > maxBytes)
            {
                return null;
            }
        }
    }
}
