// Building blocks of the pages: cards, share bars, sortable tables, and the designed loading, empty and error states.
import { ApiError } from './api';
import { h } from './dom';
import { type Trend, formatChange } from './lib/format';
import { barWidthPct, budgetLevel, sharePct } from './lib/metrics';
import { type Direction, type SortState, nextSort, sortRows } from './lib/sort';

export interface CardSpec {
  /** The API figure the card shows (the browser test compares data-value with the API's answer). */
  metric: string;
  label: string;
  value: number | null;
  text: string;
  change: number | null;
  changeUnit?: '%' | ' pp';
  /** For spend, up is bad; for success rate and time saved, up is good. */
  upIsGood: boolean;
  hint?: string;
}

export function card(spec: CardSpec): HTMLElement {
  const change = formatChange(spec.change, spec.changeUnit);
  const tone = toneOf(change.trend, spec.upIsGood);
  return h(
    'section',
    { class: 'card', 'data-metric': spec.metric, 'data-value': spec.value ?? '', 'aria-label': spec.label },
    h('h3', { class: 'card-label' }, spec.label),
    h('p', { class: 'card-value' }, spec.text),
    h('p', { class: `card-change ${tone}`, 'data-change': spec.change ?? '' }, change.text, h('span', { class: 'muted' }, ' vs previous period')),
    spec.hint ? h('p', { class: 'card-hint muted' }, spec.hint) : null,
  );
}

function toneOf(trend: Trend, upIsGood: boolean): string {
  if (trend === 'up') return upIsGood ? 'good' : 'bad';
  if (trend === 'down') return upIsGood ? 'bad' : 'good';
  return 'neutral';
}

export interface ShareRow {
  key: string | null;
  value: number;
  text: string;
  href?: string;
}

/** A ranked list with a bar per row, its width the row's share of the whole. */
export function shareList(title: string, rows: ShareRow[], emptyText: string, id: string): HTMLElement {
  const total = rows.reduce((sum, row) => sum + row.value, 0);
  const body = rows.length === 0
    ? h('p', { class: 'empty' }, emptyText)
    : h(
        'ol',
        { class: 'share-list' },
        ...rows.map((row) => {
          const share = sharePct(row.value, total);
          const label = row.key ?? '(none)';
          return h(
            'li',
            { 'data-key': label, 'data-value': row.value },
            h('span', { class: 'share-name' }, row.href ? h('a', { href: row.href }, label) : label),
            h('span', { class: 'share-figure' }, row.text),
            shareBar(share),
          );
        }),
      );
  return h('section', { class: 'panel', id, 'aria-labelledby': `${id}-title` }, h('h2', { id: `${id}-title` }, title), body);
}

/** A bar as wide as a share; its width is set through the style object (CSSOM), which the page's CSP allows. */
function shareBar(sharePercent: number): HTMLElement {
  const fill = h('span', { class: 'share-fill' });
  fill.style.width = `${sharePercent.toFixed(1)}%`;
  return h('span', { class: 'share-bar', 'aria-hidden': 'true', title: `${sharePercent.toFixed(1)}%` }, fill);
}

/** A budget bar: how much of the limit is used, coloured by level, with the exact figure as text. */
export function budgetBar(usedPct: number | null, label: string): HTMLElement {
  if (usedPct === null) return h('span', { class: 'muted' }, 'no budget');
  const level = budgetLevel(usedPct);
  return h(
    'span',
    { class: `budget ${level}`, 'data-budget-pct': usedPct },
    h('meter', { min: 0, max: 100, low: 79.9, high: 99.9, optimum: 0, value: barWidthPct(usedPct), 'aria-label': label }),
    h('span', { class: 'budget-text' }, `${usedPct.toFixed(1)}%`),
  );
}

export interface Column<T> {
  id: string;
  label: string;
  value?: (row: T) => string | number | null | undefined;
  cell: (row: T) => Node | string;
  numeric?: boolean;
  firstDirection?: Direction;
}

/**
 * A table whose column headers sort it (buttons, so the keyboard can too); aria-sort tells assistive
 * technology which column sorts and which way. `onSort` keeps the choice across refreshes.
 */
export function sortableTable<T>(caption: string, columns: Column<T>[], rows: T[], sort: SortState, onSort: (sort: SortState) => void, rowKey: (row: T) => string): HTMLElement {
  const sortColumn = columns.find((c) => c.id === sort.column && c.value);
  const sorted = sortColumn ? sortRows(rows, sortColumn.value!, sort.direction) : rows;
  const head = h(
    'tr',
    {},
    ...columns.map((column) => {
      const active = column.id === sort.column;
      const ariaSort = active ? (sort.direction === 'asc' ? 'ascending' : 'descending') : column.value ? 'none' : null;
      const content = column.value
        ? h('button', { type: 'button', class: 'sort', 'data-sort': column.id, onclick: () => onSort(nextSort(sort, column.id, column.firstDirection ?? 'desc')) },
            column.label, h('span', { class: 'sort-mark', 'aria-hidden': 'true' }, active ? (sort.direction === 'asc' ? ' ▲' : ' ▼') : ''))
        : column.label;
      return h('th', { scope: 'col', class: column.numeric ? 'num' : null, 'aria-sort': ariaSort }, content);
    }),
  );
  const body = sorted.map((row) => h('tr', { 'data-row': rowKey(row) }, ...columns.map((c) => h('td', { class: c.numeric ? 'num' : null }, c.cell(row)))));
  return h('div', { class: 'table-wrap' }, h('table', {}, h('caption', {}, caption), h('thead', {}, head), h('tbody', {}, ...body)));
}

export function simpleTable(caption: string, headers: string[], rows: (Node | string)[][], numeric: number[] = []): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, ...headers.map((text, i) => h('th', { scope: 'col', class: numeric.includes(i) ? 'num' : null }, text)))),
      h('tbody', {}, ...rows.map((cells) => h('tr', {}, ...cells.map((cell, i) => h('td', { class: numeric.includes(i) ? 'num' : null }, cell))))),
    ),
  );
}

export function loadingState(what: string): HTMLElement {
  return h('div', { class: 'state loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), `Loading ${what}…`);
}

export function emptyState(title: string, advice: string): HTMLElement {
  return h('div', { class: 'state empty', 'data-empty': 'true' }, h('h2', {}, title), h('p', {}, advice));
}

export function errorState(error: unknown, retry: () => void): HTMLElement {
  const problem = error instanceof ApiError ? error : null;
  const title = problem ? `${problem.title} (${problem.status})` : 'Something went wrong';
  const detail = problem ? problem.detail : error instanceof Error ? error.message : String(error);
  return h(
    'div',
    { class: 'state error', role: 'alert' },
    h('h2', {}, title),
    h('p', {}, detail),
    h('button', { type: 'button', onclick: retry }, 'Try again'),
  );
}

export function statusBadge(status: string): HTMLElement {
  return h('span', { class: `badge status-${status}` }, status.replace(/_/g, ' '));
}
