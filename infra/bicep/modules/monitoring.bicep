// Application Insights on a Log Analytics workspace. Local (instrumentation key) authentication is off:
// telemetry is accepted only with an Entra ID token, which the host gets for the app's managed identity
// (APPLICATIONINSIGHTS_AUTHENTICATION_STRING) once it holds Monitoring Metrics Publisher (roles.bicep).

@description('Name of the Log Analytics workspace.')
param logAnalyticsName string

@description('Name of the Application Insights component.')
param applicationInsightsName string

@description('Azure region of both resources.')
param location string

@description('Tags put on both resources.')
param tags object

@description('Days the workspace keeps logs.')
@minValue(30)
@maxValue(730)
param retentionInDays int

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
  }
}

@description('Name of the Application Insights component.')
output applicationInsightsName string = appInsights.name

@description('Connection string of the Application Insights component (APPLICATIONINSIGHTS_CONNECTION_STRING); with local authentication off it cannot be used without an Entra ID token.')
output connectionString string = appInsights.properties.ConnectionString

@description('Name of the Log Analytics workspace.')
output logAnalyticsName string = workspace.name
