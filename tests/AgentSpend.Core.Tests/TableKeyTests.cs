using AgentSpend.Core.Storage;

namespace AgentSpend.Core.Tests;

public sealed class TableKeyTests
{
    [Theory]
    [InlineData("pr-reviewer", "pr-reviewer")]
    [InlineData("a/b", "a%2Fb")]
    [InlineData("a\\b#c?d", "a%5Cb%23c%3Fd")]
    [InlineData("x|y", "x%7Cy")]
    [InlineData("100%", "100%25")]
    [InlineData("tab\there\u0000", "tab%09here%00")]
    [InlineData("ünï ✓", "ünï ✓")]
    [InlineData("\u0085", "%C2%85")]
    public void Encodes_exactly_the_characters_keys_forbid_and_decodes_back(string value, string key)
    {
        Assert.Equal(key, TableKey.Encode(value));
        Assert.Equal(value, TableKey.Decode(key));
    }

    [Fact]
    public void No_encoded_key_holds_a_forbidden_character()
    {
        var everything = new string(Enumerable.Range(0, 0x250).Select(i => (char)i).ToArray());

        var key = TableKey.Encode(everything);

        Assert.DoesNotContain(key, c => c is '/' or '\\' or '#' or '?' or '|' || char.IsControl(c));
        Assert.Equal(everything, TableKey.Decode(key));
    }
}
