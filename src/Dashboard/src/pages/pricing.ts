// Pricing: the models nobody prices (with their counts), the workspace's own prices, the catalog, and (admin)
// re-pricing the range's stored events after a price change.
import type { PageContext } from '../context';
import { h, replaceChildren } from '../dom';
import { apiQuery, rangeDays } from '../lib/filters';
import { formatCount, formatUsd } from '../lib/format';
import { localToday } from '../lib/time';
import type { Pricing, Unpriced } from '../types';
import { simpleTable } from '../ui';

interface RepriceResult {
  days: number;
  events_examined: number;
  events_changed: number;
  newly_priced: number;
  cost_delta_usd: number;
}

export async function pricingPage(context: PageContext): Promise<HTMLElement> {
  const { api, can, route } = context;
  const days = rangeDays(route.filters.range, localToday(context.now, context.timeZone));
  const [pricing, unpriced] = await Promise.all([api.get<Pricing>('/api/v1/pricing'), api.get<Unpriced>(`/api/v1/pricing/unpriced?${apiQuery(route.filters)}`)]);
  const perMillion = (value: number | null) => (value === null ? '—' : `$${value}`);

  const unpricedSection = h('section', { class: 'panel', id: 'unpriced', 'aria-labelledby': 'unpriced-title' }, h('h2', { id: 'unpriced-title' }, `Unpriced models, ${unpriced.from} to ${unpriced.to}`),
    unpriced.items.length === 0
      ? h('p', { class: 'empty' }, 'Every model used in this range has a price.')
      : simpleTable('Models neither the catalog nor an override prices: their events count tokens but no cost', ['Model', 'Unpriced events', 'Input tokens', 'Output tokens'],
          unpriced.items.map((m) => [m.model, formatCount(m.unpriced_events), formatCount(m.input_tokens), formatCount(m.output_tokens)]), [1, 2, 3]),
    h('p', { class: 'muted' }, 'An admin sets a price with PUT /api/v1/pricing/models/{model}; re-pricing then applies it to stored events.'));

  const overrides = h('section', { class: 'panel', 'aria-labelledby': 'overrides-title' }, h('h2', { id: 'overrides-title' }, 'This workspace\'s prices'),
    pricing.overrides.length === 0
      ? h('p', { class: 'empty' }, 'No overrides: the catalog prices every event.')
      : simpleTable('Overrides, USD per million tokens; they win over the catalog', ['Model', 'Input', 'Output', 'Cache read', 'From', 'Note'],
          pricing.overrides.map((o) => [o.model, perMillion(o.input), perMillion(o.output), perMillion(o.cache_read), o.effective_from ?? 'always', o.note ?? ''])));

  const catalog = h('section', { class: 'panel', 'aria-labelledby': 'catalog-title' }, h('h2', { id: 'catalog-title' }, `Catalog ${pricing.version}`),
    h('details', {}, h('summary', {}, `${pricing.models.length} models, USD per million tokens`),
      simpleTable('The price catalog: the latest price of each model', ['Provider', 'Model', 'Input', 'Output', 'Cache read', 'Cache write (5 min)', 'Since'],
        pricing.models.map((m) => {
          const price = m.prices[m.prices.length - 1];
          return [m.provider, m.model, perMillion(price.input), perMillion(price.output), perMillion(price.cache_read), perMillion(price.cache_write_5m), price.effective_from];
        }))));

  return h('div', { class: 'page pricing' }, h('h1', {}, 'Pricing'), unpricedSection, can.admin ? repriceSection(context, days) : null, overrides, catalog);
}

function repriceSection(context: PageContext, days: { from: string; to: string }): HTMLElement {
  const outcome = h('div', { 'aria-live': 'polite' });
  const button = h('button', { type: 'button', id: 'reprice' }, `Re-price ${days.from} to ${days.to}`);
  button.addEventListener('click', async () => {
    button.disabled = true;
    replaceChildren(outcome, h('p', { role: 'status' }, 'Re-pricing…'));
    try {
      const result = await context.api.post<RepriceResult>(`/api/v1/pricing/reprice?from=${days.from}&to=${days.to}`);
      replaceChildren(outcome, h('p', { class: 'notice', role: 'status', 'data-reprice': 'done', 'data-hold-refresh': 'true' },
        `${formatCount(result.days)} days, ${formatCount(result.events_examined)} events examined, ${formatCount(result.events_changed)} changed (${formatCount(result.newly_priced)} newly priced); spend moved by ${formatUsd(result.cost_delta_usd)}.`));
    } catch (error) {
      replaceChildren(outcome, h('p', { class: 'form-error', role: 'alert' }, error instanceof Error ? error.message : String(error)));
    }
    button.disabled = false;
  });
  return h('section', { class: 'panel', 'aria-labelledby': 'reprice-title' }, h('h2', { id: 'reprice-title' }, 'Re-price'),
    h('p', { class: 'muted' }, 'After a catalog or override change: recomputes the server\'s prices of the stored events of these days. A client\'s own cost never changes.'), button, outcome);
}
