using AgentSpend.Sdk;
using Xunit;

namespace AgentSpend.Sdk.Tests;

public class Uuid7Tests
{
    [Fact]
    public void LayoutIsVersion7WithTheTimestamp()
    {
        var id = Uuid7.NewString(0x0193_A1B2_C3D4);
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", id);
        var guid = Guid.Parse(id);
        Assert.Equal(id, guid.ToString());
        Assert.StartsWith("0193a1b2-c3d4-7", id, StringComparison.Ordinal);
    }

    [Fact]
    public void IdsSortInTheOrderTheyWereMade()
    {
        var ids = Enumerable.Range(0, 20_000).Select(_ => Uuid7.NewString()).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(ids, ids.OrderBy(s => s, StringComparer.Ordinal).ToList());
    }
}
