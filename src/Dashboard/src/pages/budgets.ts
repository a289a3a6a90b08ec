// Budgets and alerts: each budget's use of its limit, the alert history with its delivery, and (admin) the
// webhooks alerts are sent to, with a form to add one.
import type { PageContext } from '../context';
import { h, replaceChildren } from '../dom';
import { formatCount, formatTokens, formatUsd } from '../lib/format';
import { dateTimeLabel } from '../lib/time';
import type { Alert, Budget, Webhook } from '../types';
import { budgetBar, emptyState, simpleTable, statusBadge } from '../ui';

export async function budgetsPage(context: PageContext): Promise<HTMLElement> {
  const { api, can } = context;
  const [budgets, alerts, webhooks] = await Promise.all([
    api.get<{ items: Budget[] }>('/api/v1/budgets'),
    api.get<{ items: Alert[] }>('/api/v1/alerts?limit=50'),
    can.admin ? api.get<{ items: Webhook[] }>('/api/v1/alerts/webhooks') : Promise.resolve(null),
  ]);
  const amount = (b: Budget, value: number) => (b.metric === 'cost_usd' ? formatUsd(value) : b.metric === 'tokens' ? formatTokens(value) : formatCount(value));

  const budgetSection = h('section', { class: 'panel', 'aria-labelledby': 'budgets-title' }, h('h2', { id: 'budgets-title' }, 'Budgets'),
    budgets.items.length === 0
      ? emptyState('No budgets', 'An admin creates them with POST /api/v1/budgets (see README): a limit per workspace, team, user, agent, model or key.')
      : simpleTable('Each budget\'s use of its limit in the current period', ['Budget', 'Applies to', 'Period', 'Used', 'Limit', 'Use', 'Status', 'Action'],
          budgets.items.map((b) => [b.name, b.scope_value ? `${b.scope} ${b.scope_value}` : b.scope, b.period, amount(b, b.usage.used), amount(b, b.limit),
            budgetBar(b.usage.used_pct, `${b.name}: used`), statusBadge(b.usage.status), b.action]), [3, 4]));

  const alertSection = h('section', { class: 'panel', 'aria-labelledby': 'alerts-title' }, h('h2', { id: 'alerts-title' }, 'Alert history'),
    alerts.items.length === 0
      ? h('p', { class: 'empty', 'data-empty': 'true' }, 'No alerts yet: budget thresholds, spend spikes, unpriced models and poisoned ingest messages raise them.')
      : simpleTable('Alerts, newest first, with their delivery', ['Raised', 'Kind', 'Message', 'Delivery', 'Attempts', 'Last error'],
          alerts.items.map((a) => [dateTimeLabel(a.raised_at, context.timeZone), a.kind.replace(/_/g, ' '), a.message, statusBadge(a.status), formatCount(a.attempts), a.last_error ?? '—']), [4]));

  return h('div', { class: 'page budgets' }, h('h1', {}, 'Budgets & alerts'), budgetSection, alertSection, webhooks ? webhookSection(context, webhooks.items) : null);
}

function webhookSection(context: PageContext, webhooks: Webhook[]): HTMLElement {
  const url = h('input', { id: 'webhook-url', name: 'url', type: 'url', required: true, placeholder: 'https://hooks.example.com/agentspend' });
  const format = h('select', { id: 'webhook-format', name: 'format' }, h('option', { value: 'json' }, 'JSON (signed)'), h('option', { value: 'slack' }, 'Slack'));
  const outcome = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'inline-form', 'aria-labelledby': 'webhook-form-title' },
    h('h3', { id: 'webhook-form-title' }, 'Add a webhook'),
    h('div', { class: 'field' }, h('label', { for: 'webhook-url' }, 'URL'), url),
    h('div', { class: 'field' }, h('label', { for: 'webhook-format' }, 'Format'), format),
    h('button', { type: 'submit' }, 'Add webhook'),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const created = await context.api.post<Webhook>('/api/v1/alerts/webhooks', { url: url.value, format: format.value });
      // The secret is shown this once: the receiver verifies each delivery's signature with it.
      replaceChildren(outcome, h('p', { class: 'notice', role: 'status', 'data-hold-refresh': 'true' }, 'Webhook added. Its signing secret, shown this once: ', h('code', {}, created.secret ?? '')));
      form.reset();
    } catch (error) {
      replaceChildren(outcome, h('p', { class: 'form-error', role: 'alert' }, error instanceof Error ? error.message : String(error)));
    }
  });
  return h('section', { class: 'panel', 'aria-labelledby': 'webhooks-title' }, h('h2', { id: 'webhooks-title' }, 'Webhooks'),
    webhooks.length === 0 ? h('p', { class: 'empty' }, 'No webhooks: alerts are recorded but sent nowhere.')
      : simpleTable('Where alerts are delivered', ['URL', 'Format', 'Kinds', 'Enabled'], webhooks.map((w) => [w.url, w.format, w.kinds?.join(', ') ?? 'all', w.enabled ? 'yes' : 'no'])),
    form, outcome);
}
