// The live run view's script, loaded by index.html as an ES module (the server compiles it as it
// serves it). It uses stbass/sse's client and rxjs straight from their ES builds.
import { type Subscription, interval } from 'rxjs';
// In your project: from 'stbass/sse'.
import { fromServerSentEvents } from '../../../lib/sse/fromServerSentEvents';
import type { WireEvent, WirePlacement } from '../../../lib/sse/wire';

type Status = 'waiting' | 'running' | 'retrying' | 'done' | 'failed' | 'cancelled';

/** One process on the page. */
interface Row {
  readonly name: string;
  readonly item: HTMLLIElement;
  readonly status: HTMLElement;
  readonly backend: HTMLElement;
  readonly elapsed: HTMLElement;
  readonly text: HTMLElement;
  readonly outcome: HTMLElement;
  startedAt: number | undefined;
  settledAt: number | undefined;
  attempt: number;
}

function element(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`the page has no #${id}`);
  return found;
}

function make<K extends keyof HTMLElementTagNameMap>(tag: K, props: { className?: string; id?: string; text?: string } = {}): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className !== undefined) node.className = props.className;
  if (props.id !== undefined) node.id = props.id;
  if (props.text !== undefined) node.textContent = props.text;
  return node;
}

function button(id: string): HTMLButtonElement {
  const found = element(id);
  if (!(found instanceof HTMLButtonElement)) throw new Error(`#${id} is not a button`);
  return found;
}

const startButton = button('start');
const cancelButton = button('cancel');
const list = element('processes');
const announcer = element('announcer');
const summary = element('summary');
const deadlineValue = element('deadline-value');
const deadlineLine = element('deadline');

const DEFAULT_DEADLINE = 8;
const rows = new Map<number, Row>();
let run: Subscription | undefined;
let ticker: Subscription | undefined;
let deadlineAt = 0;

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function announce(message: string): void {
  announcer.textContent = message;
}

function rowFor(index: number, name: string, placement: WirePlacement): Row {
  const known = rows.get(index);
  if (known !== undefined) return known;
  const id = `process-${index}`;
  const item = make('li', { className: 'process', id });
  item.dataset['index'] = String(index);
  // The item's accessible name is "<name> <status>", so a reader (and a test) finds it by name.
  item.setAttribute('aria-labelledby', `${id}-name ${id}-status`);
  const header = make('header');
  const title = make('h3', { id: `${id}-name`, text: name });
  const status = make('span', { className: 'status', id: `${id}-status` });
  header.append(title, status);
  const meta = make('dl', { className: 'meta' });
  const backend = make('dd', { text: '—' });
  const elapsed = make('dd', { text: '—' });
  meta.append(make('dt', { text: 'Placement' }), make('dd', { text: placement.summary }), make('dt', { text: 'Backend' }), backend, make('dt', { text: 'Elapsed' }), elapsed);
  const text = make('p', { className: 'text' });
  text.setAttribute('aria-label', `${name}: partial text`);
  const outcome = make('p', { className: 'outcome' });
  item.append(header, meta, text, outcome);
  // In declaration order, whatever order the events come in.
  const next = [...rows.entries()].filter(([other]) => other > index).sort(([a], [b]) => a - b)[0]?.[1].item ?? null;
  list.insertBefore(item, next);
  const row: Row = { name, item, status, backend, elapsed, text, outcome, startedAt: undefined, settledAt: undefined, attempt: 0 };
  rows.set(index, row);
  return row;
}

function setStatus(row: Row, status: Status): void {
  if (row.item.dataset['status'] === status) return;
  row.item.dataset['status'] = status;
  row.status.textContent = status;
  announce(`${row.name}: ${status}`);
}

function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

