using System.Reflection;
using System.Text.Json.Serialization;

namespace AgentSpend.Core.Serialization;

/// <summary>
/// An enum's wire names, read once from its <see cref="JsonStringEnumMemberNameAttribute"/>s: the names the JSON
/// converter writes are the ones written to tables and query filters too, from one declaration.
/// </summary>
public static class WireNames
{
    public static IReadOnlyList<string> All<TEnum>() where TEnum : struct, Enum => Cache<TEnum>.All;

    public static string Of<TEnum>(TEnum value) where TEnum : struct, Enum => Cache<TEnum>.Names[value];

    public static bool TryParse<TEnum>(string? name, out TEnum value) where TEnum : struct, Enum
    {
        foreach (var (candidate, wire) in Cache<TEnum>.Names)
        {
            if (string.Equals(wire, name, StringComparison.Ordinal))
            {
                value = candidate;
                return true;
            }
        }

        value = default;
        return false;
    }

    private static class Cache<TEnum> where TEnum : struct, Enum
    {
        public static readonly Dictionary<TEnum, string> Names = Enum.GetValues<TEnum>().ToDictionary(
            value => value,
            value => typeof(TEnum).GetField(value.ToString())!.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? value.ToString());

        public static readonly IReadOnlyList<string> All = [.. Names.Values];
    }
}
