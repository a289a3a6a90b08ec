using System.Text.RegularExpressions;

namespace AgentSpend.Core.Pricing;

/// <summary>
/// Reduces the many spellings of one model to the catalog's name: lower case; no provider prefix
/// (<c>anthropic/</c>, <c>openai/</c>, <c>models/</c>…); no Bedrock region and vendor prefix
/// (<c>us.anthropic.</c>) or version suffix (<c>-v1:0</c>); no Vertex <c>@date</c>; no <c>[1m]</c>;
/// no date suffix (<c>-20250929</c>, <c>-2025-08-07</c>); dots between Claude version digits become dashes.
/// </summary>
public static partial class ModelNames
{
    public static string Normalize(string model)
    {
        var name = model.Trim().ToLowerInvariant();
        name = ProviderPrefix().Replace(name, "");
        name = BedrockPrefix().Replace(name, "");
        name = BedrockSuffix().Replace(name, "");
        var at = name.IndexOf('@', StringComparison.Ordinal);
        if (at > 0)
        {
            name = name[..at];
        }

        name = ContextSuffix().Replace(name, "");
        name = DateSuffix().Replace(name, "");
        name = ClaudeDottedVersion().Replace(name, m => m.Value.Replace('.', '-'));
        return name;
    }

    [GeneratedRegex(@"^(?:anthropic|openai|google|gemini|models|mistral|mistralai|deepseek|deepseek-ai|vertex_ai|bedrock|azure)/", RegexOptions.CultureInvariant)]
    private static partial Regex ProviderPrefix();

    [GeneratedRegex(@"^(?:(?:us|eu|apac|au|jp|global|us-gov)\.)?(?:anthropic|openai|mistral|deepseek|meta|amazon)\.", RegexOptions.CultureInvariant)]
    private static partial Regex BedrockPrefix();

    [GeneratedRegex(@"-v\d+(?::\d+)?$|:\d+$", RegexOptions.CultureInvariant)]
    private static partial Regex BedrockSuffix();

    [GeneratedRegex(@"\[\d+[km]\]$", RegexOptions.CultureInvariant)]
    private static partial Regex ContextSuffix();

    [GeneratedRegex(@"-(?:\d{8}|\d{4}-\d{2}-\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex DateSuffix();

    [GeneratedRegex(@"^claude-(?:opus|sonnet|haiku)-\d+\.\d+", RegexOptions.CultureInvariant)]
    private static partial Regex ClaudeDottedVersion();
}