function onEvent(event: WireEvent): void {
  switch (event.type) {
    case 'queued': {
      const row = rowFor(event.index, event.name, event.placement);
      row.backend.textContent = event.backend;
      setStatus(row, 'waiting');
      break;
    }
    case 'started': {
      const row = rowFor(event.index, event.name, event.placement);
      row.backend.textContent = event.backend;
      row.startedAt ??= performance.now();
      row.attempt = event.attempt;
      setStatus(row, 'running');
      if (event.attempt > 1) row.outcome.textContent = `Attempt ${event.attempt}`;
      break;
    }
    case 'partial': {
      const row = rowFor(event.index, event.name, event.placement);
      row.text.append(typeof event.value === 'string' ? event.value : JSON.stringify(event.value));
      break;
    }
    case 'retrying': {
      const row = rowFor(event.index, event.name, event.placement);
      // The next attempt starts from nothing: what the failed one wrote is void.
      row.text.textContent = '';
      row.outcome.textContent = `${event.failure.summary} — attempt ${event.attempt} in ${event.delay.toFixed(1)} s`;
      setStatus(row, 'retrying');
      break;
    }
    case 'fallback': {
      const row = rowFor(event.index, event.name, event.placement);
      row.outcome.textContent = `${event.failure?.summary ?? 'Not settled yet'} — ${event.reason === 'hedge' ? 'hedged on' : 'falling back to'} ${event.to.summary}`;
      break;
    }
    case 'restarted': {
      // The placement that wrote it broke off or lost a hedge: the text so far is void.
      rowFor(event.index, event.name, event.placement).text.textContent = '';
      break;
    }
    case 'settled': {
      const row = rowFor(event.index, event.name, event.placement);
      row.settledAt = performance.now();
      if (event.result.ok) {
        row.outcome.textContent = `Result${row.attempt > 1 ? ` (attempt ${row.attempt})` : ''}: ${shown(event.result.value)}`;
        setStatus(row, 'done');
      } else {
        row.outcome.textContent = event.result.failure.summary;
        setStatus(row, event.result.failure.error.name === 'CancelledError' ? 'cancelled' : 'failed');
      }
      break;
    }
    case 'done': {
      const { report } = event.result;
      const types = Object.entries(report.failureTypes).map(([name, count]) => `${count} ${name}`);
      summary.textContent = `${report.succeeded} of ${report.total} succeeded, ${report.failed} failed${types.length > 0 ? ` (${types.join(', ')})` : ''}.`;
      break;
    }
    case 'serialization-failed': {
      if (event.index !== undefined) rowFor(event.index, event.name ?? `process ${event.index}`, { summary: 'unknown' }).outcome.textContent = event.error.message;
      break;
    }
    default:
      // A later version may send event types this page does not know: they are not for it.
      break;
  }
}

function tick(): void {
  const now = performance.now();
  for (const row of rows.values()) {
    if (row.startedAt !== undefined) row.elapsed.textContent = seconds((row.settledAt ?? now) - row.startedAt);
  }
  const left = deadlineAt - now;
  deadlineValue.textContent = left > 0 ? `in ${seconds(left)}` : 'passed';
  deadlineLine.classList.toggle('past', left <= 0);
}

function finish(message: string): void {
  tick();
  ticker?.unsubscribe();
  ticker = undefined;
  run = undefined;
  startButton.disabled = false;
  cancelButton.disabled = true;
  document.body.dataset['state'] = 'finished';
  announce(message);
}

function start(): void {
  const query = new URLSearchParams(location.search);
  const deadline = Number(query.get('deadline') ?? DEFAULT_DEADLINE);
  const id = crypto.randomUUID();
  query.set('run', id);
  query.set('deadline', String(deadline));
  rows.clear();
  list.replaceChildren();
  summary.textContent = 'Running…';
  document.body.dataset['run'] = id;
  document.body.dataset['state'] = 'running';
  startButton.disabled = true;
  cancelButton.disabled = false;
  cancelButton.focus();
  deadlineAt = performance.now() + deadline * 1000;
  ticker = interval(100).subscribe(tick);
  announce('Run started');
  run = fromServerSentEvents(`/run?${query.toString()}`).subscribe({
    next: onEvent,
    error: (error: unknown) => {
      summary.textContent = `The stream broke: ${error instanceof Error ? error.message : String(error)}`;
      finish('Run lost');
    },
    complete: () => finish(`Run finished. ${summary.textContent ?? ''}`),
  });
}

function cancel(): void {
  // Unsubscribing closes the EventSource; the server sees the connection go and cancels the run.
  run?.unsubscribe();
  let stopped = 0;
  for (const row of rows.values()) {
    if (row.settledAt !== undefined) continue;
    row.settledAt = performance.now();
    row.outcome.textContent = 'Cancelled from this page';
    setStatus(row, 'cancelled');
    stopped += 1;
  }
  summary.textContent = `Cancelled: ${stopped} unfinished ${stopped === 1 ? 'process was' : 'processes were'} stopped on the server.`;
  finish('Run cancelled');
  startButton.focus();
}

startButton.addEventListener('click', start);
cancelButton.addEventListener('click', cancel);
document.body.dataset['state'] = 'ready';
