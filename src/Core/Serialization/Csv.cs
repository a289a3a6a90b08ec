using System.Text;

namespace AgentSpend.Core.Serialization;

/// <summary>RFC 4180 lines, safe to open in a spreadsheet.</summary>
public static class Csv
{
    public static StringBuilder AppendLine(StringBuilder csv, IEnumerable<string> fields) =>
        csv.AppendJoin(',', fields.Select(Quote)).Append("\r\n");

    public static string Quote(string field)
    {
        // A leading = + - @, tab or carriage return can make a spreadsheet run the cell as a formula (OWASP's CSV injection list).
        var safe = field.Length > 0 && field[0] is '=' or '+' or '-' or '@' or '\t' or '\r' ? "'" + field : field;
        return safe.AsSpan().IndexOfAny(",\"\r\n") >= 0 || safe != field ? "\"" + safe.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : safe;
    }
}
