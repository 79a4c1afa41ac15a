// A community opened (#community:<id>): its name, channels in their categories, roles, members
// and requests to join, with what the user's permissions let them change: channels and
// categories made, edited, deleted and their overwrites set (manage_channels, manage_roles),
// roles (manage_roles), time-outs (mute), removal (kick), settings (manage_community), requests
// and invite codes (invite), handing it over and deleting it (the owner). What is offered follows
// community_permissions; the server decides every change. Also: joining with an invite code.
import {useEffect, useState} from 'preact/hooks';
import {t} from './i18n.js';
import {MemberRoles, Overwrites, Roles} from './roles.js';
import {html, useAction} from './ui.js';

const PUSHES = new Set(['community.channel_changed', 'community.role_changed', 'community.member_changed', 'community.join_requested', 'community.request_decided']);
const TIME_OUT_MS = 10 * 60 * 1000;

// Everything the view shows, fetched again on each of the community's pushes and after each change.
function useCommunity(client, id, me) {
  const [state, setState] = useState(null);
  const [version, setVersion] = useState(0);
  const reload = () => setVersion((v) => v + 1);
  useEffect(
    () =>
      client.on('push', ({cmd, data}) => {
        if (!PUSHES.has(cmd) || data.community_id !== id) return;
        const gone = cmd === 'community.member_changed' && (data.event === 'disbanded' || (data.user_id === me.id && (data.event === 'kicked' || data.event === 'left')));
        if (gone) location.hash = '#';
        else reload();
      }),
    [id],
  );
  useEffect(() => {
    let live = true;
    const ask = (cmd, data = {}) => client.request(cmd, {community_id: id, ...data});
    (async () => {
      const [info, tree, roles, members, perms] = await Promise.all([
        ask('community_info'),
        ask('community_channel_list'),
        ask('community_role_list'),
        ask('community_members', {limit: 200}),
        ask('community_permissions', {user_id: me.id}),
      ]);
      const can = new Set(perms.allow);
      const requests = can.has('invite') || can.has('manage_community') ? (await ask('community_request_list')).requests : [];
      if (live) setState({community: info.community, tree, roles: roles.roles, members: members.members, can, owner: perms.trace.some((s) => s.by === 'owner'), requests});
    })().catch((err) => live && setState((s) => ({...s, error: err.message})));
    return () => (live = false);
  }, [id, version]);
  return [state, reload];
}

// An inline form that changes a category's name, or a channel's name, topic and category (the
// protocol moves a channel into a category, never out of every one); Escape gives up.
function Edit({item, categories, save, done}) {
  const [name, setName] = useState(item.name);
  const [topic, setTopic] = useState(item.topic || '');
  const [category, setCategory] = useState(String(item.category_id ?? ''));
  const submit = (ev) => {
    ev.preventDefault();
    const changes = {name: name.trim()};
    if (categories) {
      if (topic !== item.topic) changes.topic = topic;
      if (category && Number(category) !== item.category_id) changes.category_id = Number(category);
    }
    save(changes).then(done);
  };
  return html`<form class="inline-rename" onSubmit=${submit} onKeyDown=${(e) => e.key === 'Escape' && done()}>
    <input name="new-name" value=${name} onInput=${(e) => setName(e.target.value)} aria-label=${t('name')} required maxlength="100" ref=${(el) => el && !el.dataset.seen && ((el.dataset.seen = '1'), el.focus())} />
    ${categories
      ? html`<input name="new-topic" value=${topic} onInput=${(e) => setTopic(e.target.value)} placeholder=${t('topic')} aria-label=${t('topic')} maxlength="1024" />
          <select name="move-to" value=${category} onChange=${(e) => setCategory(e.target.value)} aria-label=${t('category')}>
            ${item.category_id === null ? html`<option value="">${t('no_category')}</option>` : null}
            ${categories.map((cat) => html`<option value=${cat.category_id}>${cat.name}</option>`)}
          </select>`
      : null}
    <button type="submit">${t('save')}</button>
  </form>`;
}

