// Figures the dashboard derives from API answers where the API gives the parts but not the whole.

/** The token kinds that add up to "tokens" (reasoning tokens are part of output tokens, so not added again). */
export interface TokenCounts {
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
}

export function totalTokens(u: TokenCounts): number {
  return u.input_tokens + u.output_tokens + u.cache_read_tokens + u.cache_write_tokens;
}

/**
 * Percentage change from the previous period, one decimal, as the API computes its own change_pct: null when
 * the previous figure is 0 (no base to compare with).
 */
export function changePct(current: number, previous: number): number | null {
  if (previous === 0) return null;
  return Math.round(((current - previous) / previous) * 1000) / 10;
}

/** The change of a rate in percentage points, one decimal; null when either side has no rate. */
export function changePoints(current: number | null, previous: number | null): number | null {
  if (current === null || previous === null) return null;
  return Math.round((current - previous) * 10) / 10;
}

/** A share of a whole in percent (0 when the whole is 0), for the bars of breakdown lists. */
export function sharePct(part: number, whole: number): number {
  return whole > 0 ? (part / whole) * 100 : 0;
}

/** How full a budget bar is drawn: its used percentage clamped to 0–100 (the label keeps the real figure). */
export function barWidthPct(usedPct: number | null | undefined): number {
  if (usedPct === null || usedPct === undefined || Number.isNaN(usedPct)) return 0;
  return Math.min(100, Math.max(0, usedPct));
}

/** The level of a budget bar: ok below the warning threshold, warning past it, exceeded at 100 %. */
export function budgetLevel(usedPct: number | null | undefined, warnAt = 80): 'ok' | 'warning' | 'exceeded' | 'none' {
  if (usedPct === null || usedPct === undefined) return 'none';
  if (usedPct >= 100) return 'exceeded';
  return usedPct >= warnAt ? 'warning' : 'ok';
}
