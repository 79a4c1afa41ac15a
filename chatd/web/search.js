// Search across the user's DMs, groups and rooms at once, or within one conversation; a result
// opens its conversation at it.
import {useState} from 'preact/hooks';
import {t} from './i18n.js';
import {command, targetArgs} from './protocol.js';
import {html, timeLabel, useAction} from './ui.js';

const SEARCHES = [
  ['chat_dm_search', (r) => `dm:${r.peer}`],
  ['chat_group_search', (r) => `group:${r.group_id}`],
  ['chat_room_search', (r) => `room:${r.room_id}`],
];

// The server marks each match as [match]: shown as <mark>, everything as text nodes.
function Snippet({text}) {
  const parts = text.split(/(\[[^\]]*\])/g).map((p) => (/^\[.*\]$/.test(p) ? html`<mark>${p.slice(1, -1)}</mark>` : p));
  return html`<span class="snippet">${parts}</span>`;
}

// One page of every search: `cursors` is each search's before_id (undefined: from the newest;
// null: that search has no more). Returns the results, newest first, and the next cursors.
export async function searchAll(client, query, cursors = SEARCHES.map(() => undefined)) {
  const pages = await Promise.all(
    SEARCHES.map(([cmd, target], i) =>
      cursors[i] === null
        ? {results: [], next: null}
        : client.request(cmd, {query, limit: 20, ...(cursors[i] ? {before_id: cursors[i]} : {})}).then(
            (r) => ({results: r.results.map((x) => ({...x, target: target(x)})), next: r.has_more ? r.results[r.results.length - 1].message.id : null}),
            () => ({results: [], next: null}),
          ),
    ),
  );
  return {results: pages.flatMap((p) => p.results).sort((a, b) => b.message.id - a.message.id), cursors: pages.map((p) => p.next)};
}

export function Search({client, titleOf}) {
  const [query, setQuery] = useState('');
  const [results, setResults] = useState(null);
  const [cursors, setCursors] = useState([]);
  const [asked, setAsked] = useState('');
  const run = async (ev) => {
    ev.preventDefault();
    if (!query.trim()) return;
    const found = await searchAll(client, query.trim());
    setAsked(query.trim());
    setResults(found.results);
    setCursors(found.cursors);
  };
  const more = async () => {
    const found = await searchAll(client, asked, cursors);
    setResults((shown) => [...shown, ...found.results].sort((a, b) => b.message.id - a.message.id));
    setCursors(found.cursors);
  };
  return html`<section class="search">
    <header class="bar"><a class="back" href="#">${t('back')}</a><h2>${t('search')}</h2></header>
    <form class="search-form" onSubmit=${run}>
      <input type="search" value=${query} onInput=${(e) => setQuery(e.target.value)} placeholder=${t('search_placeholder')} aria-label=${t('search_placeholder')} />
      <button type="submit">${t('search')}</button>
    </form>
    ${results && !results.length ? html`<p class="empty">${t('no_results')}</p>` : null}
    <ul class="results">
      ${(results || []).map(
        (r) => html`<li key=${r.message.id}>
          <a class="result" href=${`#${r.target}/m/${r.message.id}`}>
            <span class="who">${titleOf(r.target)}</span>
            <time>${timeLabel(r.message.created_at)}</time>
            <${Snippet} text=${r.snippet} />
          </a>
        </li>`,
      )}
    </ul>
    ${results && cursors.some((c) => c !== null) ? html`<button type="button" class="more-results" onClick=${more}>${t('more')}</button>` : null}
  </section>`;
}

// Search within one conversation (the kind's search with its id), each result a link that
// opens the conversation at the message.
export function ScopedSearch({client, target}) {
  const [query, setQuery] = useState('');
  const [found, setFound] = useState(null);
  const [error, run] = useAction();
  const find = (ev) => {
    ev.preventDefault();
    const q = query.trim();
    if (q) run(async () => setFound((await client.request(command(target.split(':')[0], 'search'), {...targetArgs(target), query: q, limit: 20})).results));
  };
  return html`<div class="scoped-search">
    <form class="search-form" onSubmit=${find}>
      <input type="search" name="search-here" value=${query} onInput=${(e) => setQuery(e.target.value)} placeholder=${t('search_here')} aria-label=${t('search_here')} />
      <button type="submit">${t('search')}</button>
    </form>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    ${found && !found.length ? html`<p class="note">${t('no_results')}</p>` : null}
    <ul class="results">
      ${(found || []).map(
        (r) => html`<li key=${r.message.id}>
          <a class="result" href=${`#${target}/m/${r.message.id}`}><time>${timeLabel(r.message.created_at)}</time><${Snippet} text=${r.snippet} /></a>
        </li>`,
      )}
    </ul>
  </div>`;
}
