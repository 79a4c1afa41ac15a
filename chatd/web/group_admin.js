// A group's or a room's settings for its owner and admins: the name (and deleting a room, for its owner), and for a group whether
// invitations and requests to join wait for approval (and the ones waiting, approved or
// refused), whether anyone may join by the group's id, and its invite code.
import {useEffect, useState} from 'preact/hooks';
import {t} from './i18n.js';
import {html, useAction} from './ui.js';

// The group's waiting invitations and requests to join, kept current by chat_group_request_update.
function Requests({client, groupId}) {
  const [requests, setRequests] = useState([]);
  const [version, setVersion] = useState(0);
  const [error, run] = useAction();
  useEffect(() => {
    let live = true;
    client.request('chat_group_requests', {group_id: groupId}).then((r) => live && setRequests(r.requests), () => {});
    const off = client.on('push', ({cmd, data}) => cmd === 'chat_group_request_update' && data.request.group_id === groupId && setVersion((v) => v + 1));
    return () => ((live = false), off());
  }, [groupId, version]);
  const decide = (r, approve) => run(async () => (await client.request('chat_group_request_decide', {request_id: r.request_id, approve}), setVersion((v) => v + 1)));
  if (!requests.length && !error) return null;
  return html`<section class="requests" aria-label=${t('requests')}>
    <h3>${t('requests')}</h3>
    <ul>
      ${requests.map(
        (r) => html`<li key=${r.request_id} data-user=${r.user.id}>
          <span>${r.user.display_name}</span> <span class="note">${r.kind === 'invite' ? t('invited') : t('asked_to_join')}${r.message ? `: ${r.message}` : ''}</span>
          <button type="button" class="link approve" onClick=${() => decide(r, true)}>${t('approve')}</button>
          <button type="button" class="link reject" onClick=${() => decide(r, false)}>${t('reject')}</button>
        </li>`,
      )}
    </ul>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
  </section>`;
}

export function GroupAdmin({client, kind, args, title, owner, onChange}) {
  const [name, setName] = useState(title || '');
  const [group, setGroup] = useState(null); // a group's settings (chat_group_info)
  const [saved, setSaved] = useState(''); // what was saved last
  const [deleting, setDeleting] = useState(false);
  const [error, run] = useAction();
  const groupId = args.group_id;
  useEffect(() => setName(title || ''), [title]);
  useEffect(() => {
    if (kind === 'group') client.request('chat_group_info', args).then((r) => setGroup(r.group), () => {});
  }, [groupId]);
  // A change, then "Saved." (and the list again, for a new name).
  const change = (what, fn) => (setSaved(''), run(async () => (await fn(), setSaved(what), onChange())));
  const update = (what, data) => change(what, async () => setGroup((await client.request('chat_group_update', {...args, ...data})).group));
  const toggle = (what, on) => (setGroup((g) => ({...g, [what]: on})), what === 'approval' ? approve(on) : update(what, {[what]: on}));
  const rename = (ev) => {
    ev.preventDefault();
    if (kind === 'group') update('name', {name: name.trim()});
    else change('name', () => client.request('chat_room_update', {...args, name: name.trim()}));
  };
  const approve = (on) => change('approval', async () => {
    const r = await client.request('chat_group_invite_approval_set', {group_id: groupId, approval: on});
    setGroup((g) => ({...g, approval: r.approval}));
  });
  return html`<div class="admin">
    <form class="rename" onSubmit=${rename}>
      <input name="rename" value=${name} onInput=${(e) => setName(e.target.value)} aria-label=${t('name')} required maxlength="64" />
      <button type="submit">${t('rename')}</button>
    </form>
    ${group
      ? html`<label class="check"><input type="checkbox" name="approval" checked=${group.approval} onChange=${(e) => toggle('approval', e.target.checked)} /> ${t('approval')}</label>
          <label class="check"><input type="checkbox" name="join-by-id" checked=${group.join_by_id} onChange=${(e) => toggle('join_by_id', e.target.checked)} /> ${t('join_by_id')} (${groupId})</label>
          <span class="row">${group.invite_code ? html`<code class="invite-code">${group.invite_code}</code> ` : null}
            <button type="button" class="link new-code" onClick=${() => update('invite_code', {invite_code: true})}>${t('new_invite_code')}</button>
            ${group.invite_code ? html` <button type="button" class="link no-code" onClick=${() => update('invite_code', {invite_code: false})}>${t('no_invite_code')}</button>` : null}</span>`
      : null}
    ${saved ? html`<p class="note saved" role="status" data-what=${saved}>${t('saved')}</p>` : null}
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    ${kind === 'room' && owner
      ? html`<span class="row">${deleting
          ? html`<button type="button" class="link confirm-delete" onClick=${() => run(async () => (await client.request('chat_room_disband', args), onChange(), (location.hash = '#')))}>${t('confirm_delete')}</button>
              <button type="button" class="link" onClick=${() => setDeleting(false)}>${t('cancel')}</button>`
          : html`<button type="button" class="link delete-room" onClick=${() => setDeleting(true)}>${t('delete_room')}</button>`}</span>`
      : null}
    ${kind === 'group' ? html`<${Requests} client=${client} groupId=${groupId} />` : null}
  </div>`;
}
