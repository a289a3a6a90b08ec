// AgentSpend in one resource group: storage (tables, queues, deployment container; no shared keys), a
// user-assigned managed identity with the roles the app needs, a Key Vault (RBAC only) for the key that
// encrypts stored secrets, Application Insights on Log Analytics, and the function app on a Flex
// Consumption plan running the isolated worker.
//
// Deploy:   az deployment group create -g <group> -f infra/bicep/main.bicep -p infra/bicep/main.bicepparam
// Then upload the package built by scripts/publish.sh (docs/deploy.md, "Deploy").
//
// The app settings below are the contract with the code: tests/AgentSpend.Integration.Tests/Deploy
// checks that every setting the code reads is set here or has a documented default, that every setting
// set here is read by the code or is a listed platform setting, and that the queue and table names match
// StorageNames and the function.json files. Parameter defaults equal the defaults in docs/settings.md and
// local.settings.sample.json.

targetScope = 'resourceGroup'

// ---- Where and what -------------------------------------------------------------------------------

@description('Azure region of every resource; it must offer the Flex Consumption plan (az functionapp list-flexconsumption-locations).')
param location string = resourceGroup().location

@description('Name of the function app; also the first label of its URL, so it must be unique across Azure.')
@minLength(2)
@maxLength(60)
param appName string = 'agentspend-${uniqueString(resourceGroup().id)}'

@description('Name of the storage account (3-24 lowercase letters and digits, unique across Azure).')
@minLength(3)
@maxLength(24)
param storageAccountName string = 'agentspend${uniqueString(resourceGroup().id)}'

@description('Name of the Key Vault that keeps the key encrypting stored webhook URLs and secrets (3-24 letters, digits and hyphens, unique across Azure).')
@minLength(3)
@maxLength(24)
param keyVaultName string = 'kv-${uniqueString(resourceGroup().id)}'

@description('Replication of the storage account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
])
param storageSku string = 'Standard_LRS'

@description('Tags put on every resource.')
param tags object = {}

@description('Most instances the Flex Consumption app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory of each Flex Consumption instance, in MB.')
@allowed([
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Days the Log Analytics workspace keeps the app\'s logs and telemetry.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

// ---- AgentSpend settings (docs/settings.md; same defaults) ------------------------------------------

@description('AGENTSPEND_ADMIN_KEY: the first instance-admin key of the default workspace, at least 24 characters. Stored only as a SHA-256 hash in the apikeys table; rotate it through the API (docs/deploy.md, "Rotating the first key").')
@secure()
@minLength(24)
param adminKey string

@description('AGENTSPEND_TIMEZONE: IANA timezone of the default workspace; its local days are the metrics\' days.')
param timezone string = 'UTC'

@description('AGENTSPEND_RETENTION_DAYS: days the default workspace keeps raw events (1-3650).')
@minValue(1)
@maxValue(3650)
param retentionDays int = 90

@description('AGENTSPEND_AGGREGATE_RETENTION_DAYS: daily buckets older than this are deleted, in every workspace (1-3650).')
@minValue(1)
@maxValue(3650)
param aggregateRetentionDays int = 400

@description('AGENTSPEND_KEY_USAGE_FLUSH_SECONDS: how often keys\' last use and failure counts are written (1-3600).')
@minValue(1)
@maxValue(3600)
param keyUsageFlushSeconds int = 60

@description('AGENTSPEND_PRICE_CATALOG: path of a price catalog file that replaces the shipped one; empty: the shipped catalog.')
param priceCatalog string = ''

@description('AGENTSPEND_CONCENTRATION_THRESHOLD_PCT: a provider holding at least this share of cost, tokens or calls gets an over-reliance warning (1-100).')
@minValue(1)
@maxValue(100)
param concentrationThresholdPct int = 70

@description('AGENTSPEND_RUN_IDLE_MINUTES: a run or session without an event for this long is completed; an agent is idle (1-1440).')
@minValue(1)
@maxValue(1440)
param runIdleMinutes int = 5

@description('AGENTSPEND_LONG_SESSION_MINUTES: an active session older than this is listed as long-running (1-10080).')
@minValue(1)
@maxValue(10080)
param longSessionMinutes int = 120

@description('AGENTSPEND_KEY_RATE_PER_SECOND: requests a second one API key may make to ingest, import, OTLP and check, per instance; 0: no limit.')
@minValue(0)
@maxValue(1000000)
param keyRatePerSecond int = 1000

@description('AGENTSPEND_KEY_BURST: the burst a key may make above its rate (at least the rate).')
@minValue(1)
param keyBurst int = 2000

@description('AGENTSPEND_SPIKE_FACTOR: an hour costing more than this many times the trailing 7-day hourly mean raises a spend_spike alert (1-1000; 0: never). A string, because it may have decimals.')
param spikeFactor string = '3'

@description('AGENTSPEND_ALERT_RETRY_BASE_SECONDS: a failed alert delivery is tried again after this many seconds, doubling per attempt (0-600).')
@minValue(0)
@maxValue(600)
param alertRetryBaseSeconds int = 2

@description('AGENTSPEND_ALERT_MAX_ATTEMPTS: delivery attempts per alert, the first included (1-20).')
@minValue(1)
@maxValue(20)
param alertMaxAttempts int = 6

@description('AGENTSPEND_WEBHOOK_TIMEOUT_SECONDS: how long one webhook post may take (1-120).')
@minValue(1)
@maxValue(120)
param webhookTimeoutSeconds int = 10

@description('AGENTSPEND_CORS_ORIGINS: origins allowed to call the API from a browser, comma-separated; empty: CORS off.')
param corsOrigins string = ''

@description('AGENTSPEND_QUEUE_LEASE_SECONDS: standalone trigger runner only (off under the Functions host); kept so every setting has its parameter (2-600).')
@minValue(2)
@maxValue(600)
param queueLeaseSeconds int = 60

@description('AGENTSPEND_AGGREGATION_CONCURRENCY: workspace-days written in parallel by one aggregation pass (1-64).')
@minValue(1)
@maxValue(64)
param aggregationConcurrency int = 8

// ---- Names ------------------------------------------------------------------------------------------

var resourceToken = uniqueString(resourceGroup().id, appName)
var deploymentContainerName = 'app-package'

// Every queue and table of src/Core/Storage/StorageNames.cs (the deploy tests keep these in step).
var queueNames = [
  'usage-ingest'
  'usage-ingest-poison'
  'alerts'
  'alerts-poison'
]
var tableNames = [
  'usage'
  'apikeys'
  'workspaces'
  'audit'
  'limits'
  'priceoverrides'
  'runs'
  'budgets'
  'controls'
  'tools'
  'reservations'
  'alerts'
  'webhooks'
]

// ---- Resources --------------------------------------------------------------------------------------

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: 'id-${appName}'
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: storageAccountName
    location: location
    tags: tags
    skuName: storageSku
    deploymentContainerName: deploymentContainerName
    queueNames: queueNames
    tableNames: tableNames
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${appName}'
    location: location
    tags: tags
    retentionInDays: logRetentionDays
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: keyVaultName
    location: location
    tags: tags
  }
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  params: {
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    keyVaultName: keyVault.outputs.name
    principalId: identity.outputs.principalId
  }
}

