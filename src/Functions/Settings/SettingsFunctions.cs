using AgentSpend.Functions.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Azure.Functions.Worker;

namespace AgentSpend.Functions.Settings;

/// <summary>The workspace's efficiency settings: read keys read them, admin keys change them.</summary>
public static class SettingsFunctions
{
    [Function("GetEfficiencySettings")]
    [Authorize(AuthPolicies.Read)]
    public static IResult GetEfficiencySettings([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/v1/settings/efficiency")] HttpRequest request) =>
        EndpointHandler.Run(SettingsEndpoints.Get);

    [Function("PutEfficiencySettings")]
    [Authorize(AuthPolicies.Admin)]
    public static IResult PutEfficiencySettings([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/v1/settings/efficiency")] HttpRequest request) =>
        EndpointHandler.Run(SettingsEndpoints.PutAsync);
}
