using System.Text.RegularExpressions;

namespace AgentSpend.Integration.Tests.Deploy;

/// <summary>
/// What a Bicep compiler and a reviewer would check in infra/bicep, checked on the text (no compiler here):
/// descriptions, module wiring, secure storage, role assignment names, the Flex Consumption shape, and the
/// resource types and API versions that were checked by hand against the documentation.
/// </summary>
public sealed partial class BicepStructureTests
{
    private static readonly IReadOnlyList<BicepFile> Files = BicepFile.All();

    private static BicepFile File(string name) => Files.Single(f => f.Path.EndsWith("/" + name, StringComparison.Ordinal));

    [Fact]
    public void The_files_are_main_and_six_modules()
    {
        Assert.Equal(
            ["infra/bicep/main.bicep", "infra/bicep/modules/functionapp.bicep", "infra/bicep/modules/identity.bicep", "infra/bicep/modules/keyvault.bicep", "infra/bicep/modules/monitoring.bicep", "infra/bicep/modules/roles.bicep", "infra/bicep/modules/storage.bicep"],
            Files.Select(f => f.Path));
        Assert.Equal(["identity", "storage", "monitoring", "keyVault", "roles", "functionApp"], File("main.bicep").Modules().Select(m => m.Name));
    }

    [Fact]
    public void Every_param_and_output_has_a_description()
    {
        foreach (var file in Files)
        {
            Assert.NotEmpty(file.Params);
            Assert.All(file.Declarations, d => Assert.False(string.IsNullOrWhiteSpace(d.Description?.Trim('\'')), $"{file.Path}: {d.Kind} {d.Name} has no @description"));

            // Every declaration line was read: none hides behind a form the reader does not know.
            var declared = file.Lines.Count(l => Regex.IsMatch(l, @"^(param|output)\s"));
            Assert.Equal(declared, file.Declarations.Count);
        }
    }

    [Fact]
    public void Every_module_gets_exactly_the_params_it_declares_and_is_read_only_for_outputs_it_has()
    {
        foreach (var caller in Files)
        {
            foreach (var call in caller.Modules())
            {
                var module = BicepFile.Load(["infra", "bicep", .. call.Path.Split('/')]);
                var required = module.Params.Where(p => p.Default is null).Select(p => p.Name).Order(StringComparer.Ordinal);
                Assert.Equal(required, call.Params.Where(p => module.Params.Any(d => d.Name == p && d.Default is null)).Order(StringComparer.Ordinal));
                Assert.All(call.Params, p => Assert.Contains(module.Params, d => d.Name == p));

                var outputs = module.Outputs.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
                var read = Regex.Matches(caller.Text, $@"\b{call.Name}\.outputs\.(\w+)").Select(m => m.Groups[1].Value).Distinct(StringComparer.Ordinal).ToList();
                Assert.NotEmpty(read.Concat(call.Name == "roles" ? ["(none)"] : []));
                Assert.All(read, o => Assert.Contains(o, outputs));
            }
        }
    }

    [Fact]
    public void Every_param_is_used()
    {
        foreach (var file in Files)
        {
            foreach (var param in file.Params)
            {
                var uses = Regex.Count(file.Text, $@"\b{param.Name}\b");
                Assert.True(uses > 1, $"{file.Path}: param {param.Name} is declared but not used");
            }
        }
    }

    [Fact]
    public void The_storage_account_takes_no_shared_key_no_public_blob_and_only_tls_1_2_over_https()
    {
        var account = Assert.Single(File("storage.bicep").Resources(), r => r.Type == "Microsoft.Storage/storageAccounts");
        Assert.Equal("false", account.Property("allowSharedKeyAccess"));
        Assert.Equal("'TLS1_2'", account.Property("minimumTlsVersion"));
        Assert.Equal("false", account.Property("allowBlobPublicAccess"));
        Assert.Equal("true", account.Property("supportsHttpsTrafficOnly"));
        Assert.Equal("true", account.Property("defaultToOAuthAuthentication"));
        Assert.Equal("'StorageV2'", account.Property("kind"));

        var container = Assert.Single(File("storage.bicep").Resources(), r => r.Type == "Microsoft.Storage/storageAccounts/blobServices/containers");
        Assert.Equal("'None'", container.Property("publicAccess"));
        Assert.Equal("deploymentContainerName", container.Property("name"));
    }

