using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace AgentSpend.Bench;

/// <summary>
/// Re-prices the busiest day of the realistic workload after giving one model a price, and compares the time with
/// the share of the end-to-end run that day's events took to count. Target: at most 2 ×.
/// </summary>
internal static class RepriceBench
{
    private const string Model = "model-00";
    private const string Provider = "anthropic"; // Workload: model i is served by Providers[i % 3]

    public static async Task<bool> RunAsync(HttpClient http, Workload workload, double endToEndSeconds)
    {
        var perDay = workload.PerDayModel.GroupBy(p => p.Key.Day).ToDictionary(g => g.Key, g => g.Sum(p => p.Value));
        var day = perDay.MaxBy(d => d.Value).Key;
        var dayEvents = perDay[day];
        var expectedChanged = workload.PerDayModel.GetValueOrDefault((day, Model));
        var aggregationSeconds = endToEndSeconds * dayEvents / workload.Expected.Events;

        using var price = await http.PutAsJsonAsync($"/api/v1/pricing/models/{Provider}/{Model}",
            new { input = 1.0, output = 5.0, cache_read = 0.1, cache_write_5m = 1.25, cache_write_1h = 2.0, note = "benchmark" });
        if (!price.IsSuccessStatusCode)
        {
            Console.WriteLine($"re-pricing: setting the price of {Model} answered {(int)price.StatusCode} {await price.Content.ReadAsStringAsync()}");
            return false;
        }

        var clock = Stopwatch.StartNew();
        using var response = await http.PostAsync($"/api/v1/pricing/reprice?from={day:yyyy-MM-dd}&to={day:yyyy-MM-dd}", null);
        var seconds = clock.Elapsed.TotalSeconds;
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            Console.WriteLine($"re-pricing: {(int)response.StatusCode} {text}");
            return false;
        }

        var changed = JsonDocument.Parse(text).RootElement.GetProperty("events_changed").GetInt64();
        var ratio = seconds / aggregationSeconds;
        Console.WriteLine($"re-pricing {day:yyyy-MM-dd}: {changed} of {dayEvents} events changed in {seconds:F2} s; counting that day took ~{aggregationSeconds:F2} s " +
            $"(its share of end-to-end) -> {ratio:F2} x (target <= 2: {(ratio <= 2 ? "met" : "NOT met")})");
        if (changed != expectedChanged)
        {
            Console.WriteLine($"re-pricing: WRONG, expected {expectedChanged} events of {Model} changed");
            return false;
        }

        return true;
    }
}
