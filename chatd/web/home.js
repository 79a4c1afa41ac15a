// The home screen: every conversation, as the server orders them, kept current from pushes.
import {useRef, useState} from 'preact/hooks';
import {BotBadge} from './bots.js';
import {JoinWithCode} from './community.js';
import {t} from './i18n.js';
import {html, summary, timeLabel, useAction} from './ui.js';

function Entry({c, active}) {
  const last = c.last_message;
  return html`<li class=${`entry${active ? ' active' : ''}${c.muted ? ' is-muted' : ''}`} data-target=${c.target}>
    <a href=${`#${c.target}`}>
      <span class="title">${c.kind === 'dm' ? html`<span class=${`presence${c.peer_online ? ' on' : ''}`} title=${c.peer_online ? t('online') : t('offline_peer')} />` : null}${c.title}<${BotBadge} on=${c.peer?.is_bot} /></span>
      ${c.pinned ? html`<span class="pin" title=${t('pinned')}>📌</span>` : null}
      ${c.muted ? html`<span class="mute" title=${t('muted')}>🔕</span>` : null}
      <time>${c.last_activity ? timeLabel(c.last_activity) : ''}</time>
      <span class="preview">${last ? summary(last.recalled_at ? null : last.content) : ''}</span>
      ${c.mentioned || c.at ? html`<span class="mention" title=${t('mentioned')}>@</span>` : null}
      ${c.unread ? html`<span class=${`unread${c.muted ? ' quiet' : ''}`}>${c.unread > 99 ? '99+' : c.unread}</span>` : null}
    </a>
  </li>`;
}

// Up and down arrows move between the conversations of the list.
function moveFocus(ev) {
  if (ev.key !== 'ArrowDown' && ev.key !== 'ArrowUp') return;
  const links = [...ev.currentTarget.querySelectorAll('a')];
  const next = links[links.indexOf(document.activeElement) + (ev.key === 'ArrowDown' ? 1 : -1)];
  if (next) {
    ev.preventDefault();
    next.focus();
  }
}

// A new group: a name and the ids of its first members.
function NewGroup({client, onChange}) {
  const [name, setName] = useState('');
  const [ids, setIds] = useState('');
  const [error, run] = useAction();
  const create = (ev) => {
    ev.preventDefault();
    run(async () => {
      const members = ids.split(/[\s,，]+/).filter(Boolean).map(Number);
      const r = await client.request('chat_group_create', {name: name.trim(), members});
      setName('');
      setIds('');
      onChange();
      location.hash = `#group:${r.group.group_id}`;
    });
  };
  return html`<details class="new-group">
    <summary>${t('new_group')}</summary>
    <form onSubmit=${create}>
      <input name="group-name" value=${name} onInput=${(e) => setName(e.target.value)} placeholder=${t('group_name')} aria-label=${t('group_name')} required maxlength="64" />
      <input name="group-members" value=${ids} onInput=${(e) => setIds(e.target.value)} placeholder=${t('member_ids')} aria-label=${t('member_ids')} />
      <button type="submit">${t('create')}</button>
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    </form>
  </details>`;
}

// Rooms are open to everyone: find one by name (opening it joins it), or make a new one.
function Rooms({client, onChange}) {
  const [query, setQuery] = useState('');
  const [rooms, setRooms] = useState(null);
  const [error, run] = useAction();
  const find = (ev) => {
    ev.preventDefault();
    run(async () => setRooms((await client.request('chat_room_list', {query: query.trim(), limit: 20})).rooms));
  };
  const create = () =>
    run(async () => {
      const r = await client.request('chat_room_create', {name: query.trim()});
      onChange();
      location.hash = `#room:${r.room.room_id}`;
    });
  return html`<details class="rooms">
    <summary>${t('rooms')}</summary>
    <form onSubmit=${find}>
      <input name="room-query" value=${query} onInput=${(e) => setQuery(e.target.value)} placeholder=${t('room_name')} aria-label=${t('room_name')} maxlength="64" />
      <button type="submit">${t('find')}</button>
      <button type="button" class="create-room" onClick=${create} disabled=${!query.trim()}>${t('create')}</button>
    </form>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    ${rooms && !rooms.length ? html`<p class="note">${t('no_results')}</p>` : null}
    <ul class="room-list">
      ${(rooms || []).map((r) => html`<li key=${r.room_id}><a href=${`#room:${r.room_id}`}>${r.name}</a> <span class="note">${r.member_count}</span></li>`)}
    </ul>
  </details>`;
}

