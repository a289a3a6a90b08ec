// Example parameters. The first admin key is read from the environment so that it never lands in a file
// or in the shell history: export AGENTSPEND_ADMIN_KEY before deploying (docs/deploy.md, "Deploy").
// Every other parameter has the default shown in main.bicep; set here only what you change.
using './main.bicep'

param adminKey = readEnvironmentVariable('AGENTSPEND_ADMIN_KEY')

param timezone = 'UTC'
param retentionDays = 90
param maximumInstanceCount = 100
param instanceMemoryMB = 2048
param tags = {
  app: 'agentspend'
}
