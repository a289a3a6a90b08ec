using AgentSpend.Core.Serialization;

namespace AgentSpend.Core.Tests.Serialization;

public sealed class CsvTests
{
    [Theory]
    [InlineData("=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\"")]
    [InlineData("+1+1", "\"'+1+1\"")]
    [InlineData("-2+3", "\"'-2+3\"")]
    [InlineData("@SUM(A1)", "\"'@SUM(A1)\"")]
    [InlineData("\t=1+1", "\"'\t=1+1\"")]
    [InlineData("\r=1+1", "\"'\r=1+1\"")]
    public void A_cell_a_spreadsheet_would_run_as_a_formula_is_quoted_and_prefixed(string field, string expected) =>
        Assert.Equal(expected, Csv.Quote(field));

    [Theory]
    [InlineData("claude-sonnet-4", "claude-sonnet-4")]
    [InlineData("a,b", "\"a,b\"")]
    [InlineData("say \"hi\"", "\"say \"\"hi\"\"\"")]
    [InlineData("two\nlines", "\"two\nlines\"")]
    [InlineData("", "")]
    public void Other_cells_are_quoted_only_when_RFC_4180_needs_it(string field, string expected) =>
        Assert.Equal(expected, Csv.Quote(field));
}
