using System.Net;
using System.Net.Sockets;

namespace AgentSpend.Core.Alerts;

/// <summary>What a webhook's address may be: anywhere on the internet, a network of the host's own, or a cloud's metadata service.</summary>
public enum DestinationKind
{
    Public,
    Private,
    Metadata,
}

/// <summary>
/// Keeps webhook posts out of the host's own network. A tenant chooses the URL, and a read key sees each
/// delivery's outcome, so an unchecked URL turns the service into a scanner of whatever it can reach: the
/// metadata service that hands out its identity's tokens, localhost, the virtual network. The URL is checked
/// when a webhook is registered, and every address its host resolves to is checked again when a post connects,
/// so a name that resolves elsewhere later (DNS rebinding) gets no further.
/// </summary>
public static class WebhookDestinations
{
    private static readonly IPAddress[] MetadataAddresses =
    [
        IPAddress.Parse("169.254.169.254"), // Azure IMDS, AWS, GCP, ...
        IPAddress.Parse("168.63.129.16"), // Azure's WireServer
        IPAddress.Parse("100.100.100.200"), // Alibaba Cloud
        IPAddress.Parse("fd00:ec2::254"), // AWS over IPv6
    ];

    private static readonly IPNetwork[] PrivateNetworks =
    [
        IPNetwork.Parse("0.0.0.0/8"), // "this" network, 0.0.0.0 included
        IPNetwork.Parse("10.0.0.0/8"),
        IPNetwork.Parse("100.64.0.0/10"), // carrier-grade NAT
        IPNetwork.Parse("127.0.0.0/8"),
        IPNetwork.Parse("169.254.0.0/16"), // link-local
        IPNetwork.Parse("172.16.0.0/12"),
        IPNetwork.Parse("192.0.0.0/24"),
        IPNetwork.Parse("192.168.0.0/16"),
        IPNetwork.Parse("198.18.0.0/15"), // benchmarking
        IPNetwork.Parse("224.0.0.0/3"), // multicast, reserved, broadcast
        IPNetwork.Parse("::/127"), // unspecified and loopback
        IPNetwork.Parse("fc00::/7"), // unique local
        IPNetwork.Parse("fe80::/10"), // link-local
        IPNetwork.Parse("fec0::/10"), // site-local, deprecated but routable inside some networks
        IPNetwork.Parse("ff00::/8"), // multicast
    ];

    private static readonly IPNetwork Nat64 = IPNetwork.Parse("64:ff9b::/96");

    /// <summary>Where <paramref name="address"/> leads; an IPv4 address inside IPv6 (mapped, or NAT64) is judged as itself.</summary>
    public static DestinationKind Classify(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        else if (address.AddressFamily == AddressFamily.InterNetworkV6 && Nat64.Contains(address))
        {
            address = new IPAddress(address.GetAddressBytes()[12..]);
        }

        if (MetadataAddresses.Any(m => m.Equals(address)))
        {
            return DestinationKind.Metadata;
        }

        return PrivateNetworks.Any(n => n.BaseAddress.AddressFamily == address.AddressFamily && n.Contains(address))
            ? DestinationKind.Private
            : DestinationKind.Public;
    }

    /// <summary>Whether a post may go to <paramref name="address"/>.</summary>
    public static bool Allows(IPAddress address, bool allowPrivateNetworks) => Classify(address) switch
    {
        DestinationKind.Public => true,
        DestinationKind.Private => allowPrivateNetworks,
        _ => false,
    };

    /// <summary>Why a webhook may not be registered at <paramref name="url"/>, or null when it may (its name is resolved when it is used).</summary>
    public static string? Refuse(Uri url, bool allowPrivateNetworks)
    {
        if (url.Scheme != Uri.UriSchemeHttps && !allowPrivateNetworks)
        {
            return "must be an https URL.";
        }

        var host = url.IdnHost.TrimEnd('.');
        if (IPAddress.TryParse(host.Trim('[', ']'), out var literal))
        {
            return Allows(literal, allowPrivateNetworks)
                ? null
                : $"must not point at a {(Classify(literal) == DestinationKind.Metadata ? "cloud metadata" : "loopback, private, link-local or otherwise internal")} address.";
        }

        return !allowPrivateNetworks && (host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))
            ? "must not point at this host (localhost)."
            : null;
    }

    /// <summary>
    /// The connection step of webhook posts: resolves the host, keeps the addresses a post may reach, and connects
    /// to the first that answers. When none may be reached it fails with <see cref="WebhookDestinationRefusedException"/>.
    /// </summary>
    public static Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> ConnectCallback(bool allowPrivateNetworks) =>
        async (context, cancellationToken) =>
        {
            var host = context.DnsEndPoint.Host;
            var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal)
                ? [literal]
                : await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
            var allowed = addresses.Where(a => Allows(a, allowPrivateNetworks)).ToArray();
            if (allowed.Length == 0)
            {
                throw new WebhookDestinationRefusedException();
            }

            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        };
}

/// <summary>A webhook's host resolved only to addresses posts may not reach.</summary>
public sealed class WebhookDestinationRefusedException() : IOException("The webhook's host resolves only to addresses webhooks may not reach.");
