using System.Collections.Concurrent;
using System.Reflection;
using AgentSpend.Core.Metrics;
using Microsoft.AspNetCore.Mvc;

namespace AgentSpend.Functions.Hosting;

/// <summary>The query parameters a function's endpoint reads itself rather than through its handler's parameters.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class AcceptsQueryAttribute(params string[] names) : Attribute
{
    public IReadOnlyList<string> Names { get; } = names;
}

/// <summary>
/// Unknown query parameters are refused in one place: before any handler runs, every API endpoint's request is
/// checked against what the endpoint takes (400, naming the first unknown parameter and what the endpoint takes
/// instead). What an endpoint takes is read from its handler's parameters that bind from the query string (route
/// values, services, bodies and the request itself excepted), the families its parameter objects read
/// (<see cref="MetricsFilters"/>, <see cref="Paging"/>), plus what its metadata adds (<see cref="AcceptsQuery{TBuilder}"/>).
/// A misspelt filter then fails loudly instead of silently widening an answer.
/// </summary>
public static class QueryContracts
{
    public static TBuilder AcceptsQuery<TBuilder>(this TBuilder builder, params string[] names) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new AcceptsQueryAttribute(names));

    /// <summary>After authorization, so that a caller without a key learns nothing of an endpoint's parameters.</summary>
    public static IApplicationBuilder UseQueryContracts(this IApplicationBuilder app)
    {
        var contracts = new ConcurrentDictionary<RouteEndpoint, Contract?>();
        return app.Use(async (context, next) =>
        {
            if (context.Request.Query.Count > 0
                && context.GetEndpoint() is RouteEndpoint endpoint
                && contracts.GetOrAdd(endpoint, Of) is { } contract
                && contract.FirstUnknown(context.Request.Query.Keys) is { } unknown)
            {
                await Problems.BadRequest(unknown, contract.Describe(unknown)).ExecuteAsync(context).ConfigureAwait(false);
                return;
            }

            await next(context).ConfigureAwait(false);
        });
    }

    /// <summary>The names an endpoint takes; null for what is not the API (the dashboard's files, the host's invocations).</summary>
    public static IReadOnlyCollection<string>? NamesOf(RouteEndpoint endpoint) => Of(endpoint)?.Names;

    private static Contract? Of(RouteEndpoint endpoint)
    {
        if (endpoint.RoutePattern.RawText?.StartsWith("/api/", StringComparison.Ordinal) != true)
        {
            return null;
        }

        var routeValues = endpoint.RoutePattern.Parameters.Select(p => p.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var names = new SortedSet<string>(StringComparer.Ordinal);
        var takesFilters = false;
        foreach (var parameter in endpoint.Metadata.GetMetadata<MethodInfo>()?.GetParameters() ?? [])
        {
            if (parameter.ParameterType == typeof(MetricsFilters))
            {
                takesFilters = true;
            }
            else if (parameter.ParameterType == typeof(Paging))
            {
                names.UnionWith(Paging.Names);
            }
            else if (FromQuery(parameter, routeValues) is { } name)
            {
                names.Add(name);
            }
        }

        foreach (var accepted in endpoint.Metadata.GetOrderedMetadata<AcceptsQueryAttribute>())
        {
            names.UnionWith(accepted.Names);
        }

        return new Contract(names, takesFilters);
    }

    // As minimal APIs bind: a string or a TryParse-able value that is not a route value binds from the query.
    private static string? FromQuery(ParameterInfo parameter, HashSet<string> routeValues)
    {
        if (parameter.GetCustomAttribute<FromQueryAttribute>() is { } fromQuery)
        {
            return fromQuery.Name ?? parameter.Name;
        }

        if (parameter.Name is null || routeValues.Contains(parameter.Name)
            || parameter.GetCustomAttributes().Any(a => a is FromServicesAttribute or FromBodyAttribute or FromHeaderAttribute or FromRouteAttribute))
        {
            return null;
        }

        return BindsFromText(parameter.ParameterType) ? parameter.Name : null;
    }

    private static bool BindsFromText(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type.IsArray)
        {
            return BindsFromText(type.GetElementType()!);
        }

        return type == typeof(string) || type.IsEnum
            || type.GetMethods(BindingFlags.Public | BindingFlags.Static).Any(m => m.Name == "TryParse" && m.GetParameters() is [{ } text, ..] && text.ParameterType == typeof(string));
    }

    private sealed record Contract(IReadOnlyCollection<string> Names, bool MetricsFilters)
    {
        public string? FirstUnknown(IEnumerable<string> presented) =>
            presented.Where(k => !Names.Contains(k) && !(MetricsFilters && MetricsFilter.IsFilterName(k))).Order(StringComparer.Ordinal).FirstOrDefault();

        public string Describe(string name)
        {
            var own = Names.Count == 0 ? null : string.Join(", ", Names);
            return MetricsFilters
                ? $"'{name}' is not a parameter here; use {(own is null ? "" : own + ", or ")}the filters {MetricsFilter.FilterNameList} and tag.<key>."
                : $"'{name}' is not a parameter here; use {own ?? "none"}.";
        }
    }
}