// Communities: public ones found by name and joined (a community that takes requests gets one),
// or a new one made; joining or making one opens its first channel.
function Communities({client, onChange}) {
  const [query, setQuery] = useState('');
  const [found, setFound] = useState(null);
  const [asked, setAsked] = useState({}); // community id -> a join request is waiting
  const [error, run] = useAction();
  const firstChannel = async (id) => {
    const r = await client.request('community_channel_list', {community_id: id});
    const channel = [...r.channels, ...r.categories.flatMap((c) => c.channels)][0];
    onChange();
    if (channel) location.hash = `#channel:${channel.channel_id}`;
  };
  const find = (ev) => {
    ev.preventDefault();
    run(async () => setFound((await client.request('community_discover', {query: query.trim(), limit: 20})).communities));
  };
  const join = (id) =>
    run(async () => {
      const r = await client.request('community_join', {community_id: id});
      if (r.joined) await firstChannel(id);
      else setAsked((a) => ({...a, [id]: true}));
    });
  const create = () =>
    run(async () => {
      const r = await client.request('community_create', {name: query.trim(), public: true, join_mode: 'open'});
      onChange();
      location.hash = `#channel:${r.channel_id}`;
    });
  return html`<details class="communities">
    <summary>${t('communities')}</summary>
    <form onSubmit=${find}>
      <input name="community-query" value=${query} onInput=${(e) => setQuery(e.target.value)} placeholder=${t('community_name')} aria-label=${t('community_name')} maxlength="100" />
      <button type="submit">${t('find')}</button>
      <button type="button" class="create-community" onClick=${create} disabled=${!query.trim()}>${t('create')}</button>
    </form>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    ${found && !found.length ? html`<p class="note">${t('no_results')}</p>` : null}
    <ul class="community-list">
      ${(found || []).map((c) => html`<li key=${c.community_id}>${c.name} <span class="note">${c.member_count}</span>
        ${asked[c.community_id]
          ? html`<span class="note">${t('join_requested')}</span>`
          : html`<button type="button" class="join-community" onClick=${() => join(c.community_id)}>${t('join')}</button>`}</li>`)}
    </ul>
    <${JoinWithCode} client=${client} onChange=${onChange} />
  </details>`;
}

// A new DM: a user found by the beginning of their name (user_search), or given by id.
function NewDm({client}) {
  const [query, setQuery] = useState('');
  const [found, setFound] = useState([]);
  const asked = useRef(0);
  const find = (value) => {
    setQuery(value);
    const q = value.trim();
    const mine = ++asked.current;
    if (!q || /^\d+$/.test(q)) return setFound([]);
    client.request('user_search', {query: q, limit: 8}).then((r) => mine === asked.current && setFound(r.users), () => {});
  };
  const open = (ev) => {
    ev.preventDefault();
    const q = query.trim();
    const id = /^\d+$/.test(q) ? q : found[0]?.id;
    if (id) location.hash = `#dm:${id}`;
  };
  return html`<form class="new-dm" onSubmit=${open}>
    <input value=${query} onInput=${(e) => find(e.target.value)} placeholder=${t('new_dm')} aria-label=${t('new_dm')} />
    <button type="submit">${t('open')}</button>
    ${found.length
      ? html`<ul class="found-users">${found.map((u) => html`<li key=${u.id}><a href=${`#dm:${u.id}`}>${u.display_name} <span class="note">@${u.name}</span><${BotBadge} on=${u.is_bot} /></a></li>`)}</ul>`
      : null}
  </form>`;
}

export function Home({client, conversations, active, user, onLogout, onChange, notify}) {
  return html`<nav class="home">
    <header class="bar">
      <h1>${t('conversations')}</h1>
      <a class="to-search" href="#search">${t('search')}</a>
      <a class="to-directory" href="#directory">${t('directory')}</a>
      ${notify.available && !notify.on
        ? html`<button type="button" class="notify" onClick=${notify.enable} title=${t('notifications')}>🔔</button>`
        : null}
      <button type="button" class="logout" onClick=${onLogout} title=${user.name}>${t('logout')}</button>
    </header>
    <ul class="entries" onKeyDown=${moveFocus}>
      ${conversations.map((c) => html`<${Entry} key=${c.target} c=${c} active=${c.target === active} />`)}
    </ul>
    ${conversations.length ? null : html`<p class="empty">${t('no_conversations')}</p>`}
    <${NewGroup} client=${client} onChange=${onChange} />
    <${Rooms} client=${client} onChange=${onChange} />
    <${Communities} client=${client} onChange=${onChange} />
    <${NewDm} client=${client} />
  </nav>`;
}
