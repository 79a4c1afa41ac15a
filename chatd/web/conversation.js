// A conversation: its history a page at a time (older pages when scrolled to the top), live
// messages, sending text and files, edit, recall, reactions, read receipts and typing.
import {useEffect, useLayoutEffect, useRef, useState} from 'preact/hooks';
import {BotBadge, CommandPicker, STREAM_PUSHES, applyDelta, commandChoices, commandOf, newer} from './bots.js';
import {CallButtons} from './call_view.js';
import {GroupAdmin} from './group_admin.js';
import {t} from './i18n.js';
import {Members} from './members.js';
import {Message} from './message.js';
import {TYPING_PUSHES, command, newId, targetArgs} from './protocol.js';
import {RoutingBanner, useRouting} from './routing.js';
import {ScopedSearch} from './search.js';
import {html, summary} from './ui.js';

const PAGE = 30;
const TYPING_SHOWN_MS = 6000;
// Who can be named in a conversation: [command, its request, a member as {id, name, display_name}].
const MEMBERS = {
  group: (args) => ['chat_group_members', {...args, limit: 500}, (x) => ({...x.user, role: x.role, muted: x.muted})],
  room: (args) => ['chat_room_members', {...args, limit: 500}, (x) => ({...x.user, role: x.role, muted: x.muted})],
  channel: (args, entry) => entry?.community_id && ['community_members', {community_id: entry.community_id, limit: 200}, (x) => ({...x, id: x.user_id})],
};

// The members of a group, room or channel's community (the first page), for sender names and the mention picker.
function useMembers(client, kind, args, entry) {
  const [members, setMembers] = useState([]);
  const [version, setVersion] = useState(0);
  const ask = MEMBERS[kind] && MEMBERS[kind](args, entry);
  useEffect(() => {
    let live = true;
    if (ask) client.request(ask[0], ask[1]).then((r) => live && setMembers(r.members.map(ask[2])), () => {});
    return () => (live = false);
  }, [JSON.stringify(ask && ask[1]), version, entry?.role, entry?.member_count]);
  return [members, () => setVersion((v) => v + 1)];
}

// The members whose name follows an @ at the end of the text being typed.
function mentionChoices(text, members) {
  const m = /@([^\s@]*)$/.exec(text);
  if (!m) return [];
  const part = m[1].toLowerCase();
  return members.filter((u) => u.display_name.toLowerCase().startsWith(part) || u.name.toLowerCase().startsWith(part)).slice(0, 6);
}

