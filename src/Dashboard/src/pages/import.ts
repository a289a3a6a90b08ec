// Import: a session file (Claude Code, Codex) or a provider's usage export (CSV or JSON), dropped on the page
// or chosen, uploaded with progress; the answer's counts and each bad line's number and reason.
import type { PageContext } from '../context';
import { h, replaceChildren } from '../dom';
import { formatCount } from '../lib/format';
import type { ImportResult } from '../types';
import { errorState, simpleTable } from '../ui';

const FORMATS: [string, string][] = [
  ['auto', 'Detect from the first line'],
  ['claude-code-jsonl', 'Claude Code session (JSONL)'],
  ['codex-jsonl', 'Codex rollout (JSONL)'],
  ['csv', 'Provider export (CSV)'],
  ['json', 'Provider export (JSON)'],
];

export async function importPage(context: PageContext): Promise<HTMLElement> {
  const format = h('select', { id: 'import-format', name: 'format' }, ...FORMATS.map(([value, label]) => h('option', { value }, label)));
  const input = h('input', { id: 'import-file', name: 'file', type: 'file', accept: '.jsonl,.json,.csv,.ndjson,.txt', class: 'visually-hidden' });
  const zone = h('label', { class: 'drop-zone', for: 'import-file', tabindex: '0', 'data-drop': 'true' },
    h('strong', {}, 'Drop a file here'), h('span', {}, ' or press Enter to choose one'), h('span', { class: 'muted block' }, 'Session files and provider exports up to 100 MiB.'));
  const progress = h('progress', { id: 'import-progress', max: 100, value: 0, hidden: true, 'aria-label': 'Upload progress' });
  const outcome = h('div', { id: 'import-result', 'aria-live': 'polite' });

  const upload = async (file: File) => {
    progress.hidden = false;
    progress.value = 0;
    replaceChildren(outcome, h('p', { role: 'status' }, `Uploading ${file.name}…`));
    try {
      const result = await context.api.upload<ImportResult>(`/api/v1/import?format=${format.value}`, file, (fraction) => (progress.value = Math.round(fraction * 100)));
      replaceChildren(outcome, resultView(file.name, result));
    } catch (error) {
      replaceChildren(outcome, errorState(error, () => void upload(file)));
    }
  };
  input.addEventListener('change', () => {
    if (input.files?.[0]) void upload(input.files[0]);
  });
  zone.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      input.click();
    }
  });
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    const file = e.dataTransfer?.files[0];
    if (file) void upload(file);
  });

  // Nothing on this page changes by itself: the minute's refresh leaves it (and an import's result) alone.
  return h('div', { class: 'page import', 'data-hold-refresh': 'true' }, h('h1', {}, 'Import'),
    h('p', {}, 'Counts what agents and providers already wrote to disk. Importing the same file again counts nothing twice.'),
    h('div', { class: 'field' }, h('label', { for: 'import-format' }, 'Format'), format),
    zone, input, progress, outcome);
}

function resultView(name: string, result: ImportResult): HTMLElement {
  const count = (label: string, key: keyof ImportResult) => [h('dt', {}, label), h('dd', { 'data-count': key, 'data-value': String(result[key]) }, formatCount(result[key] as number))];
  return h('section', { class: 'panel', 'data-import': 'done', 'aria-labelledby': 'import-result-title' },
    h('h2', { id: 'import-result-title' }, `Imported ${name} (${result.format})`),
    h('dl', { class: 'facts' }, ...count('Lines', 'lines'), ...count('Imported', 'imported'), ...count('Skipped (no usage)', 'skipped'), ...count('Duplicates', 'duplicates'), ...count('Rejected', 'rejected')),
    result.errors.length === 0 ? h('p', {}, 'Every line was read.')
      : simpleTable('Lines that were rejected, and why', ['Line', 'Field', 'Reason'], result.errors.map((e) => [String(e.line), e.field, e.reason]), [0]),
    result.ignored_columns.length > 0 ? h('p', { class: 'muted' }, `Columns not read: ${result.ignored_columns.join(', ')}.`) : null,
    result.rejected_agents.length > 0 ? h('p', { class: 'form-error' }, `Agents refused by the plan's limit: ${result.rejected_agents.join(', ')}.`) : null);
}
