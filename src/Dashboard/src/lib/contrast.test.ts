import { describe, expect, it } from 'vitest';
import css from '../styles.css?raw';
import { contrastRatio } from './contrast';

// The palette as styles.css defines it, so a colour changed there is checked here.
const colour = (name: string) => {
  const match = css.match(new RegExp(`--${name}:\\s*(#[0-9a-fA-F]{3,6})`));
  if (!match) throw new Error(`styles.css defines no --${name}`);
  return match[1];
};

describe('colour contrast (WCAG AA)', () => {
  it('computes the ratio as WCAG defines it', () => {
    expect(contrastRatio('#000000', '#ffffff')).toBeCloseTo(21, 5);
    expect(contrastRatio('#ffffff', '#ffffff')).toBe(1);
    expect(contrastRatio('#777', '#fff')).toBeCloseTo(4.48, 2);
  });

  it('gives every text colour at least 4.5:1 on the backgrounds it is used on', () => {
    const pairs: [string, string][] = [
      ['text', 'surface'], ['text', 'page'], ['muted', 'surface'], ['muted', 'page'], ['accent', 'surface'], ['accent', 'page'],
      ['good', 'surface'], ['bad', 'surface'], ['warn-text', 'warn-bg'],
    ];
    for (const [text, background] of pairs) {
      expect(contrastRatio(colour(text), colour(background)), `${text} on ${background}`).toBeGreaterThanOrEqual(4.5);
    }
    expect(contrastRatio('#ffffff', colour('accent')), 'button text').toBeGreaterThanOrEqual(4.5);
    expect(contrastRatio('#ffffff', colour('bad')), 'danger button text').toBeGreaterThanOrEqual(4.5);
    expect(contrastRatio('#f9fafb', '#111827'), 'header').toBeGreaterThanOrEqual(4.5);
  });
});
