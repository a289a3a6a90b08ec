namespace AgentSpend.Soak;

/// <summary>
/// What the instances' logs say about failed queue messages: how many tries failed, how many messages went to a
/// poison queue, and why (the first line of each exception), so that a loss can be traced to its cause.
/// </summary>
internal static class AppLogs
{
    public static string Summarize(IEnumerable<string> files)
    {
        int failedTries = 0, poisoned = 0, partitionFailures = 0;
        var causes = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var file in files.Where(File.Exists))
        {
            string? previous = null;
            foreach (var line in File.ReadLines(file))
            {
                if (line.Contains(" failed on message ", StringComparison.Ordinal))
                {
                    failedTries++;
                }
                else if (line.Contains(" moved to ", StringComparison.Ordinal) && line.Contains("-poison", StringComparison.Ordinal))
                {
                    poisoned++;
                }
                else if (line.Contains("Aggregation of partition ", StringComparison.Ordinal) && line.Contains(" failed", StringComparison.Ordinal))
                {
                    partitionFailures++;
                }

                // The console logger writes the message, then the exception's first line under it.
                if (previous is not null && (previous.Contains(" failed on message ", StringComparison.Ordinal) || previous.Contains("Aggregation of partition ", StringComparison.Ordinal))
                    && line.TrimStart() is var cause && cause.Contains("Exception", StringComparison.Ordinal))
                {
                    cause = cause.Length > 160 ? cause[..160] : cause;
                    causes[cause] = causes.GetValueOrDefault(cause) + 1;
                }

                previous = line;
            }
        }

        var why = causes.Count == 0 ? "" : "; causes: " + string.Join("; ", causes.OrderByDescending(c => c.Value).Take(5).Select(c => $"{c.Key} ×{c.Value}"));
        return $"{failedTries} failed tries of queue messages, {partitionFailures} failed partition writes, {poisoned} messages moved to a poison queue{why}";
    }
}
