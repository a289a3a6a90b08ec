// The spend trend, drawn with uPlot (small and fast: see docs/dashboard.md). The x axis is the point's index;
// its labels are the workspace-local days or hours, so the browser's own timezone never shows.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { h } from './dom';
import { formatUsd } from './lib/format';

export interface TrendChart {
  element: HTMLElement;
  /** Draws the chart once its element is in the document (uPlot measures its container). */
  mount(): void;
  destroy(): void;
}

export function trendChart(id: string, title: string, labels: string[], values: number[]): TrendChart {
  const total = values.reduce((sum, v) => sum + v, 0);
  const plot = h('div', { class: 'chart-plot', role: 'img', 'aria-label': `${title}: ${formatUsd(total)} in all over ${labels.length} points` });
  const table = h(
    'details',
    { class: 'chart-table' },
    h('summary', {}, 'Show as a table'),
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'When'), h('th', { scope: 'col', class: 'num' }, 'Spend'))),
      h('tbody', {}, ...labels.map((label, i) => h('tr', {}, h('td', {}, label), h('td', { class: 'num' }, formatUsd(values[i]))))),
    ),
  );
  const element = h(
    'figure',
    { class: 'panel chart', id, 'data-total': Number(total.toFixed(9)), 'data-points': values.length, 'aria-labelledby': `${id}-title` },
    h('figcaption', {}, h('h2', { id: `${id}-title` }, title)),
    plot,
    table,
  );

  let chart: uPlot | null = null;
  let observer: ResizeObserver | null = null;
  const size = () => ({ width: Math.max(280, plot.clientWidth), height: 220 });
  return {
    element,
    mount() {
      const xs = values.map((_, i) => i);
      // As many labels as fit (about 90 px each), so a phone's narrow chart does not overlap them.
      const everyNth = (u: uPlot) => Math.max(1, Math.ceil(labels.length / Math.max(2, Math.floor(u.width / 90))));
      chart = new uPlot(
        {
          ...size(),
          legend: { show: false },
          cursor: { drag: { x: false, y: false } },
          scales: { x: { time: false, range: [-0.5, Math.max(0.5, values.length - 0.5)] }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
          axes: [
            { stroke: '#374151', grid: { show: false }, splits: (u) => xs.filter((i) => i % everyNth(u) === 0), values: (_u, splits) => splits.map((i) => labels[i] ?? '') },
            { stroke: '#374151', grid: { stroke: '#e5e7eb' }, size: 64, values: (_u, splits) => splits.map((v) => formatUsd(v)) },
          ],
          series: [{}, { label: 'Spend', stroke: '#1d4ed8', fill: 'rgba(29, 78, 216, 0.25)', width: 1, paths: uPlot.paths.bars!({ size: [0.7, 40] }), points: { show: false } }],
        },
        [xs, values],
        plot,
      );
      observer = new ResizeObserver(() => chart?.setSize(size()));
      observer.observe(plot);
    },
    destroy() {
      observer?.disconnect();
      chart?.destroy();
    },
  };
}