    [Fact]
    public void The_key_vault_uses_rbac_only_keeps_deleted_keys_recoverable_and_serves_no_deployments()
    {
        var vault = Assert.Single(File("keyvault.bicep").Resources(), r => r.Type == "Microsoft.KeyVault/vaults");
        Assert.Equal("true", vault.Property("enableRbacAuthorization"));
        Assert.Equal("[]", vault.Property("accessPolicies"));
        Assert.Equal(("true", "true"), (vault.Property("enableSoftDelete"), vault.Property("enablePurgeProtection")));
        Assert.Equal(("false", "false", "false"), (vault.Property("enabledForDeployment"), vault.Property("enabledForDiskEncryption"), vault.Property("enabledForTemplateDeployment")));
        Assert.Equal("subscription().tenantId", vault.Property("tenantId"));
        Assert.DoesNotContain(File("keyvault.bicep").Resources(), r => r.Type.StartsWith("Microsoft.KeyVault/vaults/", StringComparison.Ordinal)); // no secret in the template: the app makes the key
    }

    [Fact]
    public void Role_assignments_are_named_from_scope_principal_and_role_with_the_role_named_beside_its_id()
    {
        var roles = File("roles.bicep");
        var roleIds = RoleVariable().Matches(roles.Text).ToDictionary(m => m.Groups["var"].Value, m => (Id: m.Groups["id"].Value, Name: m.Groups["role"].Value.Trim()), StringComparer.Ordinal);
        Assert.Equal(
            [
                ("b7e6dc6d-f1e8-4753-8033-0f276bb0955b", "Storage Blob Data Owner"),
                ("974c5e8b-45b9-4653-ba55-5f855dd0fb88", "Storage Queue Data Contributor"),
                ("0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3", "Storage Table Data Contributor"),
                ("3913510d-42f4-4e42-8a64-420c390055eb", "Monitoring Metrics Publisher"),
                ("b86a8fe4-44ce-4948-aee5-eccb2c155cd7", "Key Vault Secrets Officer"),
            ],
            roleIds.Values);

        var assignments = Files.SelectMany(f => f.Resources()).Where(r => r.Type == "Microsoft.Authorization/roleAssignments").ToList();
        Assert.Equal(5, assignments.Count);
        Assert.All(assignments, a =>
        {
            var scope = a.Property("scope")!;
            var name = GuidName().Match(a.Property("name")!);
            Assert.True(name.Success, $"{a.Name}: name is {a.Property("name")}, not guid(scope.id, principalId, role)");
            Assert.Equal(scope, name.Groups["scope"].Value);
            var role = name.Groups["role"].Value;
            Assert.Contains(role, roleIds.Keys);
            Assert.Equal($"subscriptionResourceId('Microsoft.Authorization/roleDefinitions', {role})", a.Property("roleDefinitionId"));
            Assert.Equal("principalId", a.Property("principalId"));
            Assert.Equal("'ServicePrincipal'", a.Property("principalType"));
        });
        Assert.Equal(roleIds.Keys.Order(StringComparer.Ordinal), assignments.Select(a => GuidName().Match(a.Property("name")!).Groups["role"].Value).Order(StringComparer.Ordinal));
        Assert.Equal(["appInsights", "storage", "storage", "storage", "vault"], assignments.Select(a => a.Property("scope")).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_function_app_runs_the_isolated_worker_on_flex_consumption_with_its_package_read_by_the_identity()
    {
        var module = File("functionapp.bicep");
        var resources = module.Resources();
        var plan = Assert.Single(resources, r => r.Type == "Microsoft.Web/serverfarms");
        var planLines = plan.Body.Select(l => l.Trim()).ToList();
        Assert.Contains("name: 'FC1'", planLines);
        Assert.Contains("tier: 'FlexConsumption'", planLines);
        Assert.Equal(("'functionapp'", "true"), (plan.Property("kind"), plan.Property("reserved")));

        var app = Assert.Single(resources, r => r.Type == "Microsoft.Web/sites");
        Assert.Equal("'functionapp,linux'", app.Property("kind"));
        Assert.Equal("'UserAssigned'", app.Property("type"));
        Assert.Equal("true", app.Property("httpsOnly"));

        // functionAppConfig, as the Flex Consumption documentation and the Azure-Samples templates shape it.
        var config = module.Block("functionAppConfig: {").Select(l => BicepFile.StripComment(l).Trim()).Where(l => l.Length > 0).ToList();
        Assert.Equal(
            [
                "deployment: {", "storage: {", "type: 'blobContainer'", "value: '${blobEndpoint}${deploymentContainerName}'",
                "authentication: {", "type: 'UserAssignedIdentity'", "userAssignedIdentityResourceId: identityId", "}", "}", "}",
                "scaleAndConcurrency: {", "maximumInstanceCount: maximumInstanceCount", "instanceMemoryMB: instanceMemoryMB", "}",
                "runtime: {", "name: 'dotnet-isolated'", "version: '10.0'", "}",
            ],
            config);
    }

    [Fact]
    public void The_outputs_include_the_api_base_url_and_the_names()
    {
        var outputs = File("main.bicep").Outputs.ToDictionary(o => o.Name, StringComparer.Ordinal);
        Assert.Equal("'https://${functionApp.outputs.defaultHostName}/api'", outputs["apiBaseUrl"].Default);
        Assert.Equal(
            ["apiBaseUrl", "functionAppName", "planName", "storageAccountName", "deploymentContainerName", "keyVaultName", "identityName", "identityClientId", "applicationInsightsName"],
            outputs.Keys);
        Assert.All(Files.SelectMany(f => f.Outputs), o => Assert.DoesNotContain("adminKey", o.Default ?? "", StringComparison.Ordinal));
    }

    [Fact]
    public void The_resource_types_and_api_versions_are_the_ones_checked_against_the_documentation()
    {
        // Changing one means checking it again (docs/deploy.md lists the sources).
        Assert.Equal(
            [
                "Microsoft.Authorization/roleAssignments@2022-04-01",
                "Microsoft.Insights/components@2020-02-02",
                "Microsoft.KeyVault/vaults@2023-07-01",
                "Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31",
                "Microsoft.OperationalInsights/workspaces@2023-09-01",
                "Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01",
                "Microsoft.Storage/storageAccounts/blobServices@2023-05-01",
                "Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01",
                "Microsoft.Storage/storageAccounts/queueServices@2023-05-01",
                "Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01",
                "Microsoft.Storage/storageAccounts/tableServices@2023-05-01",
                "Microsoft.Storage/storageAccounts@2023-05-01",
                "Microsoft.Web/serverfarms@2024-04-01",
                "Microsoft.Web/sites@2024-04-01",
            ],
            Files.SelectMany(f => f.Resources()).Select(r => r.TypeAndVersion).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal));
        var declared = Files.Sum(f => f.Lines.Count(l => l.StartsWith("resource ", StringComparison.Ordinal)));
        Assert.Equal(declared, Files.Sum(f => f.Resources().Count));
    }

    [Fact]
    public void The_parameter_file_uses_main_and_reads_the_admin_key_from_the_environment()
    {
        var text = Repository.Read("infra", "bicep", "main.bicepparam");
        var lines = text.Split('\n').Select(l => BicepFile.StripComment(l).Trim()).Where(l => l.Length > 0).ToList();
        Assert.Equal("using './main.bicep'", lines[0]);
        Assert.Contains("param adminKey = readEnvironmentVariable('AGENTSPEND_ADMIN_KEY')", lines);
        var declared = File("main.bicep").Params.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        Assert.All(lines.Where(l => l.StartsWith("param ", StringComparison.Ordinal)), l => Assert.Contains(l.Split(' ')[1], declared));
    }

    [GeneratedRegex(@"^var (?<var>\w+) = '(?<id>[0-9a-f-]{36})' // (?<role>.+)$", RegexOptions.Multiline)]
    private static partial Regex RoleVariable();

    [GeneratedRegex(@"^guid\((?<scope>\w+)\.id, principalId, (?<role>\w+)\)$")]
    private static partial Regex GuidName();
}
