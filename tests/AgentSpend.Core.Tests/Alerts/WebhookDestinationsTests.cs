using System.Net;
using System.Net.Sockets;
using AgentSpend.Core.Alerts;

namespace AgentSpend.Core.Tests;

public sealed class WebhookDestinationsTests
{
    [Theory]
    [InlineData("169.254.169.254", DestinationKind.Metadata)]
    [InlineData("168.63.129.16", DestinationKind.Metadata)]
    [InlineData("::ffff:169.254.169.254", DestinationKind.Metadata)]
    [InlineData("64:ff9b::a9fe:a9fe", DestinationKind.Metadata)] // 169.254.169.254 through NAT64
    [InlineData("fd00:ec2::254", DestinationKind.Metadata)]
    [InlineData("127.0.0.1", DestinationKind.Private)]
    [InlineData("127.255.0.9", DestinationKind.Private)]
    [InlineData("0.0.0.0", DestinationKind.Private)]
    [InlineData("10.1.2.3", DestinationKind.Private)]
    [InlineData("172.16.0.1", DestinationKind.Private)]
    [InlineData("172.31.255.254", DestinationKind.Private)]
    [InlineData("192.168.1.1", DestinationKind.Private)]
    [InlineData("100.64.0.1", DestinationKind.Private)]
    [InlineData("169.254.10.10", DestinationKind.Private)]
    [InlineData("224.0.0.1", DestinationKind.Private)]
    [InlineData("255.255.255.255", DestinationKind.Private)]
    [InlineData("::1", DestinationKind.Private)]
    [InlineData("::", DestinationKind.Private)]
    [InlineData("::ffff:10.0.0.1", DestinationKind.Private)]
    [InlineData("fd12:3456::1", DestinationKind.Private)]
    [InlineData("fe80::1", DestinationKind.Private)]
    [InlineData("ff02::1", DestinationKind.Private)]
    [InlineData("8.8.8.8", DestinationKind.Public)]
    [InlineData("172.32.0.1", DestinationKind.Public)]
    [InlineData("100.128.0.1", DestinationKind.Public)]
    [InlineData("2606:4700::1111", DestinationKind.Public)]
    [InlineData("::ffff:8.8.8.8", DestinationKind.Public)]
    public void Each_address_is_classified_by_where_it_leads(string address, DestinationKind expected) =>
        Assert.Equal(expected, WebhookDestinations.Classify(IPAddress.Parse(address)));

    [Theory]
    [InlineData("http://hooks.example.com/x", false, "must be an https URL.")]
    [InlineData("https://169.254.169.254/latest/meta-data", false, "must not point at a cloud metadata address.")]
    [InlineData("https://169.254.169.254/latest/meta-data", true, "must not point at a cloud metadata address.")]
    [InlineData("http://[::ffff:a9fe:a9fe]/", true, "must not point at a cloud metadata address.")]
    [InlineData("https://127.0.0.1:8080/hook", false, "must not point at a loopback, private, link-local or otherwise internal address.")]
    [InlineData("https://[::1]/hook", false, "must not point at a loopback, private, link-local or otherwise internal address.")]
    [InlineData("https://10.0.0.5/hook", false, "must not point at a loopback, private, link-local or otherwise internal address.")]
    [InlineData("https://[fd00::5]/hook", false, "must not point at a loopback, private, link-local or otherwise internal address.")]
    [InlineData("https://0.0.0.0/hook", false, "must not point at a loopback, private, link-local or otherwise internal address.")]
    [InlineData("https://2130706433/hook", false, "must not point at a loopback, private, link-local or otherwise internal address.")] // 127.0.0.1 as one number
    [InlineData("https://localhost/hook", false, "must not point at this host (localhost).")]
    [InlineData("https://api.localhost./hook", false, "must not point at this host (localhost).")]
    [InlineData("https://hooks.example.com/x", false, null)]
    [InlineData("https://8.8.8.8/x", false, null)]
    [InlineData("http://127.0.0.1:8080/hook", true, null)]
    [InlineData("http://localhost/hook", true, null)]
    public void Registration_refuses_urls_that_point_inside(string url, bool allowPrivate, string? reason) =>
        Assert.Equal(reason, WebhookDestinations.Refuse(new Uri(url), allowPrivate));

    [Fact]
    public async Task A_post_never_connects_to_an_internal_address_a_name_resolves_to_unless_private_networks_are_allowed()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;

        using var guarded = new HttpClient(new SocketsHttpHandler { UseProxy = false, ConnectCallback = WebhookDestinations.ConnectCallback(allowPrivateNetworks: false) });
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => guarded.GetAsync($"http://localhost:{port}/"));
        Assert.IsType<WebhookDestinationRefusedException>(refused.InnerException);
        Assert.False(listener.Pending());

        // Allowed, the same post connects (it gets no answer: only the connection matters here).
        using var open = new HttpClient(new SocketsHttpHandler { UseProxy = false, ConnectCallback = WebhookDestinations.ConnectCallback(allowPrivateNetworks: true) });
        using var stop = new CancellationTokenSource();
        var request = open.GetAsync($"http://localhost:{port}/", stop.Token);
        using var accepted = await listener.AcceptSocketAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(accepted.Connected);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
    }
}
