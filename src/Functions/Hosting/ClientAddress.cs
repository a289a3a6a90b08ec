using System.Net;

namespace AgentSpend.Functions.Hosting;

/// <summary>The address a request came from, as the audit log records it.</summary>
public static class ClientAddress
{
    /// <summary>
    /// Under the Functions host every request comes from the platform's front end, which appends the address it
    /// was connected from to X-Forwarded-For: the last entry is the one no client can forge (anything before it
    /// the client may have sent itself). Standalone, the connection's address is the client's and the header
    /// is not trusted at all.
    /// </summary>
    public static string? Of(HttpContext context, bool underHost)
    {
        if (underHost && context.Request.Headers["X-Forwarded-For"] is { Count: > 0 } headers)
        {
            var last = headers.SelectMany(h => (h ?? "").Split(',')).Select(e => e.Trim()).LastOrDefault(e => e.Length > 0);
            if (last is not null)
            {
                return WithoutPort(last);
            }
        }

        return context.Connection.RemoteIpAddress?.ToString();
    }

    /// <summary>The address of an entry such as <c>203.0.113.9:51234</c> or <c>[2001:db8::1]:443</c>; an entry that is no address is kept, cut to 64 characters.</summary>
    private static string WithoutPort(string entry)
    {
        if (IPAddress.TryParse(entry, out var plain))
        {
            return plain.ToString();
        }

        if (IPEndPoint.TryParse(entry, out var endPoint))
        {
            return endPoint.Address.ToString();
        }

        return entry.Length <= 64 ? entry : entry[..64];
    }
}
