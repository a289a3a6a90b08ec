import { describe, expect, it } from 'vitest';
import { barWidthPct, budgetLevel, changePct, changePoints, sharePct, totalTokens } from './metrics';

describe('derived figures', () => {
  it('adds input, output and cache tokens (reasoning is inside output)', () => {
    expect(totalTokens({ input_tokens: 3400, output_tokens: 630, cache_read_tokens: 1000, cache_write_tokens: 20 })).toBe(5050);
  });

  it('computes the change against the previous period to one decimal, null without a previous figure', () => {
    expect(changePct(150, 100)).toBe(50);
    expect(changePct(1, 3)).toBe(-66.7);
    expect(changePct(0.0321, 0.0195)).toBe(64.6);
    expect(changePct(5, 0)).toBeNull();
  });

  it('compares rates in percentage points', () => {
    expect(changePoints(50, 62.5)).toBe(-12.5);
    expect(changePoints(null, 40)).toBeNull();
  });

  it('draws shares and budget bars within 0–100 and names the budget level', () => {
    expect(sharePct(1, 4)).toBe(25);
    expect(sharePct(1, 0)).toBe(0);
    expect([barWidthPct(130), barWidthPct(-1), barWidthPct(null), barWidthPct(42.5)]).toEqual([100, 0, 0, 42.5]);
    expect([budgetLevel(10), budgetLevel(80), budgetLevel(100), budgetLevel(null)]).toEqual(['ok', 'warning', 'exceeded', 'none']);
  });
});
