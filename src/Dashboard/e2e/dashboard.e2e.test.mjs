// Browser tests of the dashboard: a seeded workspace, the real app, headless Debian Chromium driven by
// playwright-core. Run by scripts/test-dashboard.sh (which starts Azurite and the app and sets the variables).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, copyFileSync, mkdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const BASE = process.env.AGENTSPEND_URL ?? 'http://127.0.0.1:7071';
const ADMIN_KEY = process.env.AGENTSPEND_KEY ?? '';
const ARTIFACTS = process.env.AGENTSPEND_ARTIFACTS ?? join(here, '..', '..', '..', 'artifacts', 'dashboard');
const FIRST_RENDER_BUDGET_MS = 1000;
const BUNDLE_BUDGET_BYTES = 300 * 1024;
const RUN = Date.now().toString(36); // keeps ids unique if the tests run twice against one storage

// The seeded workspace: six events with exact costs, all inside the last 7 days whatever the timezone.
const hoursAgo = (h) => new Date(Date.now() - h * 3600_000).toISOString();
const SEED = [
  { agent_name: 'pr-reviewer', provider: 'anthropic', model: 'claude-sonnet-4-5', timestamp: hoursAgo(0.5), input_tokens: 10000, output_tokens: 2000, cache_read_tokens: 5000, cost_usd: 0.5, task_success: true, task_type: 'review', duration_ms: 4000, user_id: 'ana', team: 'platform', run_id: `run-a-${RUN}`, session_id: `sess-a-${RUN}` },
  { agent_name: 'pr-reviewer', provider: 'anthropic', model: 'claude-sonnet-4-5', timestamp: hoursAgo(0.7), input_tokens: 8000, output_tokens: 1500, cost_usd: 0.4, task_success: true, task_type: 'review', duration_ms: 3000, user_id: 'ana', team: 'platform', run_id: `run-a-${RUN}`, session_id: `sess-a-${RUN}` },
  { agent_name: 'pr-reviewer', provider: 'anthropic', model: 'claude-sonnet-4-5', timestamp: hoursAgo(26), input_tokens: 12000, output_tokens: 3000, cost_usd: 0.6, task_success: false, user_id: 'ana', team: 'platform', run_id: `run-b-${RUN}` },
  { agent_name: 'test-writer', provider: 'openai', model: 'gpt-5', timestamp: hoursAgo(2), input_tokens: 5000, output_tokens: 1000, cost_usd: 0.1, task_success: true, user_id: 'bo', team: 'apps', run_id: `run-c-${RUN}` },
  { agent_name: 'test-writer', provider: 'openai', model: 'gpt-5', timestamp: hoursAgo(50), input_tokens: 3000, output_tokens: 500, cost_usd: 0.05, user_id: 'bo', team: 'apps', run_id: `run-d-${RUN}` },
  { agent_name: 'doc-bot', provider: 'acme', model: 'acme-writer-1', timestamp: hoursAgo(3), input_tokens: 700, output_tokens: 70, user_id: 'cy', team: 'apps' },
].map((event, i) => ({ ...event, idempotency_key: `e2e-${RUN}-${i}` }));
// What the input implies, worked out by hand: the overview must count exactly this.
const EXPECTED = { events: 6, cost_usd: 1.65, tokens: 38700 + 8070 + 5000, unpriced_events: 1, success_rate_pct: 75 };

let browser;
const timings = [];