function merge(list, incoming) {
  const bySeq = new Map(list.map((m) => [m.seq, m]));
  for (const m of incoming) bySeq.set(m.seq, newer(bySeq.get(m.seq), m));
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

export function Conversation({client, sync, calls, me, target, anchor, entry, names, onChange}) {
  const kind = target.split(':')[0];
  const args = targetArgs(target);
  const peer = kind === 'dm' ? args.peer : null;
  const [messages, setMessages] = useState([]);
  const [more, setMore] = useState({before: false, after: false});
  const [convId, setConvId] = useState(entry?.conv_id || 0);
  const [peerRead, setPeerRead] = useState(0);
  const [readCounts, setReadCounts] = useState(new Map()); // group: msg_id -> members who read it
  const [typing, setTyping] = useState(new Map());
  const [text, setText] = useState('');
  const [error, setError] = useState('');
  const [quote, setQuote] = useState(null);
  const [members, reloadMembers] = useMembers(client, kind, args, entry);
  const [showMembers, setShowMembers] = useState(false);
  const [showSearch, setShowSearch] = useState(false);
  const nameOf = (id) => members.find((u) => u.id === id)?.display_name || names(id);
  const isBot = (id) => !!(members.find((u) => u.id === id)?.is_bot || (id === peer && entry?.peer?.is_bot));
  const [routing, agentName] = useRouting(client, convId, kind === 'dm' ? entry : null);
  // In a bot's DM, an agent's messages carry the agent's name (neither side's own).
  const dmSender = (id) => (id !== me.id && id !== peer ? agentName(id) || names(id) : null);
  const [commands, setCommands] = useState(null); // the bots' slash commands here, asked for at the first "/"
  const picked = useRef(null);
  const refetching = useRef(new Set()); // streamed messages being fetched after a gap in their deltas
  const list = useRef(null);
  const compose = useRef(null);
  const stick = useRef(true); // keep the newest message in view
  const keep = useRef(null); // scroll height before older messages were put on top
  const lastTyping = useRef(0);
  const state = useRef({});
  const loading = useRef(false); // a page is being fetched
  state.current = {messages, more, convId};

  const markRead = (seq) => {
    if (document.visibilityState === 'visible') client.request(command(kind, 'mark_read'), {...args, seq}).then(onChange, () => {});
  };

  // The first page: the newest messages, or those around the message to jump to.
  useEffect(() => {
    let live = true;
    setMessages([]);
    setError('');
    stick.current = !anchor;
    const entered = kind === 'room' ? sync.enterRoom(args.room_id) : Promise.resolve();
    const load = () => anchor
      ? client.request('chat_message_around', {msg_id: anchor, before: PAGE, after: PAGE}).then((r) => ({conv_id: r.conv_id, messages: r.messages, before: r.has_more_before, after: r.has_more_after}))
      : client.request(command(kind, 'history'), {...args, limit: PAGE}).then((r) => ({conv_id: r.conv_id, messages: r.messages, before: r.has_more, after: false}));
    entered.then(load).then(
      (r) => {
        if (!live) return;
        setConvId(r.conv_id);
        setMessages((shown) => merge(shown, r.messages)); // with what arrived while it loaded
        setMore({before: r.before, after: r.after});
        // How far the group's members read, before the first receipt of this session.
        if (kind === 'group' && r.messages.length) {
          const counts = {group_id: args.group_id, after_seq: r.messages[0].seq - 1, upto_seq: r.messages[r.messages.length - 1].seq};
          client.request('chat_group_read_counts', counts).then(
            (c) => live && setReadCounts((m) => new Map([...c.reads.map((x) => [x.msg_id, x.read_count]), ...m])),
            () => {},
          );
        }
        const newest = r.messages[r.messages.length - 1];
        if (newest && !r.after) markRead(newest.seq);
      },
      (err) => live && setError(err.message),
    );
    return () => (live = false);
  }, [target, anchor]);

  // How far a DM's peer read, from the home list's entry (before the first receipt of this session).
  const peerReadSeq = kind === 'dm' ? entry?.peer_last_read_seq || 0 : 0;
  useEffect(() => setPeerRead((s) => Math.max(s, peerReadSeq)), [peerReadSeq]);

  // Live events of this conversation (Sync gives each new message once, in seq order).
  useEffect(() => {
    const mine = (d) => d.kind === kind && (d.conv_id === state.current.convId || (peer && d.peer === peer));
    const offMessage = sync.on('message', (d) => {
      if (!mine(d)) return;
      if (!state.current.convId) setConvId(d.conv_id);
      if (d.event === 'new') {
        if (state.current.more.after) return; // reading older pages: reached by scrolling down
        setMessages((ms) => merge(ms, [d.message]));
        if (d.message.sender_id !== me.id) markRead(d.seq);
        setTyping((m) => (m.delete(d.message.sender_id) ? new Map(m) : m));
      } else if (d.event === 'delete') {
        setMessages((ms) => ms.filter((m) => !d.msg_ids.includes(m.id)));
      } else if (d.message) {
        setMessages((ms) => (ms.some((m) => m.id === d.message.id) ? merge(ms, [d.message]) : ms));
      }
    });
    const offPush = client.on('push', ({cmd, data}) => {
      if (STREAM_PUSHES.has(cmd) && data.kind === kind && data.conv_id === state.current.convId) onStream(cmd, data);
      if (cmd === 'chat_dm_read_receipt' && kind === 'dm' && data.peer === peer) setPeerRead((s) => Math.max(s, data.seq));
      if (cmd === 'chat_group_read_receipt' && kind === 'group' && data.group_id === args.group_id) {
        setReadCounts((m) => new Map([...m, ...data.reads.map((r) => [r.msg_id, r.read_count])]));
      }
      if (TYPING_PUSHES.has(cmd) && mine(data) && data.user_id !== me.id) {
        setTyping((m) => new Map(m).set(data.user_id, data.typing ? Date.now() + TYPING_SHOWN_MS : 0));
        setTimeout(() => setTyping((m) => new Map([...m].filter(([, until]) => until > Date.now()))), TYPING_SHOWN_MS + 50);
      }
    });
    // After a reconnect: re-read the shown newest page for edits and recalls missed meanwhile.
    const offResync = sync.on('resync', () => {
      if (state.current.more.after) return;
      client.request(command(kind, 'history'), {...args, limit: PAGE}).then((r) => setMessages((ms) => merge(ms, r.messages)), () => {});
    });
    return () => (offMessage(), offPush(), offResync());
  }, [target]);

  // A streamed message grows by its deltas (applied by offset), and ends with its final message or an error.
  const onStream = (cmd, d) => {
    const held = state.current.messages.find((m) => m.id === d.stream_id);
    if (!held) return; // not shown: history or a page fetched later has its text
    if (cmd !== 'chat.stream.delta') return setMessages((ms) => merge(ms, [{...d.message, streamReason: d.reason}]));
    const grown = held.state === 'streaming' && applyDelta(held, d);
    if (grown) setMessages((ms) => merge(ms, [grown]));
    else if (grown === null && !refetching.current.has(d.stream_id)) {
      refetching.current.add(d.stream_id); // one fetch at a time, however many deltas follow the gap
      client.request('chat_message_get', {msg_id: d.stream_id}).then(update, () => {}).finally(() => refetching.current.delete(d.stream_id));
    }
  };

  // Scrolling: stay at the bottom for new messages; keep the place when older ones are put on top.
  useLayoutEffect(() => {
    const el = list.current;
    if (!el) return;
    if (keep.current !== null) {
      el.scrollTop += el.scrollHeight - keep.current;
      keep.current = null;
    } else if (stick.current) {
      el.scrollTop = el.scrollHeight;
    } else if (anchor) {
      el.querySelector('.highlight')?.scrollIntoView({block: 'center'});
    }
  }, [messages]);

  const loadPage = async (older) => {
    const ms = state.current.messages;
    if (loading.current || !ms.length) return;
    loading.current = true;
    try {
      const data = older ? {before_seq: ms[0].seq} : {after_seq: ms[ms.length - 1].seq};
      const r = await client.request(command(kind, 'history'), {...args, ...data, limit: PAGE});
      if (older) keep.current = list.current.scrollHeight;
      setMessages((cur) => merge(cur, r.messages));
      setMore((m) => (older ? {...m, before: r.has_more} : {...m, after: r.has_more}));
    } finally {
      loading.current = false;
    }
  };

  const onScroll = () => {
    const el = list.current;
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40 && !state.current.more.after;
    if (el.scrollTop < 80 && state.current.more.before) loadPage(true);
    if (el.scrollHeight - el.scrollTop - el.clientHeight < 80 && state.current.more.after) loadPage(false);
  };

  const sendContent = (content, extra = {}) => post(command(kind, 'send'), {content, ...extra});
  const post = async (cmd, data) => {
    setError('');
    try {
      const r = await client.request(cmd, {...args, ...data, client_msg_id: newId()});
      setConvId(r.conv_id || r.message.conv_id);
      sync.saw(kind, r.message.conv_id, r.message.seq);
      stick.current = true;
      if (!state.current.more.after) setMessages((ms) => merge(ms, [r.message]));
      onChange();
    } catch (err) {
      setError(err.message);
    }
  };

  const onSubmit = (ev) => {
    ev.preventDefault();
    const body = text.trim();
    if (!body) return;
    setText('');
    const run = commandOf(body, commands, picked.current);
    picked.current = null;
    if (run) return post('chat_bot_command', run);
    const extra = {};
    if (quote) extra.quote_id = quote.id;
    const mentioned = members.filter((u) => u.id !== me.id && body.includes(`@${u.display_name}`)).map((u) => u.id);
    if (mentioned.length) extra.mentions = mentioned;
    setQuote(null);
    sendContent({type: 'text', text: body}, extra);
  };

  // Put a picked mention or command in the composer, with the cursor after it.
  const fill = (next) => {
    setText(next);
    requestAnimationFrame(() => {
      compose.current.focus();
      compose.current.setSelectionRange(next.length, next.length);
    });
  };
  const pickMention = (u) => fill(text.replace(/@[^\s@]*$/, `@${u.display_name} `));
  const pickCommand = (c) => ((picked.current = c), fill(`/${c.name} `));

  const onInput = (ev) => {
    setText(ev.target.value);
    if (commands === null && ev.target.value.startsWith('/')) {
      setCommands([]); // asked once per opening of the conversation
      client.request('chat_bot_commands_list', args).then((r) => setCommands(r.commands), () => {});
    }
    if (Date.now() - lastTyping.current > 3000) {
      lastTyping.current = Date.now();
      client.request(command(kind, 'typing'), {...args, typing: true}).catch(() => {});
    }
  };

  const onFile = async (ev) => {
    const file = ev.target.files[0];
    ev.target.value = '';
    if (!file) return;
    try {
      const up = await client.upload(file);
      const image = up.mime.startsWith('image/') && up.width;
      await sendContent(
        image
          ? {type: 'image', url: up.key, width: up.width, height: up.height, size: up.size, mime: up.mime}
          : {type: 'file', url: up.key, name: file.name.slice(0, 200) || 'file', size: up.size, mime: up.mime},
      );
    } catch (err) {
      setError(err.message);
    }
  };

  const leave = () =>
    client.request(kind === 'room' ? 'room_exit' : 'chat_group_leave', args).then(() => {
      sync.inRooms.delete(args.room_id);
      onChange();
      location.hash = '#';
    }, fail);

  const update = (r) => setMessages((ms) => merge(ms, [r.message]));
  const fail = (err) => setError(err.message);
  const actions = {
    edit: (m, body) => client.request(command(kind, 'edit'), {...args, msg_id: m.id, content: {type: 'text', text: body}}).then(update, fail),
    recall: (m) => client.request(command(kind, 'recall'), {...args, msg_id: m.id}).then((r) => (r && r.message ? update(r) : null), fail),
    reply: (m) => setQuote(m),
    remove: (m) =>
      client.request(command(kind, 'delete'), {...args, msg_ids: [m.id]}).then(() => (setMessages((ms) => ms.filter((x) => x.id !== m.id)), onChange()), fail),
    react: (m, emoji, remove) => client.request(command(kind, 'react'), {...args, msg_id: m.id, emoji, remove}).then(update, fail),
  };

  const lastReadMine = [...messages].reverse().find((m) => m.sender_id === me.id && m.seq <= peerRead);
  const choices = mentionChoices(text, members.filter((u) => u.id !== me.id));
  const typers = [...typing].filter(([, until]) => until > Date.now());
  return html`<section class="conversation">
    <header class="bar">
      <a class="back" href="#">${t('back')}</a>
      <h2>${entry ? entry.title : target}<${BotBadge} on=${isBot(peer)} /></h2>
      ${kind === 'dm' && entry && 'peer_online' in entry ? html`<span class="status-word">${entry.peer_online ? t('online') : t('offline_peer')}</span>` : null}
      ${kind === 'dm' && !isBot(peer) ? html`<${CallButtons} calls=${calls} peer=${peer} name=${entry?.title} />` : null}
      <button type="button" class="show-search" aria-pressed=${showSearch} onClick=${() => setShowSearch(!showSearch)} title=${t('search_here')} aria-label=${t('search_here')}>🔍</button>
      ${kind === 'channel' && entry?.community_id ? html`<a class="to-community" href=${`#community:${entry.community_id}`}>${t('community')}</a>` : null}
      ${kind === 'group' || kind === 'room'
        ? html`<button type="button" class="show-members" aria-pressed=${showMembers} onClick=${() => setShowMembers(!showMembers)}>${t('members')}</button>
            <button type="button" class="leave" onClick=${leave}>${t('leave')}</button>`
        : null}
    </header>
    <${RoutingBanner} routing=${routing} />
    ${showSearch ? html`<${ScopedSearch} client=${client} target=${target} />` : null}
    ${showMembers ? html`<${Members} client=${client} kind=${kind} args=${args} members=${members} me=${me} onChange=${reloadMembers} />` : null}
    ${showMembers && (entry?.role === 'owner' || entry?.role === 'admin' || (kind === 'room' && me.is_admin))
      ? html`<${GroupAdmin} client=${client} kind=${kind} args=${args} title=${entry.title} owner=${entry.role === 'owner' || me.is_admin} onChange=${onChange} />`
      : null}
    <ol class="messages" ref=${list} onScroll=${onScroll}>
      ${more.before ? html`<li class="more">${t('older')}</li>` : null}
      ${messages.map(
        (m) => html`<${Message} key=${m.seq} client=${client} me=${me} m=${m} sender=${kind === 'dm' ? dmSender(m.sender_id) : nameOf(m.sender_id)} bot=${isBot(m.sender_id)}
          readHere=${lastReadMine && lastReadMine.seq === m.seq} readBy=${readCounts.get(m.id)} highlighted=${anchor && m.id === anchor} actions=${actions} />`,
      )}
    </ol>
    <div class="typing" aria-live="polite">${typers.length ? `${typers.map(([id]) => nameOf(id)).join(', ')} ${t('typing')}` : ''}</div>
    ${error ? html`<div class="error" role="alert">${error}</div>` : null}
    ${quote
      ? html`<div class="replying">${t('replying')}: <span>${summary(quote.content)}</span>
          <button type="button" class="link" onClick=${() => setQuote(null)} aria-label=${t('cancel')}>✕</button></div>`
      : null}
    ${choices.length
      ? html`<ul class="mention-picker" role="listbox">
          ${choices.map((u) => html`<li><button type="button" onClick=${() => pickMention(u)}>@${u.display_name}</button></li>`)}
        </ul>`
      : null}
    <${CommandPicker} choices=${commandChoices(text, commands)} pick=${pickCommand} />
    <form class="composer" onSubmit=${onSubmit}>
      <label class="attach" title=${t('attach')}>📎<input type="file" onChange=${onFile} aria-label=${t('attach')} /></label>
      <input class="compose" ref=${compose} value=${text} onInput=${onInput} onKeyDown=${(e) => e.key === 'Escape' && setQuote(null)} placeholder=${t('message_placeholder')} aria-label=${t('message_placeholder')} autocomplete="off" />
      <button type="submit">${t('send')}</button>
    </form>
  </section>`;
}
