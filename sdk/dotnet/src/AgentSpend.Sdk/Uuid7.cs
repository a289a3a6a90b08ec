using System;
using System.Security.Cryptography;

namespace AgentSpend.Sdk;

/// <summary>
/// UUID version 7 (RFC 9562 §5.7): 48 bits of Unix time in milliseconds, the version, 12 bits that count up within
/// one millisecond (so ids of this process sort in the order they were made, §6.2 method 1), the variant and 62
/// random bits. <c>Guid.CreateVersion7</c> is .NET 9+ only.
/// </summary>
internal static class Uuid7
{
    private static readonly object Gate = new();
    private static long lastMs;
    private static int counter;

    /// <summary>A new id of now; ids made by this process sort in the order they were made.</summary>
    public static string NewString()
    {
        var bytes = RandomBytes();
        long ms;
        int count;
        lock (Gate)
        {
            ms = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            if (ms <= lastMs)
            {
                // The same (or an earlier: the clock stepped back) millisecond: count up from the last id.
                ms = lastMs;
                counter++;
                if (counter > 0xFFF)
                {
                    ms++;
                    counter = bytes[6] & 0x03;
                }
            }
            else
            {
                // A new millisecond starts the counter at a random point in its lower half.
                counter = ((bytes[6] & 0x07) << 8) | bytes[7];
            }

            lastMs = ms;
            count = counter;
        }

        return Build(bytes, ms, count);
    }

    /// <summary>An id with this timestamp (the counter is random: no ordering within the millisecond).</summary>
    public static string NewString(long unixMs)
    {
        var bytes = RandomBytes();
        return Build(bytes, unixMs, ((bytes[6] & 0x0F) << 8) | bytes[7]);
    }

    private static byte[] RandomBytes()
    {
        var bytes = new byte[16];
        using (var rng = RandomNumberGenerator.Create())
        {
            rng.GetBytes(bytes);
        }

        return bytes;
    }

    private static string Build(byte[] bytes, long ms, int count)
    {
        for (var i = 5; i >= 0; i--)
        {
            bytes[i] = (byte)(ms & 0xFF);
            ms >>= 8;
        }

        bytes[6] = (byte)(0x70 | ((count >> 8) & 0x0F));
        bytes[7] = (byte)(count & 0xFF);
        bytes[8] = (byte)(0x80 | (bytes[8] & 0x3F));
        return Format(bytes);
    }

    private static string Format(byte[] b)
    {
        const string hex = "0123456789abcdef";
        var chars = new char[36];
        var j = 0;
        for (var i = 0; i < 16; i++)
        {
            if (i is 4 or 6 or 8 or 10)
            {
                chars[j++] = '-';
            }

            chars[j++] = hex[b[i] >> 4];
            chars[j++] = hex[b[i] & 0xF];
        }

        return new string(chars);
    }
}
