// How numbers read on the dashboard. Pure and locale-fixed (en-US grouping), so tests can assert exact text.

const grouped = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** Dollars: cents from $1 up; below, up to four decimals (agent calls often cost fractions of a cent), at least two. */
export function formatUsd(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  const sign = value < 0 ? '-' : '';
  const abs = Math.abs(value);
  if (abs === 0) return '$0.00';
  if (abs >= 1000) return `${sign}$${grouped.format(Math.round(abs))}`;
  if (abs >= 1) return `${sign}$${abs.toFixed(2)}`;
  if (abs < 0.00005) return `${sign}<$0.0001`; // would read $0.00, which it is not
  return `${sign}$${abs.toFixed(4).replace(/0{1,2}$/, '')}`;
}

/** A whole count with thousands separators: 12,345. */
export function formatCount(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : grouped.format(value);
}

/** Token counts, compact past ten thousand: 9,876 · 12.3K · 4.56M · 1.20B. */
export function formatTokens(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  const abs = Math.abs(value);
  if (abs < 10_000) return grouped.format(value);
  if (abs < 1_000_000) return `${(value / 1000).toFixed(1)}K`;
  if (abs < 1_000_000_000) return `${(value / 1_000_000).toFixed(2)}M`;
  return `${(value / 1_000_000_000).toFixed(2)}B`;
}

/** A percentage with one decimal: 42.5%. */
export function formatPct(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : `${value.toFixed(1)}%`;
}

export function formatHours(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : `${value.toFixed(1)} h`;
}

export type Trend = 'up' | 'down' | 'flat' | 'none';

/** A change against the previous period: "+12.5%", "−3.0%", "±0.0%"; null (nothing before) reads "new". */
export function formatChange(pct: number | null | undefined, unit: '%' | ' pp' = '%'): { text: string; trend: Trend } {
  if (pct === null || pct === undefined) return { text: 'new', trend: 'none' };
  if (pct === 0) return { text: `±0.0${unit}`, trend: 'flat' };
  return pct > 0 ? { text: `+${pct.toFixed(1)}${unit}`, trend: 'up' } : { text: `−${Math.abs(pct).toFixed(1)}${unit}`, trend: 'down' };
}

/** Milliseconds as a short duration: 850 ms · 12.3 s · 4 min 05 s · 2 h 03 min. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes} min ${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** A count with its noun: "1 event", "2 events", "1,234 events". */
export function plural(count: number, noun: string): string {
  return `${formatCount(count)} ${noun}${count === 1 ? '' : 's'}`;
}
