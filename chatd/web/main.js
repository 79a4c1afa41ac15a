// The web client's root: the session (kept across reloads by the stored token), the route in
// the address's fragment (#dm:2, #group:7/m/<message id>, #search, #community:3, #directory) and the conversation list.
import {render} from 'preact';
import {useEffect, useMemo, useRef, useState} from 'preact/hooks';
import {CallView} from './call_view.js';
import {Calls} from './calls.js';
import {CommunityView} from './community.js';
import {Conversation} from './conversation.js';
import {Directory} from './directory.js';
import {Home} from './home.js';
import {lang, t} from './i18n.js';
import {Login} from './login.js';
import * as notify from './notify.js';
import {Client, Sync} from './protocol.js';
import {Search} from './search.js';
import {html, title} from './ui.js';

const LIST_PUSHES = new Set([
  'chat_dm_conversation_update', 'chat_group_conversation_update', 'chat_room_conversation_update',
  'chat_conversation_list_update', 'community.conversation_update', 'chat_presence_update',
  'chat.stream.done', 'chat.stream.error', // a streamed message's final text, for the list's preview
  'community.channel_changed', 'community.member_changed', 'community.role_changed', // channels seen, gained or lost
]);

function parseRoute(hash) {
  const h = hash.replace(/^#/, '');
  if (h === 'search') return {view: 'search'};
  if (/^community:\d+$/.test(h)) return {view: 'community', community: Number(h.slice(10))};
  if (h === 'directory') return {view: 'directory'};
  const m = /^((?:dm|group|room|channel):\d+)(?:\/m\/(\d+))?$/.exec(h);
  return m ? {view: 'conversation', target: m[1], anchor: m[2] ? Number(m[2]) : null} : {view: 'home'};
}

function useRoute() {
  const [route, setRoute] = useState(parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

function App() {
  const client = useMemo(() => new Client(), []);
  const sync = useMemo(() => new Sync(client), []);
  const calls = useMemo(() => new Calls(client), []);
  const [phase, setPhase] = useState('loading'); // loading | setup | login | app
  const [user, setUser] = useState(null);
  const [net, setNet] = useState('connecting');
  const [conversations, setConversations] = useState([]);
  const route = useRoute();
  const refresh = useRef(null);
  const [notifying, setNotifying] = useState(notify.granted());
  const now = useRef({});

  const fetched = useRef(0); // which reload's list may be shown: only the latest one's
  const reload = () => {
    clearTimeout(refresh.current);
    refresh.current = setTimeout(() => {
      const mine = ++fetched.current;
      sync.conversations().then((list) => mine === fetched.current && setConversations(list.map((c) => ({...c, title: title(c)}))), () => {});
    }, 100);
  };

  useEffect(() => {
    const offs = [
      client.on('state', setNet),
      client.on('online', ({user: u, resumed}) => (setUser(u), setPhase('app'), reload(), resumed || notify.subscribePush(client))),
      client.on('logout', () => (setUser(null), setConversations([]), setPhase('login'))),
      client.on('push', ({cmd}) => LIST_PUSHES.has(cmd) && reload()),
      sync.on('message', reload),
      sync.on('resync', reload),
      notify.notifyOnMessage(sync, () => now.current),
    ];
    (async () => {
      const setup = await fetch('/api/v1/setup').then((r) => r.json(), () => ({}));
      if (setup.needed) return setPhase('setup');
      try {
        if (!(await client.resume())) setPhase('login');
      } catch {
        // the server cannot be reached now: the client keeps trying and 'online' moves on
      }
    })();
    return () => offs.forEach((off) => off());
  }, []);

  if (phase === 'loading') return html`<p class="status">${t('connecting')}</p>`;
  if (phase === 'setup' || phase === 'login') return html`<${Login} setup=${phase === 'setup'} onLogin=${(u, p) => client.login(u, p)} />`;

  const byTarget = new Map(conversations.map((c) => [c.target, c]));
  const names = (id) => {
    if (id === user.id) return user.display_name;
    const c = byTarget.get(`dm:${id}`);
    return c ? c.title : `#${id}`;
  };
  const titleOf = (target) => byTarget.get(target)?.title || target;
  const active = route.view === 'conversation' ? route.target : null;
  now.current = {user, entries: byTarget, shown: active};
  const notifier = {available: notify.available, on: notifying, enable: async () => {
    const on = await notify.ask();
    setNotifying(on);
    if (on) notify.subscribePush(client);
  }};
  return html`<div class=${`layout view-${route.view}`}>
    <${CallView} calls=${calls} names=${names} />
    ${net !== 'online' ? html`<div class="banner" role="status">${net === 'connecting' ? t('connecting') : t('offline')}</div>` : null}
    <${Home} client=${client} conversations=${conversations} active=${active} user=${user} onLogout=${() => client.logout()}
      onChange=${reload} notify=${notifier} />
    <main class="pane">
      ${route.view === 'conversation'
        ? html`<${Conversation} key=${route.target} client=${client} sync=${sync} calls=${calls} me=${user} target=${route.target} anchor=${route.anchor}
            entry=${byTarget.get(route.target) || {title: names(Number(route.target.split(':')[1]))}} names=${names} onChange=${reload} />`
        : route.view === 'search'
          ? html`<${Search} client=${client} titleOf=${titleOf} />`
          : route.view === 'community'
            ? html`<${CommunityView} key=${route.community} client=${client} me=${user} communityId=${route.community} onChange=${reload} />`
            : route.view === 'directory'
              ? html`<${Directory} client=${client} />`
              : html`<p class="empty pane-hint">chatd</p>`}
    </main>
  </div>`;
}

document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
render(html`<${App} />`, document.getElementById('app'));
