using System.Net;
using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Http;

namespace AgentSpend.Integration.Tests.Auth;

public sealed class ClientAddressTests
{
    [Theory]
    [InlineData("203.0.113.9", "203.0.113.9")]
    [InlineData("6.6.6.6, 203.0.113.9", "203.0.113.9")] // a client's own header comes first; the front end's entry last
    [InlineData("6.6.6.6,203.0.113.9:51234", "203.0.113.9")]
    [InlineData("[2001:db8::1]:443", "2001:db8::1")]
    [InlineData("2001:db8::7", "2001:db8::7")]
    [InlineData("1.1.1.1, ", "1.1.1.1")]
    public void Under_the_host_the_last_forwarded_entry_is_the_client(string forwarded, string expected)
    {
        var context = Request(forwarded);

        Assert.Equal(expected, ClientAddress.Of(context, underHost: true));
    }

    [Fact]
    public void Several_forwarded_headers_count_as_one_list()
    {
        var context = new DefaultHttpContext();
        context.Request.Headers.Append("X-Forwarded-For", "6.6.6.6");
        context.Request.Headers.Append("X-Forwarded-For", "203.0.113.9");

        Assert.Equal("203.0.113.9", ClientAddress.Of(context, underHost: true));
    }

    [Fact]
    public void Standalone_the_header_is_not_trusted()
    {
        var context = Request("6.6.6.6");

        Assert.Equal("192.0.2.1", ClientAddress.Of(context, underHost: false));
    }

    private static DefaultHttpContext Request(string forwarded)
    {
        var context = new DefaultHttpContext();
        context.Request.Headers["X-Forwarded-For"] = forwarded;
        context.Connection.RemoteIpAddress = IPAddress.Parse("192.0.2.1");
        return context;
    }
}
