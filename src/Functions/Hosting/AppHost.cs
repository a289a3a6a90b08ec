namespace AgentSpend.Functions.Hosting;

/// <summary>Which host runs the functions, decided once in Program.cs from how the process was started.</summary>
public enum AppHostKind
{
    /// <summary>This process serves the HTTP functions and runs the queue and timer triggers itself (scripts/run.sh, the tests).</summary>
    Local,

    /// <summary>The Azure Functions host (Azure, <c>func start</c>) started this process as its isolated worker.</summary>
    FunctionsHost,
}

/// <summary>The host the app runs under, for what differs between them: whose address a request carries, whether a key may be printed.</summary>
public sealed record AppHost(AppHostKind Kind)
{
    public bool IsFunctionsHost => Kind == AppHostKind.FunctionsHost;
}
