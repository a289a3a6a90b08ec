using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Azure.Functions.Worker;

namespace AgentSpend.Functions.Dashboard;

/// <summary>The web dashboard's files: public (its API calls carry the key the user types in), and not part of the API's description.</summary>
public static class DashboardFunctions
{
    [Function("Dashboard")]
    [AllowAnonymous]
    [ExcludeFromDescription]
    public static IResult Dashboard([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard/{**path}")] HttpRequest request) =>
        EndpointHandler.Run(DashboardEndpoints.ServeFile);
}
