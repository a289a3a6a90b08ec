using System.Globalization;
using System.Reflection;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentSpend.Functions.Hosting;

/// <summary>
/// The page a list endpoint is asked for: <c>limit</c> and <c>cursor</c>, bound from the query by minimal APIs. A handler
/// that takes it takes those two parameters (<see cref="QueryContracts"/>, the OpenAPI document), and answers
/// <see cref="Problem"/> when there is one: binding never fails, since a failed binding would answer a bare 400.
/// </summary>
public sealed class Paging
{
    public const string LimitName = "limit";
    public const string CursorName = "cursor";

    public static IReadOnlyList<string> Names { get; } = [LimitName, CursorName];

    private Paging(int limit, bool limitAsked, string? cursor, ProblemHttpResult? problem)
    {
        Limit = limit;
        LimitAsked = limitAsked;
        Cursor = cursor;
        Problem = problem;
    }

    /// <summary>The page size: as asked, or the endpoint's default.</summary>
    public int Limit { get; }

    /// <summary>False when <see cref="Limit"/> is the default, for an endpoint whose default depends on more than the query.</summary>
    public bool LimitAsked { get; }

    /// <summary>The <c>next_cursor</c> of the previous page, as given: whether it is one is for the store that handed it out to say.</summary>
    public string? Cursor { get; }

    public ProblemHttpResult? Problem { get; }

    public static ValueTask<Paging?> BindAsync(HttpContext context, ParameterInfo parameter) =>
        ValueTask.FromResult<Paging?>(Read(context.Request.Query, PageSizeAttribute.Of(parameter)));

    private static Paging Read(IQueryCollection query, PageSizeAttribute size)
    {
        string? cursor = query[CursorName];
        if (query[LimitName].ToString() is not { Length: > 0 } limit)
        {
            return new Paging(size.Default, limitAsked: false, cursor, problem: null);
        }

        return int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1 && n <= size.Max
            ? new Paging(n, limitAsked: true, cursor, problem: null)
            : new Paging(size.Default, limitAsked: true, cursor, Problems.BadRequest(LimitName, $"must be a whole number from 1 to {size.Max}."));
    }
}

/// <summary>The page sizes a <see cref="Paging"/> parameter allows, where they are not the list endpoints' (1 to 500, default 50).</summary>
[AttributeUsage(AttributeTargets.Parameter)]
public sealed class PageSizeAttribute(int defaultLimit, int maxLimit) : Attribute
{
    private static readonly PageSizeAttribute Lists = new(50, 500);

    public int Default { get; } = defaultLimit;

    public int Max { get; } = maxLimit;

    public static PageSizeAttribute Of(ParameterInfo parameter) => parameter.GetCustomAttribute<PageSizeAttribute>() ?? Lists;
}
