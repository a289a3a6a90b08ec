using System.Text.RegularExpressions;

namespace AgentSpend.Integration.Tests.Deploy;

/// <summary>
/// A Bicep file read as text. The Bicep compiler is not available on the development machines (nor in CI,
/// a clone of the same image), so the deploy tests check the templates through this reader: declarations
/// with their decorators, literal variables, module calls and resource types. It understands the subset of
/// Bicep that infra/bicep uses, one declaration per line, and fails loudly on anything it cannot place.
/// </summary>
internal sealed partial class BicepFile
{
    private BicepFile(string path, string text)
    {
        Path = path;
        Text = text;
        Lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        Declarations = ReadDeclarations(Lines);
    }

    public string Path { get; }

    public string Text { get; }

    public IReadOnlyList<string> Lines { get; }

    /// <summary>Every param and output, in order, with the decorators written above it.</summary>
    public IReadOnlyList<Declaration> Declarations { get; }

    public IEnumerable<Declaration> Params => Declarations.Where(d => d.Kind == "param");

    public IEnumerable<Declaration> Outputs => Declarations.Where(d => d.Kind == "output");

    public static BicepFile Load(params string[] relative) => new(string.Join('/', relative), Repository.Read(relative));

    /// <summary>The files under infra/bicep: main.bicep first, then the modules by name.</summary>
    public static IReadOnlyList<BicepFile> All() =>
        [Load("infra", "bicep", "main.bicep"),
         .. Directory.GetFiles(Repository.PathOf("infra", "bicep", "modules"), "*.bicep")
             .Order(StringComparer.Ordinal)
             .Select(f => Load("infra", "bicep", "modules", System.IO.Path.GetFileName(f)))];

    /// <summary>The lines of the literal block that starts on the line matching <paramref name="opening"/> (which ends in { or [), up to its closing bracket.</summary>
    public IReadOnlyList<string> Block(string opening)
    {
        var start = Lines.ToList().FindIndex(l => l.Trim() == opening);
        if (start < 0)
        {
            throw new InvalidOperationException($"{Path}: no line '{opening}'.");
        }

        var depth = 0;
        var body = new List<string>();
        for (var i = start; i < Lines.Count; i++)
        {
            var line = StripComment(Lines[i]);
            depth += Depth(line, "{[", "}]");
            if (i > start && depth == 0)
            {
                return body;
            }

            if (i > start)
            {
                body.Add(Lines[i]);
            }
        }

        throw new InvalidOperationException($"{Path}: the block '{opening}' is not closed.");
    }

    /// <summary>A var holding an array of string literals, one a line.</summary>
    public IReadOnlyList<string> StringArray(string variable) =>
        [.. Block($"var {variable} = [").Select(l => StripComment(l).Trim()).Where(l => l.Length > 0).Select(Unquote)];

    /// <summary>A var holding an object, one property a line: name to the expression written for it.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ObjectVariable(string variable) =>
        [.. Block($"var {variable} = {{").Select(l => StripComment(l).Trim()).Where(l => l.Length > 0).Select(l =>
        {
            var match = PropertyLine().Match(l);
            return match.Success
                ? new KeyValuePair<string, string>(match.Groups["key"].Value, match.Groups["value"].Value.Trim())
                : throw new InvalidOperationException($"{Path}: '{l}' is not a one-line property.");
        })];

    /// <summary>The modules called: symbolic name, relative path, and the names of the params passed.</summary>
    public IReadOnlyList<ModuleCall> Modules()
    {
        var calls = new List<ModuleCall>();
        foreach (Match match in ModuleLine().Matches(Text))
        {
            var opening = match.Value.Trim();
            var body = Block(opening);
            var paramsAt = body.ToList().FindIndex(l => l.Trim() == "params: {");
            var passed = new List<string>();
            var depth = 0;
            for (var i = paramsAt + 1; paramsAt >= 0 && i < body.Count; i++)
            {
                var line = StripComment(body[i]);
                if (depth == 0 && line.Trim() == "}")
                {
                    break;
                }

                if (depth == 0 && PropertyLine().Match(line.Trim()) is { Success: true } property)
                {
                    passed.Add(property.Groups["key"].Value);
                }

                depth += Depth(line, "{[", "}]");
            }

            calls.Add(new ModuleCall(match.Groups["name"].Value, match.Groups["path"].Value, passed));
        }

        return calls;
    }

    /// <summary>Every resource declared (new or existing): symbolic name, type@apiVersion, and its body.</summary>
    public IReadOnlyList<ResourceDeclaration> Resources() =>
        [.. ResourceLine().Matches(Text).Select(m => new ResourceDeclaration(m.Groups["name"].Value, m.Groups["type"].Value, m.Groups["version"].Value,
            Block(m.Value.Trim())))];

