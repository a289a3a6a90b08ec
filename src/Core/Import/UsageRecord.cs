using System.Globalization;
using System.Text.Json;

namespace AgentSpend.Core.Import;

/// <summary>
/// One record of a provider usage export, flattened: nested objects become dotted keys
/// (<c>usage.prompt_tokens</c>), names compare case-insensitively. Built from a JSON object or a CSV row.
/// </summary>
public sealed class UsageRecord
{
    private const int MaxDepth = 4;
    private readonly Dictionary<string, string> _values = new(StringComparer.OrdinalIgnoreCase);

    public IEnumerable<string> Keys => _values.Keys;

    public static UsageRecord FromJson(JsonElement element)
    {
        var record = new UsageRecord();
        record.Add("", element, 0);
        return record;
    }

    public static UsageRecord FromColumns(IReadOnlyList<string> headers, IReadOnlyList<string> values)
    {
        var record = new UsageRecord();
        for (var i = 0; i < headers.Count && i < values.Count; i++)
        {
            if (values[i].Length > 0)
            {
                record._values[headers[i].Trim()] = values[i];
            }
        }

        return record;
    }

    /// <summary>The first of <paramref name="names"/> that the record holds, as text.</summary>
    public string? Text(params string[] names)
    {
        foreach (var name in names)
        {
            if (_values.TryGetValue(name, out var value))
            {
                return value;
            }
        }

        return null;
    }

    public bool HasAny(params string[] names) => names.Any(_values.ContainsKey);

    /// <summary>A whole number, or the raw text when it is not one (so validation can name it); null when absent.</summary>
    public (long? Number, string? Raw) Count(params string[] names)
    {
        var text = Text(names);
        if (text is null)
        {
            return (null, null);
        }

        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole))
        {
            return (whole, null);
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d == Math.Floor(d) && Math.Abs(d) < 1e15
            ? ((long)d, null)
            : (null, text);
    }

    private void Add(string prefix, JsonElement element, int depth)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object when depth < MaxDepth:
                foreach (var property in element.EnumerateObject())
                {
                    Add(prefix.Length == 0 ? property.Name : prefix + "." + property.Name, property.Value, depth + 1);
                }

                break;
            case JsonValueKind.String:
                _values.TryAdd(prefix, element.GetString()!);
                break;
            case JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False:
                _values.TryAdd(prefix, element.GetRawText());
                break;
        }
    }
}