async function api(path, { key = ADMIN_KEY, method = 'GET', body } = {}) {
  const response = await fetch(BASE + path, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path} answered ${response.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

async function newKey(scopes) {
  return (await api('/api/v1/keys', { method: 'POST', body: { name: `e2e ${scopes.join('+')}`, scopes } })).key;
}

/** A page signed in with the key (kept in that tab's sessionStorage, as a user's would be). */
async function signedInPage(key = ADMIN_KEY, viewport = { width: 1366, height: 900 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on('pageerror', (error) => assert.fail(`The page threw: ${error.message}`));
  await page.goto(`${BASE}/dashboard/`);
  await page.fill('#api-key', key);
  await page.click('button[type=submit]');
  await page.waitForSelector('main[data-state="ready"], main[data-state="empty"]');
  return page;
}

/**
 * Opens a dashboard URL in a fresh load, measures the time to its first complete render and holds it to the budget:
 * every load is held to it, the first after the app started (cold API code and caches) included.
 */
async function openAndTime(page, hash, name) {
  await page.goto('about:blank'); // so the next is a full load (HTML, script, the page's API calls), not a hash change
  const started = performance.now();
  await page.goto(`${BASE}/dashboard/${hash}`);
  await page.waitForSelector('main[data-state="ready"]');
  const ms = Math.round(performance.now() - started);
  timings.push({ name, ms });
  assert.ok(ms < FIRST_RENDER_BUDGET_MS, `${name} took ${ms} ms to render (budget ${FIRST_RENDER_BUDGET_MS} ms)`);
  return ms;
}

function rendersOf(page) {
  return page.$eval('main', (m) => Number(m.dataset.renders ?? 0));
}

async function waitForRenderAfter(page, count) {
  await page.waitForFunction((n) => Number(document.querySelector('main')?.dataset.renders ?? 0) > n && document.querySelector('main')?.dataset.state === 'ready', count);
}

/** The number a card shows, read back from its text ("$1.65" → 1.65, "51.8K" → 51800, "75.0%" → 75). */
function numberIn(text) {
  const match = text.replace(/,/g, '').match(/-?[\d.]+\s*([KMB])?/);
  assert.ok(match, `no number in "${text}"`);
  const scale = { K: 1e3, M: 1e6, B: 1e9 }[match[1]] ?? 1;
  return parseFloat(match[0]) * scale;
}

async function cardsOf(page) {
  return page.$$eval('[data-metric]', (cards) => cards.map((c) => ({
    metric: c.dataset.metric, value: c.dataset.value, text: (c.querySelector('.card-value') ?? c).textContent.trim(),
  })));
}

/** Every card's number equals the API's answer for the same filters, in its data and, to its shown precision, in its text. */
async function assertCardsMatchApi(page, query) {
  const overview = await api(`/api/v1/metrics/overview?${query}`);
  const efficiency = await api(`/api/v1/metrics/efficiency?${query}`);
  const expected = {
    cost_usd: overview.cost_usd,
    events: overview.events,
    tokens: overview.input_tokens + overview.output_tokens + overview.cache_read_tokens + overview.cache_write_tokens,
    unpriced_events: overview.unpriced_events,
    success_rate_pct: overview.success_rate_pct,
    saved_hours: efficiency.time_saved.saved_hours,
  };
  const cards = Object.fromEntries((await cardsOf(page)).map((c) => [c.metric, c]));
  for (const [metric, value] of Object.entries(expected)) {
    assert.ok(cards[metric], `no card shows ${metric}`);
    assert.equal(cards[metric].value === '' ? null : Number(cards[metric].value), value, `${metric}: the card's figure differs from the API's`);
    if (value !== null) {
      const shown = numberIn(cards[metric].text);
      const tolerance = Math.max(Math.abs(value) * 0.005, 0.00005);
      assert.ok(Math.abs(shown - value) <= tolerance, `${metric}: the card reads "${cards[metric].text}", the API says ${value}`);
    }
  }
  return { overview, expected };
}

async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

before(async () => {
  assert.ok(ADMIN_KEY, 'AGENTSPEND_KEY is not set: run scripts/test-dashboard.sh');
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
  });
  const accepted = await api('/api/v1/ingest', { method: 'POST', body: { events: SEED } });
  assert.equal(accepted.accepted, SEED.length);
  // Aggregation runs off the queue: wait until the overview counts every seeded event.
  const deadline = Date.now() + 60_000;
  let overview;
  do {
    overview = await api('/api/v1/metrics/overview?range=7d');
    if (overview.events >= EXPECTED.events) break;
    await new Promise((r) => setTimeout(r, 200));
  } while (Date.now() < deadline);
  assert.equal(overview.events, EXPECTED.events, 'the seeded events were not all counted within 60 s');
});

after(async () => {
  await browser?.close();
  const print = (title, rows) => {
    if (rows.length === 0) return;
    console.log(title);
    for (const t of rows) console.log(`  ${t.name.padEnd(16)} ${String(t.ms).padStart(5)} ms`);
  };
  // A full load of the page's URL until it is drawn with all its data, in headless Chromium.
  print(`Full loads until drawn with their data, in order (each asserted < ${FIRST_RENDER_BUDGET_MS} ms; the first of each API after the app started among them):`, timings);
});

describe('the dashboard', () => {
  test('the overview shows the seeded totals exactly, each card equal to the API, and warns of the concentration', async () => {
    const page = await signedInPage();
    await openAndTime(page, '#/overview?range=7d', 'overview');
    const { overview, expected } = await assertCardsMatchApi(page, 'range=7d');

    assert.equal(overview.events, EXPECTED.events);
    assert.equal(overview.cost_usd, EXPECTED.cost_usd);
    assert.equal(expected.tokens, EXPECTED.tokens);
    assert.equal(overview.unpriced_events, EXPECTED.unpriced_events);
    assert.equal(overview.success_rate_pct, EXPECTED.success_rate_pct);
    assert.match(await page.textContent('.banner.warning'), /anthropic/);
    // Month to date is a sum; the projection moves with the clock between the page's call and this one.
    const burn = await api('/api/v1/metrics/burn-rate');
    assert.equal(Number(await page.getAttribute('[data-metric="month_to_date_cost_usd"]', 'data-value')), burn.month_to_date_cost_usd);
    const projected = Number(await page.getAttribute('[data-metric="projected_month_end_usd"]', 'data-value'));
    assert.ok(Math.abs(projected - burn.projected_month_end_usd) <= burn.projected_month_end_usd * 0.01, `projected ${projected}, the API now ${burn.projected_month_end_usd}`);
    assert.deepEqual(await page.$$eval('#by-provider li', (items) => items.map((i) => i.dataset.key)), ['anthropic', 'openai', 'acme']);
    await screenshot(page, 'overview-seeded');
    if (process.env.AGENTSPEND_UPDATE_DOCS_SCREENSHOT === '1') {
      copyFileSync(join(ARTIFACTS, 'overview-seeded.png'), join(here, '..', '..', '..', 'docs', 'dashboard-overview.png'));
    }
    await page.context().close();
  });

  test('a filter lives in the URL and changes the charts and cards to the API\'s filtered answer', async () => {
    const page = await signedInPage();
    await openAndTime(page, '#/overview?range=7d', 'overview');
    const before = Number(await page.getAttribute('#spend-trend', 'data-total'));
    const renders = await rendersOf(page);

    await page.fill('#filter-provider', 'openai');
    await page.press('#filter-provider', 'Enter');
    await page.locator('#filter-provider').blur();
    await waitForRenderAfter(page, renders);

    assert.match(page.url(), /[?&]provider=openai/);
    const series = await api('/api/v1/metrics/timeseries?granularity=day&range=7d&provider=openai');
    const after = Number(await page.getAttribute('#spend-trend', 'data-total'));
    assert.equal(before, EXPECTED.cost_usd);
    assert.equal(after, Number(series.points.reduce((s, p) => s + p.cost_usd, 0).toFixed(9)));
    assert.equal(after, 0.15);
    assert.deepEqual(await page.$$eval('#by-provider li', (items) => items.map((i) => i.dataset.key)), ['openai']);
    await assertCardsMatchApi(page, 'range=7d&provider=openai');

    // The link alone opens the same view: a shared URL shows what its sender saw.
    const shared = await signedInPage();
    await shared.goto(page.url());
    await shared.waitForSelector('main[data-state="ready"]');
    assert.equal(Number(await shared.getAttribute('#spend-trend', 'data-total')), 0.15);
    assert.equal(await shared.inputValue('#filter-provider'), 'openai');

    // The agents table takes the same filter: each agent's spend on openai only, and only the agents with some.
    await shared.goto(page.url().replace('#/overview', '#/agents'));
    await shared.waitForSelector('main[data-state="ready"] tr[data-row]');
    const filteredAgents = (await api('/api/v1/agents?provider=openai')).agents;
    assert.deepEqual(
      await shared.$$eval('tr[data-row]', (rows) => rows.map((r) => r.dataset.row).sort()),
      filteredAgents.map((a) => a.name).sort());
    assert.equal(filteredAgents.reduce((s, a) => s + a.all_time.cost_usd, 0).toFixed(2), '0.15');

    // So do the runs (those that used an openai model) and the unpriced models (acme's is not openai's).
    await shared.goto(page.url().replace('#/overview', '#/runs'));
    await shared.waitForSelector('main[data-state="ready"] tr[data-row]');
    const filteredRuns = (await api('/api/v1/runs?range=7d&provider=openai')).items.map((r) => r.id);
    assert.ok(filteredRuns.length > 0 && filteredRuns.length < (await api('/api/v1/runs?range=7d')).items.length);
    assert.deepEqual(await shared.$$eval('tr[data-row]', (rows) => rows.map((r) => r.dataset.row).sort()), filteredRuns.sort());
    await shared.goto(page.url().replace('#/overview', '#/pricing'));
    await shared.waitForSelector('main[data-state="ready"]');
    assert.doesNotMatch(await shared.textContent('#unpriced'), /acme-writer-1/);
    assert.deepEqual((await api('/api/v1/pricing/unpriced?range=7d&provider=openai')).items, []);

    // Hour by hour for today, labelled in the workspace's timezone.
    await page.selectOption('#filter-range', 'today');
    await page.waitForFunction(() => location.hash.includes('range=today') && document.querySelector('main')?.dataset.state === 'ready' && document.querySelector('#spend-trend h2')?.textContent?.includes('hour'));
    await assertCardsMatchApi(page, 'range=today&provider=openai');
    await page.context().close();
    await shared.context().close();
  });

  test('an admin kills and resumes an agent with its buttons; a read key sees no buttons', async () => {
    const page = await signedInPage();
    await openAndTime(page, '#/agents?range=7d', 'agents');
    page.on('dialog', (dialog) => dialog.accept());
    const row = page.locator('tr[data-row="pr-reviewer"]');

    await row.locator('button[data-action="kill"]').click();
    await row.locator('.badge.status-killed').waitFor();
    assert.equal((await api('/api/v1/agents')).agents.find((a) => a.name === 'pr-reviewer').status, 'killed');
    const check = await fetch(`${BASE}/api/v1/check`, { method: 'POST', headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ agent_name: 'pr-reviewer', estimated_cost_usd: 0.01 }) });
    assert.equal(check.status, 429);
    await screenshot(page, 'agents-killed');

    await row.locator('button[data-action="resume"]').click();
    await row.locator('button[data-action="kill"]').waitFor();
    assert.notEqual((await api('/api/v1/agents')).agents.find((a) => a.name === 'pr-reviewer').status, 'killed');
    await page.context().close();

    const reader = await signedInPage(await newKey(['read']));
    await reader.goto(`${BASE}/dashboard/#/agents?range=7d`);
    await reader.waitForSelector('tr[data-row="pr-reviewer"]');
    assert.equal(await reader.locator('button[data-action]').count(), 0);
    assert.equal(await reader.locator('nav a', { hasText: 'Import' }).count(), 0);
    await reader.context().close();
  });

  test('a file dropped on the import page is uploaded, and the result names each bad line', async () => {
    const page = await signedInPage();
    await openAndTime(page, '#/import', 'import');
    const now = new Date().toISOString();
    const lines = [
      JSON.stringify({ timestamp: now, model: 'claude-sonnet-4-5', input_tokens: 100, output_tokens: 20, cost_usd: 0.01, request_id: `imp-1-${RUN}`, agent_name: 'importer' }),
      'this is not json',
      JSON.stringify({ timestamp: now, model: 'claude-sonnet-4-5', input_tokens: -5, output_tokens: 20, request_id: `imp-2-${RUN}`, agent_name: 'importer' }),
      JSON.stringify({ timestamp: now, model: 'gpt-5', prompt_tokens: 300, completion_tokens: 40, id: `imp-3-${RUN}`, agent_name: 'importer' }),
    ].join('\n');
    const dataTransfer = await page.evaluateHandle((text) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([text], 'usage-export.jsonl', { type: 'application/x-ndjson' }));
      return transfer;
    }, lines);
    await page.dispatchEvent('.drop-zone', 'drop', { dataTransfer });
    await page.waitForSelector('[data-import="done"]');

    const count = async (name) => Number(await page.getAttribute(`[data-count="${name}"]`, 'data-value'));
    assert.deepEqual([await count('lines'), await count('imported'), await count('rejected')], [4, 2, 2]);
    assert.equal(await page.getAttribute('#import-progress', 'value'), '100');
    const errors = await page.$$eval('[data-import] tbody tr', (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
    assert.deepEqual(errors, [['2', 'line', 'is not valid JSON.'], ['3', 'input_tokens', 'must not be negative.']]);
    await screenshot(page, 'import-result');
    await page.context().close();
  });

  test('every page renders completely in under a second, and each is saved as a screenshot', async () => {
    const page = await signedInPage();
    const runs = await api('/api/v1/runs?range=7d');
    const sessions = await api('/api/v1/sessions?range=7d');
    const pages = [
      ['overview', '#/overview?range=7d'],
      ['overview-today', '#/overview?range=today'],
      ['agents', '#/agents?range=7d'],
      ['agent', '#/agents/pr-reviewer?range=7d'],
      ['runs', '#/runs?range=7d'],
      ['run', `#/runs/${encodeURIComponent(runs.items[0].id)}?range=7d`],
      ['sessions', '#/sessions?range=7d'],
      ['session', `#/sessions/${encodeURIComponent(sessions.items[0].id)}?range=7d`],
      ['budgets', '#/budgets?range=7d'],
      ['pricing', '#/pricing?range=7d', () => page.textContent('#unpriced').then((text) => assert.match(text, /acme-writer-1/))],
      ['import', '#/import?range=7d'],
    ];
    for (const [name, hash, check] of pages) {
      await openAndTime(page, hash, name);
      await screenshot(page, name);
      await check?.();
    }
    await page.context().close();
  });

  test('on a phone the overview fits the screen without sideways scrolling', async () => {
    const page = await signedInPage(ADMIN_KEY, { width: 390, height: 844 });
    await openAndTime(page, '#/overview?range=7d', 'overview-phone');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone's screen`);
    await screenshot(page, 'overview-phone');
    await page.context().close();
  });

  test('the keyboard alone signs in, moves between pages and sorts a table', async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${BASE}/dashboard/`);
    await page.keyboard.type(ADMIN_KEY); // the key field has the focus on arrival
    await page.keyboard.press('Enter');
    await page.waitForSelector('main[data-state="ready"]');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    await page.locator('nav a', { hasText: 'Agents' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForSelector('tr[data-row]');
    const renders = await rendersOf(page);
    await page.locator('button[data-sort="name"]').focus();
    await page.keyboard.press('Enter');
    await waitForRenderAfter(page, renders);
    assert.equal(await page.getAttribute('th:has(button[data-sort="name"])', 'aria-sort'), 'ascending');
    const names = (await api('/api/v1/agents')).agents.map((a) => a.name).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    assert.ok(names.length >= 3);
    assert.deepEqual(await page.$$eval('tbody tr[data-row]', (rows) => rows.map((r) => r.dataset.row)), names);
    await context.close();
  });

  test('every page draws itself again each minute, with what arrived meanwhile', async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const page = await context.newPage();
    await page.clock.install(); // the page's timers run on a clock the test moves
    await page.goto(`${BASE}/dashboard/#/overview?range=7d`);
    await page.fill('#api-key', ADMIN_KEY);
    await page.click('button[type=submit]');
    await page.waitForSelector('main[data-state="ready"]');
    // The installed clock keeps pace with real time until paused: stop it here, a few seconds at most after the
    // page set its timer, so that waiting for the new event below does not move the page's minute on. Paused 2 s
    // ahead of the page's now: on a busy machine the clock runs on between reading it and pausing it, and a pause
    // in its past is refused; 2 s + the 55 s below stay short of the minute.
    await page.clock.pauseAt(await page.evaluate(() => Date.now() + 2_000));
    const shown = Number(await page.getAttribute('[data-metric="events"]', 'data-value'));
    const renders = await rendersOf(page);

    await api('/api/v1/ingest', { method: 'POST', body: { events: [{ ...SEED[3], timestamp: new Date().toISOString(), idempotency_key: `e2e-${RUN}-late` }] } });
    const deadline = Date.now() + 60_000;
    while ((await api('/api/v1/metrics/overview?range=7d')).events <= shown && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    await page.clock.runFor(55_000);
    assert.equal(await rendersOf(page), renders, 'drawn again before the minute was up');
    await page.clock.runFor(6_000);
    await waitForRenderAfter(page, renders);

    assert.equal(Number(await page.getAttribute('[data-metric="events"]', 'data-value')), shown + 1);

    // The import page has nothing to refresh, and redrawing it would wipe an import's result.
    await page.goto(`${BASE}/dashboard/#/import?range=7d`);
    await page.waitForSelector('main[data-state="ready"] .drop-zone');
    const importRenders = await rendersOf(page);
    await page.clock.runFor(121_000);
    assert.equal(await rendersOf(page), importRenders);
    await context.close();
  });

  test('a key the server refuses is asked for again, with the reason', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${BASE}/dashboard/`);
    await page.fill('#api-key', 'as_default_not-a-key');
    await page.click('button[type=submit]');
    assert.match(await page.textContent('.form-error'), /not accepted/);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    await context.close();
  });

  test('the built assets are under 300 KB gzipped, and none comes from another origin', () => {
    const dist = join(here, '..', 'dist');
    const files = [];
    const walk = (folder) => {
      for (const name of readdirSync(folder)) {
        const path = join(folder, name);
        if (statSync(path).isDirectory()) walk(path);
        else files.push(path);
      }
    };
    walk(dist);
    const gzipped = files.reduce((sum, f) => sum + gzipSync(readFileSync(f), { level: 9 }).length, 0);
    console.log(`Built dashboard: ${files.length} files, ${(gzipped / 1024).toFixed(1)} KB gzipped (budget ${BUNDLE_BUDGET_BYTES / 1024} KB)`);
    assert.ok(gzipped < BUNDLE_BUDGET_BYTES, `${gzipped} bytes gzipped`);
    const html = readFileSync(join(dist, 'index.html'), 'utf8');
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//);
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script: the page\'s CSP allows none');
  });
});
