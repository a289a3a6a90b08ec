// The parts of the API's answers the dashboard reads (snake_case, as the API writes them).

export interface Usage {
  events: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  cost_usd: number;
  unpriced_events: number;
  successes: number;
  failures: number;
  duration_ms: number;
  success_rate_pct: number | null;
}

export interface Overview extends Usage {
  from: string;
  to: string;
  active_agents: number;
  active_users: number;
  previous: Usage & { from: string; to: string };
  change_pct: Record<string, number | null>;
}

export interface Point extends Usage {
  date?: string;
  hour?: string;
}

export interface Timeseries {
  granularity: 'day' | 'hour';
  points: Point[];
}

export interface BreakdownItem extends Usage {
  key: string | null;
  previous_cost_usd: number;
  cost_change_pct: number | null;
}

export interface Breakdown {
  by: string;
  items: BreakdownItem[];
  other: (Usage & { key: string | null }) | null;
  other_values: number;
}

export interface Concentration {
  threshold_pct: number;
  warnings: { provider: string; measure: string; share_pct: number; threshold_pct: number; message: string }[];
}

export interface BurnRate {
  hourly_rate_usd: number;
  last24h_cost_usd: number;
  month_to_date_cost_usd: number;
  projected_month_end_usd: number;
  month_elapsed_days: number;
  month_days: number;
}

export interface Efficiency {
  time_saved: { saved_hours: number; tasks: number; saved_pct: number | null };
}

export interface PeriodUsage {
  cost_usd: number;
  tokens: number;
  events: number;
}

export interface Agent {
  name: string;
  status: 'active' | 'idle' | 'killed' | 'paused';
  last_active: string | null;
  primary_model: string | null;
  today: PeriodUsage;
  week: PeriodUsage;
  month: PeriodUsage;
  all_time: PeriodUsage;
  budget_used_pct: number | null;
}

export interface AgentList {
  agents: Agent[];
}

export interface AgentDetail {
  agent: Agent;
  from: string;
  to: string;
  models: BreakdownItem[];
  history: Point[];
}

export interface Run extends Usage {
  kind: 'run' | 'session';
  id: string;
  status: string;
  agent: string | null;
  user: string | null;
  team: string | null;
  started_at: string;
  ended_at: string;
  elapsed_ms: number;
  models: string[];
  tokens: number;
}

export interface RunList {
  items: Run[];
  next_cursor: string | null;
}

export interface RunDetail {
  run: Run;
  model_usage: (Usage & { model: string })[];
}

export interface StoredEvent {
  timestamp: string;
  agent: string;
  provider: string;
  model: string;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  cost_usd: number | null;
  estimated_cost_usd: number | null;
  duration_ms: number | null;
  task_success: boolean | null;
  user_id: string | null;
  team: string | null;
}

export interface EventPage {
  items: StoredEvent[];
  next_cursor: string | null;
}

export interface Budget {
  id: string;
  name: string;
  scope: string;
  scope_value: string | null;
  metric: 'cost_usd' | 'tokens' | 'calls';
  period: string;
  limit: number;
  action: string;
  thresholds: number[];
  usage: { used: number; used_pct: number | null; status: string; period_end: string | null };
}

export interface Alert {
  id: string;
  kind: string;
  message: string;
  raised_at: string;
  status: string;
  attempts: number;
  last_error: string | null;
  delivered_at: string | null;
}

export interface Webhook {
  id: string;
  url: string;
  format: string;
  kinds: string[] | null;
  enabled: boolean;
  secret?: string;
}

export interface CatalogPrice {
  effective_from: string;
  input: number;
  output: number;
  cache_read: number | null;
  cache_write_5m: number | null;
  cache_write_1h: number | null;
}

export interface Pricing {
  version: string;
  models: { provider: string; model: string; aliases: string[]; prices: CatalogPrice[]; source: string }[];
  overrides: { model: string; input: number; output: number; cache_read: number | null; effective_from: string | null; note: string | null }[];
}

export interface Unpriced {
  from: string;
  to: string;
  items: { model: string; events: number; unpriced_events: number; input_tokens: number; output_tokens: number }[];
}

export interface ImportResult {
  format: string;
  lines: number;
  imported: number;
  skipped: number;
  duplicates: number;
  rejected: number;
  errors: { line: number; field: string; reason: string }[];
  ignored_columns: string[];
  rejected_agents: string[];
}

export interface CurrentKey {
  id: string;
  name: string;
  scopes: string[];
  grants: string[];
  workspace: { id: string; name: string; timezone: string };
}
