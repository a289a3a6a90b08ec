using System.Net.Sockets;
using AgentSpend.Core.Storage;
using Azure;

namespace AgentSpend.Core.Tests;

public sealed class StorageFaultsTests
{
    public static TheoryData<Exception, bool> Cases => new()
    {
        { new RequestFailedException(0, "Connection refused", new HttpRequestException("refused", new SocketException(111))), true },
        { new RequestFailedException(503, "ServerBusy"), true },
        { new RequestFailedException(500, "InternalError"), true },
        { new RequestFailedException(408, "Timeout"), true },
        { new RequestFailedException(409, "EntityAlreadyExists"), false },
        { new RequestFailedException(412, "UpdateConditionNotSatisfied"), false },
        { new RequestFailedException(400, "PropertyValueTooLarge"), false },
        { new AggregateException(new RequestFailedException(0, "refused"), new HttpRequestException("refused")), true },
        { new AggregateException(new RequestFailedException(0, "refused"), new RequestFailedException(404, "gone")), false },
        { new TaskCanceledException("network timeout", new TimeoutException()), true },
        { new TaskCanceledException("cancelled by the caller"), false },
        { new InvalidDataException("corrupt Brotli", new IOException("bad data")), false },
        { new InvalidOperationException("a bug"), false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Tells_storage_outages_from_failures_of_the_request(Exception exception, bool unavailable) =>
        Assert.Equal(unavailable, StorageFaults.IsUnavailable(exception));
}
