using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace AgentSpend.Integration.Tests.Infrastructure;

/// <summary>
/// The network between the app and Azurite, as a TCP relay a test can cut. Stopping Azurite is no sure outage:
/// it finishes the requests of open connections while it shuts down, so work in flight may well complete.
/// A cut resets every open connection and refuses new ones at once, until <see cref="Restore"/>.
/// </summary>
public sealed class StorageLink : IAsyncDisposable
{
    private readonly (int Port, int Target)[] _routes;
    private readonly ConcurrentDictionary<Socket, byte> _open = new();
    private readonly CancellationTokenSource _disposed = new();
    private TcpListener[] _listeners = [];
    private Task[] _accepting = [];

    private StorageLink(AzuriteFixture azurite)
    {
        _routes = [(AzuriteFixture.FreePort(), azurite.BlobPort), (AzuriteFixture.FreePort(), azurite.QueuePort), (AzuriteFixture.FreePort(), azurite.TablePort)];
        ConnectionString = AzuriteFixture.ConnectionStringFor(_routes[0].Port, _routes[1].Port, _routes[2].Port);
    }

    /// <summary>Azurite's account, reached through this link.</summary>
    public string ConnectionString { get; }

    public static StorageLink Open(AzuriteFixture azurite)
    {
        var link = new StorageLink(azurite);
        link.Restore();
        return link;
    }

    /// <summary>Resets every open connection and refuses new ones.</summary>
    public void Cut()
    {
        foreach (var listener in _listeners)
        {
            listener.Stop();
        }

        foreach (var socket in _open.Keys)
        {
            if (_open.TryRemove(socket, out _))
            {
                Reset(socket);
            }
        }
    }

    /// <summary>Accepts connections again, on the same ports.</summary>
    public void Restore()
    {
        _listeners = _routes.Select(r =>
        {
            var listener = new TcpListener(IPAddress.Loopback, r.Port);
            listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Start();
            return listener;
        }).ToArray();
        _accepting = _listeners.Select((l, i) => AcceptAsync(l, _routes[i].Target)).ToArray();
    }

    private async Task AcceptAsync(TcpListener listener, int target)
    {
        while (!_disposed.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptSocketAsync(_disposed.Token);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return; // cut or disposed
            }

            _ = RelayAsync(client, target);
        }
    }

    private async Task RelayAsync(Socket client, int target)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _open[client] = 0;
        _open[server] = 0;
        try
        {
            await server.ConnectAsync(IPAddress.Loopback, target, _disposed.Token);
            await using var fromClient = new NetworkStream(client, ownsSocket: false);
            await using var fromServer = new NetworkStream(server, ownsSocket: false);
            await Task.WhenAny(fromClient.CopyToAsync(fromServer, _disposed.Token), fromServer.CopyToAsync(fromClient, _disposed.Token));
        }
        catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // the link was cut, or one side went away: the other side sees a reset
        }
        finally
        {
            // Unless cut, one side ended the connection: end the other side's too, after what it was sent.
            if (_open.TryRemove(client, out _))
            {
                client.Close();
            }

            if (_open.TryRemove(server, out _))
            {
                server.Close();
            }
        }
    }

    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0); // close with RST, as a broken network does
            socket.Close();
        }
        catch (ObjectDisposedException)
        {
            // already closed
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _disposed.CancelAsync();
        Cut();
        await Task.WhenAll(_accepting);
        _disposed.Dispose();
    }
}