function Channels({client, id, tree, roles, can, reload}) {
  const [open, setOpen] = useState(null); // 'rename:channel:9', 'perms:category:2', ...
  const [channel, setChannel] = useState('');
  const [category, setCategory] = useState('');
  const [newCategory, setNewCategory] = useState('');
  const [error, run] = useAction();
  const manage = can.has('manage_channels');
  const overwrites = can.has('manage_roles');
  const ask = (cmd, data) => run(async () => (await client.request(cmd, {community_id: id, ...data}), reload(), true));
  const createChannel = (ev) => {
    ev.preventDefault();
    ask('community_channel_create', {name: channel.trim(), ...(category ? {category_id: Number(category)} : {})}).then((ok) => ok && setChannel(''));
  };
  const createCategory = (ev) => {
    ev.preventDefault();
    ask('community_category_create', {name: newCategory.trim()}).then((ok) => ok && setNewCategory(''));
  };
  // The buttons of a channel or category, and the form one of them opened.
  const tools = (place, placeId, item) => {
    const key = `${place}:${placeId}`;
    const idField = `${place}_id`;
    return html`${manage ? html`<button type="button" class="link rename" onClick=${() => setOpen(`rename:${key}`)}>${t('edit')}</button>
        <button type="button" class="link delete" onClick=${() => ask(`community_${place}_delete`, {[idField]: placeId})}>${t('delete')}</button>` : null}
      ${overwrites ? html`<button type="button" class="link permissions" onClick=${() => setOpen(`perms:${key}`)}>${t('permissions')}</button>` : null}
      ${open === `rename:${key}`
        ? html`<${Edit} item=${item} categories=${place === 'channel' ? tree.categories : null} save=${(changes) => ask(`community_${place}_update`, {[idField]: placeId, ...changes})}
            done=${() => setOpen(null)} />`
        : null}
      ${open === `perms:${key}` ? html`<${Overwrites} client=${client} id=${id} place=${place} placeId=${placeId} roles=${roles} onDone=${() => (setOpen(null), reload())} />` : null}`;
  };
  const item = (c) => html`<li key=${c.channel_id} data-channel=${c.channel_id}>
    <a href=${`#channel:${c.channel_id}`}># ${c.name}</a>${c.topic ? html` <span class="note">${c.topic}</span>` : null} ${tools('channel', c.channel_id, c)}
  </li>`;
  return html`<section class="channels" aria-labelledby="channels-h">
    <h3 id="channels-h">${t('channels')}</h3>
    <ul class="tree">
      ${tree.channels.map(item)}
      ${tree.categories.map(
        (cat) => html`<li key=${`c${cat.category_id}`} class="category" data-category=${cat.category_id}>
          <span class="category-name">${cat.name}</span> ${tools('category', cat.category_id, cat)}
          <ul>${cat.channels.map(item)}</ul>
        </li>`,
      )}
    </ul>
    ${manage
      ? html`<form class="new-channel" onSubmit=${createChannel}>
          <input name="channel-name" value=${channel} onInput=${(e) => setChannel(e.target.value)} placeholder=${t('channel_name')} aria-label=${t('channel_name')} required maxlength="100" />
          <select name="channel-category" aria-label=${t('category')} value=${category} onChange=${(e) => setCategory(e.target.value)}>
            <option value="">${t('no_category')}</option>
            ${tree.categories.map((cat) => html`<option value=${cat.category_id}>${cat.name}</option>`)}
          </select>
          <button type="submit">${t('new_channel')}</button>
        </form>
        <form class="new-category" onSubmit=${createCategory}>
          <input name="category-name" value=${newCategory} onInput=${(e) => setNewCategory(e.target.value)} placeholder=${t('category_name')} aria-label=${t('category_name')} required maxlength="100" />
          <button type="submit">${t('new_category')}</button>
        </form>`
      : null}
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
  </section>`;
}

function Members({client, id, me, state, reload}) {
  const {members, roles, can, owner} = state;
  const [handing, setHanding] = useState(0);
  const [error, setError] = useState('');
  const act = (cmd, data) => client.request(cmd, {community_id: id, ...data}).then(reload, (err) => setError(err.message));
  const now = Date.now();
  return html`<section class="community-members" aria-labelledby="members-h">
    <h3 id="members-h">${t('members')}</h3>
    <ul>
      ${members.map((m) => {
        const other = m.user_id !== me.id;
        const out = m.timed_out_until > now;
        return html`<li key=${m.user_id} data-user=${m.user_id}>
          <span class="who">${m.display_name}</span> <span class="note">@${m.name}</span>
          ${m.user_id === state.community.owner_id ? html` <span class="role">${t('role_owner')}</span>` : null}
          ${out ? html`<span class="timed-out" title=${t('timed_out')}>⏳</span>` : null}
          <${MemberRoles} client=${client} id=${id} member=${m} roles=${roles} manage=${can.has('manage_roles')} setError=${setError} reload=${reload} />
          ${other && can.has('mute')
            ? html`<button type="button" class="link time-out" onClick=${() => act('community_member_mute_set', {user_id: m.user_id, duration_ms: out ? 0 : TIME_OUT_MS})}>
                ${out ? t('lift_time_out') : t('time_out_10')}</button>`
            : null}
          ${other && can.has('kick') ? html`<button type="button" class="link kick" onClick=${() => act('community_member_kick', {user_id: m.user_id})}>${t('remove')}</button>` : null}
          ${other && owner && handing !== m.user_id ? html`<button type="button" class="link hand-over" onClick=${() => setHanding(m.user_id)}>${t('make_owner')}</button>` : null}
          ${handing === m.user_id
            ? html`<button type="button" class="link confirm-hand-over" onClick=${() => act('community_owner_transfer', {user_id: m.user_id})}>${t('confirm_owner')}</button>`
            : null}
        </li>`;
      })}
    </ul>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
  </section>`;
}

// The community's own settings (manage_community): name, description, listed or not, how one joins.
function Settings({client, community, reload}) {
  const [form, setForm] = useState({name: community.name, description: community.description, public: community.public, join_mode: community.join_mode});
  const [error, run] = useAction();
  const [saved, setSaved] = useState(false);
  const set = (field) => (e) => (setSaved(false), setForm({...form, [field]: e.target.type === 'checkbox' ? e.target.checked : e.target.value}));
  const save = (ev) => {
    ev.preventDefault();
    run(async () => (await client.request('community_update', {community_id: community.community_id, ...form, name: form.name.trim()}), setSaved(true), reload()));
  };
  return html`<section class="settings" aria-labelledby="settings-h">
    <h3 id="settings-h">${t('settings')}</h3>
    <form class="community-settings" onSubmit=${save}>
      <input name="community-name" value=${form.name} onInput=${set('name')} aria-label=${t('name')} required maxlength="100" />
      <input name="community-description" value=${form.description} onInput=${set('description')} placeholder=${t('description')} aria-label=${t('description')} maxlength="2000" />
      <label class="check"><input type="checkbox" name="community-public" checked=${form.public} onChange=${set('public')} /> ${t('listed')}</label>
      <label class="check">${t('join_mode')}
        <select name="community-join-mode" value=${form.join_mode} onChange=${set('join_mode')}>
          ${['open', 'request', 'invite'].map((m) => html`<option value=${m}>${t(`join_${m}`)}</option>`)}
        </select></label>
      <button type="submit">${t('save')}</button>
      ${saved ? html`<span class="note saved" role="status">${t('saved')}</span>` : null}
    </form>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
  </section>`;
}

// The requests to join waiting for someone with invite or manage_community, and invite codes.
function Joining({client, id, requests, reload}) {
  const [code, setCode] = useState('');
  const [error, run] = useAction();
  const decide = (r, approve) => run(async () => (await client.request('community_request_decide', {community_id: id, user_id: r.user_id, approve}), reload()));
  const invite = () => run(async () => setCode((await client.request('community_invite_create', {community_id: id})).invite.code));
  return html`<section class="joining" aria-labelledby="joining-h">
    <h3 id="joining-h">${t('requests')}</h3>
    ${requests.length ? null : html`<p class="note">${t('no_requests')}</p>`}
    <ul>
      ${requests.map(
        (r) => html`<li key=${r.user_id} data-user=${r.user_id}>
          <span>${r.display_name}</span>${r.message ? html` <span class="note">${r.message}</span>` : null}
          <button type="button" class="link approve" onClick=${() => decide(r, true)}>${t('approve')}</button>
          <button type="button" class="link reject" onClick=${() => decide(r, false)}>${t('reject')}</button>
        </li>`,
      )}
    </ul>
    <button type="button" class="make-invite" onClick=${invite}>${t('make_invite')}</button>
    ${code ? html` <code class="invite-code">${code}</code>` : null}
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
  </section>`;
}

export function CommunityView({client, me, communityId, onChange}) {
  const [state, reload] = useCommunity(client, communityId, me);
  const [error, run] = useAction();
  const [disbanding, setDisbanding] = useState(false);
  const disband = () => run(async () => (await client.request('community_disband', {community_id: communityId}), onChange(), (location.hash = '#')));
  const refresh = () => (reload(), onChange());
  const leave = () => run(async () => (await client.request('community_leave', {community_id: communityId}), onChange(), (location.hash = '#')));
  return html`<section class="community">
    <header class="bar">
      <a class="back" href="#">${t('back')}</a>
      <h2>${state?.community?.name || t('community')}</h2>
      ${state && !state.owner ? html`<button type="button" class="leave" onClick=${leave}>${t('leave')}</button>` : null}
      ${state?.owner && !disbanding ? html`<button type="button" class="leave disband" onClick=${() => setDisbanding(true)}>${t('disband')}</button>` : null}
      ${disbanding
        ? html`<button type="button" class="leave confirm-disband" onClick=${disband}>${t('confirm_delete')}</button>
            <button type="button" class="leave" onClick=${() => setDisbanding(false)}>${t('cancel')}</button>`
        : null}
    </header>
    ${error || state?.error ? html`<p class="error" role="alert">${error || state.error}</p>` : null}
    ${state && state.tree
      ? html`<div class="community-body">
          ${state.community.description ? html`<p class="note description">${state.community.description}</p>` : null}
          <${Channels} client=${client} id=${communityId} tree=${state.tree} roles=${state.roles} can=${state.can} reload=${refresh} />
          <${Roles} client=${client} id=${communityId} roles=${state.roles} can=${state.can} reload=${refresh} />
          <${Members} client=${client} id=${communityId} me=${me} state=${state} reload=${refresh} />
          ${state.can.has('manage_community') ? html`<${Settings} client=${client} community=${state.community} reload=${reload} />` : null}
          ${state.can.has('invite') || state.can.has('manage_community') ? html`<${Joining} client=${client} id=${communityId} requests=${state.requests} reload=${reload} />` : null}
        </div>`
      : state ? null : html`<p class="status">${t('connecting')}</p>`}
  </section>`;
}

// An invite code from whoever made it: a community's (community_join) or else a group's
// (chat_group_join); opens what it joined, or says that the request waits.
export function JoinWithCode({client, onChange}) {
  const [code, setCode] = useState('');
  const [note, setNote] = useState('');
  const [error, run] = useAction();
  const joined = (hash) => (setCode(''), onChange(), hash ? (location.hash = hash) : setNote(t('join_requested')));
  const join = (ev) => {
    ev.preventDefault();
    const invite = code.trim();
    setNote('');
    run(async () => {
      try {
        const r = await client.request('community_join', {invite_code: invite});
        return joined(`#community:${r.community_id}`);
      } catch (err) {
        if (err.code !== 'not_found') throw err;
      }
      const g = await client.request('chat_group_join', {invite_code: invite});
      joined(g.joined ? `#group:${g.group_id}` : null);
    });
  };
  return html`<form class="join-code" onSubmit=${join}>
    <input name="invite-code" value=${code} onInput=${(e) => setCode(e.target.value)} placeholder=${t('invite_code')} aria-label=${t('invite_code')} required maxlength="64" />
    <button type="submit">${t('join')}</button>
    ${note ? html`<p class="note" role="status">${note}</p>` : null}
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
  </form>`;
}
