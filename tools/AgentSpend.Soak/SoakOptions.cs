using System.Globalization;

namespace AgentSpend.Soak;

/// <summary>The soak's options, as <c>--name value</c> pairs (and the flag <c>--no-faults</c>).</summary>
internal sealed record SoakOptions
{
    public required double Minutes { get; init; }

    public required bool Faults { get; init; }

    public required int Seed { get; init; }

    /// <summary>The Functions build output both instances run from.</summary>
    public required string AppDirectory { get; init; }

    public required string ConnectionString { get; init; }

    /// <summary>The script that starts and stops Azurite (<c>scripts/soak.sh</c>: <c>--azurite-start</c>, <c>--azurite-stop</c>).</summary>
    public required string AzuriteHook { get; init; }

    public required string AzuriteData { get; init; }

    public required int[] AzuritePorts { get; init; }

    /// <summary>The file holding Azurite's PID, kept current by the hook, which soak.sh reads to stop it at the end.</summary>
    public required string AzuritePidFile { get; init; }

    /// <summary>Where the app instances' logs go.</summary>
    public required string LogDirectory { get; init; }

    /// <summary>The share of each native batch made of events resent from earlier batches, and of OTLP sends that resend an earlier payload.</summary>
    public int ResendPct { get; init; } = 20;

    public int NativeBatch { get; init; } = 200;

    public double NativeIntervalSeconds { get; init; } = 5;

    /// <summary>How long the queue may take to drain after the load stops before the soak gives up waiting.</summary>
    public int DrainSeconds { get; init; } = 300;

    /// <summary>Azurite's data folder may grow to this size; the load stops early beyond it (Azurite crashed near 505 MiB).</summary>
    public int MaxDataMib { get; init; } = 250;

    public static SoakOptions Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var faults = true;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--no-faults")
            {
                faults = false;
                continue;
            }

            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"Expected '--name value' pairs or --no-faults, got '{args[i]}'.");
            }

            values[args[i][2..]] = args[++i];
        }

        string Required(string name) => values.Remove(name, out var v) ? v : throw new ArgumentException($"--{name} is required.");
        int Int(string name, int fallback) => values.Remove(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        double Double(string name, double fallback) => values.Remove(name, out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;

        var options = new SoakOptions
        {
            Minutes = Double("minutes", 2),
            Faults = faults,
            Seed = Int("seed", Environment.TickCount & 0x7FFFFFFF),
            AppDirectory = Required("app-dir"),
            ConnectionString = Required("connection-string"),
            AzuriteHook = Required("azurite-hook"),
            AzuriteData = Required("azurite-data"),
            AzuritePorts = [.. Required("azurite-ports").Split(',').Select(p => int.Parse(p, CultureInfo.InvariantCulture))],
            AzuritePidFile = Required("azurite-pid-file"),
            LogDirectory = Required("log-dir"),
            ResendPct = Int("resend-pct", 20),
            NativeBatch = Int("native-batch", 200),
            NativeIntervalSeconds = Double("native-interval", 5),
            DrainSeconds = Int("drain-seconds", 300),
            MaxDataMib = Int("max-data-mib", 250),
        };
        if (values.Count > 0)
        {
            throw new ArgumentException($"Unknown options: {string.Join(", ", values.Keys.Select(k => "--" + k))}.");
        }

        return options switch
        {
            { Minutes: <= 0 or > 240 } => throw new ArgumentException("--minutes must be more than 0 and at most 240."),
            { ResendPct: < 0 or > 90 } => throw new ArgumentException("--resend-pct must be between 0 and 90."),
            { NativeBatch: < 10 or > 1000 } => throw new ArgumentException("--native-batch must be between 10 and 1000."),
            { NativeIntervalSeconds: < 0.2 } => throw new ArgumentException("--native-interval must be at least 0.2 (seconds)."),
            { AzuritePorts.Length: not 3 } => throw new ArgumentException("--azurite-ports takes blob,queue,table."),
            _ => options,
        };
    }
}