// Storage is reached only with the managed identity: no connection string, no account key.
var appSettings = {
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.outputs.clientId
  AzureWebJobsStorage__blobServiceUri: storage.outputs.blobEndpoint
  AzureWebJobsStorage__queueServiceUri: storage.outputs.queueEndpoint
  AzureWebJobsStorage__tableServiceUri: storage.outputs.tableEndpoint
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.outputs.clientId};Authorization=AAD'
  AGENTSPEND_ADMIN_KEY: adminKey
  // The host refuses larger bodies itself; an import is up to 100 MiB of file (ImportService.MaxUploadBytes) and its envelope.
  FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: string(104857600 + 1048576)
  AGENTSPEND_TIMEZONE: timezone
  AGENTSPEND_RETENTION_DAYS: string(retentionDays)
  AGENTSPEND_AGGREGATE_RETENTION_DAYS: string(aggregateRetentionDays)
  AGENTSPEND_KEY_USAGE_FLUSH_SECONDS: string(keyUsageFlushSeconds)
  AGENTSPEND_PRICE_CATALOG: priceCatalog
  AGENTSPEND_CONCENTRATION_THRESHOLD_PCT: string(concentrationThresholdPct)
  AGENTSPEND_RUN_IDLE_MINUTES: string(runIdleMinutes)
  AGENTSPEND_LONG_SESSION_MINUTES: string(longSessionMinutes)
  AGENTSPEND_KEY_RATE_PER_SECOND: string(keyRatePerSecond)
  AGENTSPEND_KEY_BURST: string(keyBurst)
  AGENTSPEND_SPIKE_FACTOR: spikeFactor
  AGENTSPEND_ALERT_RETRY_BASE_SECONDS: string(alertRetryBaseSeconds)
  AGENTSPEND_ALERT_MAX_ATTEMPTS: string(alertMaxAttempts)
  AGENTSPEND_WEBHOOK_TIMEOUT_SECONDS: string(webhookTimeoutSeconds)
  // Never a parameter: in Azure a webhook must not reach the app's own network or the metadata service.
  AGENTSPEND_WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'false'
  // The key that encrypts stored webhook URLs and secrets lives here, outside the storage account.
  AGENTSPEND_KEY_VAULT_URI: keyVault.outputs.uri
  AGENTSPEND_CORS_ORIGINS: corsOrigins
  AGENTSPEND_QUEUE_LEASE_SECONDS: string(queueLeaseSeconds)
  AGENTSPEND_AGGREGATION_CONCURRENCY: string(aggregationConcurrency)
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  dependsOn: [
    roles
  ]
  params: {
    planName: 'plan-${appName}'
    name: appName
    location: location
    tags: tags
    identityId: identity.outputs.id
    blobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    appSettings: appSettings
  }
}

// ---- Outputs ----------------------------------------------------------------------------------------

@description('Base URL of the API: AGENTSPEND_URL is this without the trailing /api; the OTLP endpoint is this plus /otlp.')
output apiBaseUrl string = 'https://${functionApp.outputs.defaultHostName}/api'

@description('Name of the function app (az functionapp ... -n).')
output functionAppName string = functionApp.outputs.name

@description('Name of the Flex Consumption plan.')
output planName string = functionApp.outputs.planName

@description('Name of the storage account.')
output storageAccountName string = storage.outputs.name

@description('Name of the blob container that holds the deployment package.')
output deploymentContainerName string = storage.outputs.deploymentContainerName

@description('Name of the Key Vault holding the key that encrypts stored webhook URLs and secrets (its secret agentspend-secret-key).')
output keyVaultName string = keyVault.outputs.name

@description('Name of the managed identity the app runs as.')
output identityName string = identity.outputs.name

@description('Client id of the managed identity the app runs as.')
output identityClientId string = identity.outputs.clientId

@description('Name of the Application Insights component (logs and traces of the host and the app).')
output applicationInsightsName string = monitoring.outputs.applicationInsightsName
