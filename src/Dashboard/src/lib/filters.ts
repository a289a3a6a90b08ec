// The dashboard's filters, as they live in the URL (after the hash: #/page?range=7d&provider=openai), so a
// view can be shared by its link. Pure: parsing, printing and the API query they make.

export const RANGES = ['today', 'yesterday', '7d', '30d', '90d', 'mtd'] as const;
export type Range = (typeof RANGES)[number];
export const DEFAULT_RANGE: Range = '7d';

export const RANGE_LABELS: Record<Range, string> = {
  today: 'Today',
  yesterday: 'Yesterday',
  '7d': 'Last 7 days',
  '30d': 'Last 30 days',
  '90d': 'Last 90 days',
  mtd: 'Month to date',
};

/** The dimensions a user can filter by, in the order the filter bar shows them. */
export const DIMENSIONS = ['provider', 'model', 'team', 'user', 'agent'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

export type Filters = { range: Range } & Partial<Record<Dimension, string>>;

export function isRange(value: string | null): value is Range {
  return value !== null && (RANGES as readonly string[]).includes(value);
}

/** Reads filters from a query string ("?range=30d&team=apps" or without "?"); unknown or empty values are dropped. */
export function parseFilters(query: string): Filters {
  const params = new URLSearchParams(query.startsWith('?') ? query.slice(1) : query);
  const range = params.get('range');
  const filters: Filters = { range: isRange(range) ? range : DEFAULT_RANGE };
  for (const dimension of DIMENSIONS) {
    const value = params.get(dimension)?.trim();
    if (value) filters[dimension] = value;
  }
  return filters;
}

/** The query string of the filters, in a fixed order so equal filters print equal links. */
export function printFilters(filters: Filters): string {
  const params = new URLSearchParams({ range: filters.range });
  for (const dimension of DIMENSIONS) {
    const value = filters[dimension];
    if (value) params.set(dimension, value);
  }
  return params.toString();
}

/** The filters with one dimension set, or cleared when the value is empty. */
export function withFilter(filters: Filters, dimension: Dimension, value: string | undefined): Filters {
  const next: Filters = { ...filters };
  if (value && value.trim()) next[dimension] = value.trim();
  else delete next[dimension];
  return next;
}

export function activeDimensions(filters: Filters): Dimension[] {
  return DIMENSIONS.filter((d) => filters[d] !== undefined);
}

/**
 * The API query of the filters: the range and those dimensions the endpoint takes (the metrics endpoints
 * take all five; runs and sessions only agent, user and team). Extra parameters are appended as given.
 */
export function apiQuery(filters: Filters, accepted: readonly Dimension[] = DIMENSIONS, extra: Record<string, string | number> = {}): string {
  return queryOf({ range: filters.range }, filters, accepted, extra);
}

/** The same without the range: for endpoints that take their own days (from/to) or none (the burn rate). */
export function dimensionQuery(filters: Filters, accepted: readonly Dimension[] = DIMENSIONS, extra: Record<string, string | number> = {}): string {
  return queryOf({}, filters, accepted, extra);
}

function queryOf(first: Record<string, string>, filters: Filters, accepted: readonly Dimension[], extra: Record<string, string | number>): string {
  const params = new URLSearchParams(first);
  for (const dimension of accepted) {
    const value = filters[dimension];
    if (value) params.set(dimension, value);
  }
  for (const [name, value] of Object.entries(extra)) params.set(name, String(value));
  return params.toString();
}

/** Short ranges are drawn hour by hour, longer ones day by day. */
export function granularityFor(range: Range): 'hour' | 'day' {
  return range === 'today' || range === 'yesterday' ? 'hour' : 'day';
}

/**
 * The inclusive local days of a range, as the API resolves them, for the endpoints that take only from/to.
 * `today` is the workspace's local date (YYYY-MM-DD).
 */
export function rangeDays(range: Range, today: string): { from: string; to: string } {
  const shift = (days: number) => addDays(today, days);
  switch (range) {
    case 'today':
      return { from: today, to: today };
    case 'yesterday':
      return { from: shift(-1), to: shift(-1) };
    case '7d':
      return { from: shift(-6), to: today };
    case '30d':
      return { from: shift(-29), to: today };
    case '90d':
      return { from: shift(-89), to: today };
    case 'mtd':
      return { from: today.slice(0, 8) + '01', to: today };
  }
}

/** A YYYY-MM-DD date moved by whole days (calendar arithmetic, no timezone involved). */
export function addDays(day: string, days: number): string {
  const date = new Date(day + 'T00:00:00Z');
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}
