using System.Reflection;
using System.Text.RegularExpressions;
using AgentSpend.Functions.Alerts;
using AgentSpend.Functions.Audit;
using AgentSpend.Functions.Hosting;
using AgentSpend.Functions.Metrics;
using AgentSpend.Integration.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentSpend.Integration.Tests.Api;

/// <summary>
/// The query parameter families bound as one object each (<see cref="Paging"/>, <see cref="MetricsFilters"/>): what they
/// read, their defaults, and the problem each bad value answers, bound as minimal APIs bind them for the real handlers.
/// </summary>
public sealed partial class QueryParameterObjectTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly ParameterInfo ListPaging = ParameterOf(typeof(AlertEndpoints), nameof(AlertEndpoints.ListAsync), typeof(Paging));
    private static readonly ParameterInfo AuditPaging = ParameterOf(typeof(AuditEndpoints), nameof(AuditEndpoints.GetAsync), typeof(Paging));
    private static readonly ParameterInfo OverviewFilters = ParameterOf(typeof(MetricsEndpoints), nameof(MetricsEndpoints.GetOverviewAsync), typeof(MetricsFilters));

    [Fact]
    public async Task Paging_without_limit_or_cursor_is_the_first_page_of_the_default_size()
    {
        var lists = await BindPagingAsync("", ListPaging);
        var audit = await BindPagingAsync("?format=csv", AuditPaging);
        var empty = await BindPagingAsync("?limit=", ListPaging);

        Assert.Equal((50, false, (string?)null, (ProblemHttpResult?)null), (lists.Limit, lists.LimitAsked, lists.Cursor, lists.Problem));
        Assert.Equal((100, false, (string?)null, (ProblemHttpResult?)null), (audit.Limit, audit.LimitAsked, audit.Cursor, audit.Problem));
        Assert.Equal((50, false, (ProblemHttpResult?)null), (empty.Limit, empty.LimitAsked, empty.Problem));
    }

    [Theory]
    [InlineData("?limit=1&cursor=abc", 1, "abc")]
    [InlineData("?limit=500&range=7d", 500, null)]
    [InlineData("?cursor=", 50, "")]
    public async Task Paging_reads_the_limit_and_the_cursor_as_given(string query, int limit, string? cursor)
    {
        var paging = await BindPagingAsync(query, ListPaging);

        Assert.Equal((limit, query.Contains("limit", StringComparison.Ordinal), cursor, (ProblemHttpResult?)null), (paging.Limit, paging.LimitAsked, paging.Cursor, paging.Problem));
    }

    [Theory]
    [InlineData("?limit=0")]
    [InlineData("?limit=501")]
    [InlineData("?limit=-1")]
    [InlineData("?limit=%2B5")]
    [InlineData("?limit=5.0")]
    [InlineData("?limit=%205")]
    [InlineData("?limit=ten")]
    [InlineData("?limit=5&limit=6")]
    [InlineData("?limit=99999999999")]
    public async Task Paging_answers_a_limit_out_of_bounds_or_not_a_whole_number_with_400_on_limit(string query)
    {
        var paging = await BindPagingAsync(query, ListPaging);

        Assert.Equal((400, "limit", "must be a whole number from 1 to 500."), Error(paging.Problem));
    }

    [Fact]
    public async Task Paging_takes_the_bounds_of_its_parameter_where_they_differ()
    {
        var largest = await BindPagingAsync("?limit=1000", AuditPaging);
        var tooLarge = await BindPagingAsync("?limit=1001", AuditPaging);

        Assert.Equal((1000, true, (ProblemHttpResult?)null), (largest.Limit, largest.LimitAsked, largest.Problem));
        Assert.Equal((400, "limit", "must be a whole number from 1 to 1000."), Error(tooLarge.Problem));
    }

    [Fact]
    public async Task Metrics_filters_read_the_filters_and_pass_over_the_endpoints_own_parameters()
    {
        var none = await BindFiltersAsync("?range=7d&limit=5&by=model");
        var some = await BindFiltersAsync("?range=7d&tag.env=prod&model=m&agent=a&key=k1");

        Assert.Equal((true, (ProblemHttpResult?)null), (none.Filter.IsEmpty, none.Problem));
        Assert.Null(some.Problem);
        Assert.Equal(
            new Dictionary<string, string> { ["agent"] = "a", ["key"] = "k1", ["model"] = "m", ["tag.env"] = "prod" },
            some.Filter.Describe());
    }

    [Theory]
    [InlineData("?agent=", "agent", "must not be empty.")]
    [InlineData("?range=7d&team=%20", "team", "must not be empty.")]
    [InlineData("?tag.env=", "tag.env", "must not be empty.")]
    [InlineData("?model=a&model=b", "model", "give one value.")]
    [InlineData("?tag.env=a&tag.env=b", "tag.env", "give one value.")]
    [InlineData("?user=u&provider=", "provider", "must not be empty.")]
    public async Task Metrics_filters_answer_a_bad_value_with_400_naming_the_filter(string query, string field, string reason)
    {
        var filters = await BindFiltersAsync(query);

        Assert.Equal((400, field, reason), Error(filters.Problem));
        Assert.True(filters.Filter.IsEmpty);
    }

    [Fact]
    public async Task Over_http_the_families_are_taken_where_their_objects_are_and_answer_their_problems()
    {
        await using var app = await TestApp.StartAsync(azurite);

        Assert.Equal(200, (await app.SendAsync("GET", "/api/v1/audit?limit=1000&format=csv")).Status);
        Assert.Equal((400, "limit", "must be a whole number from 1 to 1000."), await ProblemOfAsync(app, "/api/v1/audit?limit=1001"));
        Assert.Equal((400, "limit", "must be a whole number from 1 to 500."), await ProblemOfAsync(app, "/api/v1/runs/r1/events?limit=0&cursor=c"));
        Assert.Equal((400, "agent", "must not be empty."), await ProblemOfAsync(app, "/api/v1/agents?agent="));
        Assert.Equal((400, "limit", "'limit' is not a parameter here; use by, format, from, range, sort, to, top, or the filters agent, model, provider, user, team, harness, repo, key and tag.<key>."),
            await ProblemOfAsync(app, "/api/v1/metrics/breakdown?by=model&limit=5"));
    }

    [Fact]
    public async Task Every_query_parameter_the_openapi_document_names_is_one_its_endpoint_takes()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var document = (await app.SendAsync("GET", "/api/openapi.json", key: null)).Body!.Value;

        var refused = new List<string>();
        foreach (var path in document.GetProperty("paths").EnumerateObject().Where(p => p.Name != "/api/openapi.json"))
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                foreach (var name in operation.Value.TryGetProperty("parameters", out var parameters)
                    ? parameters.EnumerateArray().Where(p => p.Str("in") == "query").Select(p => p.Str("name")!)
                    : [])
                {
                    var query = TagKey().Replace(name, "tag.k");
                    var reply = await app.SendAsync(operation.Name.ToUpperInvariant(), $"{RouteParameter().Replace(path.Name, "x")}?{query}=zz");
                    if (reply.Status == 400 && reply.Body?.GetProperty("errors")[0].Str("reason")?.Contains("is not a parameter here", StringComparison.Ordinal) == true)
                    {
                        refused.Add($"{operation.Name.ToUpperInvariant()} {path.Name} {name}");
                    }
                }
            }
        }

        Assert.Empty(refused);
    }

    private static async Task<Paging> BindPagingAsync(string query, ParameterInfo parameter) =>
        Assert.IsType<Paging>(await Paging.BindAsync(ContextWith(query), parameter));

    private static async Task<MetricsFilters> BindFiltersAsync(string query) =>
        Assert.IsType<MetricsFilters>(await MetricsFilters.BindAsync(ContextWith(query), OverviewFilters));

    private static DefaultHttpContext ContextWith(string query) => new() { Request = { QueryString = new QueryString(query) } };

    private static (int?, string?, string?) Error(ProblemHttpResult? problem)
    {
        Assert.NotNull(problem);
        var error = Assert.Single(Assert.IsType<Dictionary<string, string>[]>(problem.ProblemDetails.Extensions["errors"]));
        return (problem.StatusCode, error["field"], error["reason"]);
    }

    private static async Task<(int, string?, string?)> ProblemOfAsync(TestApp app, string path)
    {
        var reply = await app.SendAsync("GET", path);
        var error = reply.Body?.GetProperty("errors")[0];
        return (reply.Status, error?.Str("field"), error?.Str("reason"));
    }

    private static ParameterInfo ParameterOf(Type endpoints, string handler, Type parameterType) =>
        endpoints.GetMethod(handler)!.GetParameters().Single(p => p.ParameterType == parameterType);

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex RouteParameter();

    [GeneratedRegex(@"^tag\.\{key\}$")]
    private static partial Regex TagKey();
}