    public static string Unquote(string literal) =>
        literal.Length >= 2 && literal[0] == '\'' && literal[^1] == '\''
            ? literal[1..^1]
            : throw new InvalidOperationException($"'{literal}' is not a string literal.");

    public static string StripComment(string line)
    {
        var inString = false;
        for (var i = 0; i < line.Length - 1; i++)
        {
            if (inString && line[i] == '\\')
            {
                i++; // an escaped character, \' included
            }
            else if (line[i] == '\'')
            {
                inString = !inString;
            }
            else if (!inString && line[i] == '/' && line[i + 1] == '/')
            {
                return line[..i];
            }
        }

        return line;
    }

    /// <summary>Opening minus closing brackets of a line, outside string literals and comments.</summary>
    private static int Depth(string line, string opens, string closes)
    {
        var code = StripComment(line);
        var (depth, inString) = (0, false);
        for (var i = 0; i < code.Length; i++)
        {
            if (inString && code[i] == '\\')
            {
                i++;
            }
            else if (code[i] == '\'')
            {
                inString = !inString;
            }
            else if (!inString)
            {
                depth += opens.Contains(code[i], StringComparison.Ordinal) ? 1 : closes.Contains(code[i], StringComparison.Ordinal) ? -1 : 0;
            }
        }

        return depth;
    }

    private static List<Declaration> ReadDeclarations(IReadOnlyList<string> lines)
    {
        var declarations = new List<Declaration>();
        var decorators = new List<string>();
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i].Trim();
            if (line.StartsWith('@'))
            {
                // A decorator may span lines (@allowed([ ... ])): read until its brackets close.
                var decorator = line;
                var depth = Depth(line, "([", ")]");
                while (depth > 0 && ++i < lines.Count)
                {
                    decorator += " " + lines[i].Trim();
                    depth += Depth(lines[i], "([", ")]");
                }

                decorators.Add(decorator);
                continue;
            }

            var match = DeclarationLine().Match(line);
            if (match.Success)
            {
                declarations.Add(new Declaration(match.Groups["kind"].Value, match.Groups["name"].Value, match.Groups["type"].Value,
                    match.Groups["default"].Success ? match.Groups["default"].Value.Trim() : null, [.. decorators]));
            }
            else if (decorators.Count > 0)
            {
                throw new InvalidOperationException($"Decorators {string.Join(", ", decorators)} are followed by '{line}', not by a param or an output.");
            }

            decorators.Clear();
        }

        return declarations;
    }

    [GeneratedRegex(@"^(?<kind>param|output)\s+(?<name>\w+)\s+(?<type>\w+)(\s*=\s*(?<default>.+))?$")]
    private static partial Regex DeclarationLine();

    [GeneratedRegex(@"^(?<key>'[^']+'|\w+):\s*(?<value>.*)$")]
    private static partial Regex PropertyLine();

    [GeneratedRegex(@"^module\s+(?<name>\w+)\s+'(?<path>[^']+)'\s*=\s*\{\s*$", RegexOptions.Multiline)]
    private static partial Regex ModuleLine();

    [GeneratedRegex(@"^resource\s+(?<name>\w+)\s+'(?<type>[^'@]+)@(?<version>[^']+)'\s*(existing\s*)?=\s*(\[for .*\{|\{)\s*$", RegexOptions.Multiline)]
    private static partial Regex ResourceLine();
}

/// <summary>A param or an output, and the decorators written right above it.</summary>
internal sealed record Declaration(string Kind, string Name, string Type, string? Default, IReadOnlyList<string> Decorators)
{
    public string? Description =>
        Decorators.FirstOrDefault(d => d.StartsWith("@description(", StringComparison.Ordinal)) is { } d ? d["@description(".Length..^1] : null;

    public bool Has(string decorator) => Decorators.Any(d => d == decorator || d.StartsWith(decorator + "(", StringComparison.Ordinal));
}

internal sealed record ModuleCall(string Name, string Path, IReadOnlyList<string> Params);

internal sealed record ResourceDeclaration(string Name, string Type, string ApiVersion, IReadOnlyList<string> Body)
{
    public string TypeAndVersion => Type + "@" + ApiVersion;

    /// <summary>The value written for a property of the body at any depth, e.g. "name" → "guid(...)"; null when absent.</summary>
    public string? Property(string name) =>
        Body.Select(l => BicepFile.StripComment(l).Trim()).FirstOrDefault(l => l.StartsWith(name + ":", StringComparison.Ordinal)) is { } line
            ? line[(name.Length + 1)..].Trim()
            : null;
}
