// A group's or a room's settings for its owner and admins: the name, and for a group whether
// invitations and requests to join wait for approval, and the ones waiting (approve or reject).
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

export function GroupAdmin({client, kind, args, title, onChange}) {
  const [name, setName] = useState(title || '');
  const [approval, setApproval] = useState(null);
  const [saved, setSaved] = useState(false);
  const [error, run] = useAction();
  const groupId = args.group_id;
  useEffect(() => setName(title || ''), [title]);
  useEffect(() => {
    if (kind === 'group') client.request('chat_group_info', args).then((r) => setApproval(r.group.approval), () => {});
  }, [groupId]);
  const done = () => (setSaved(true), onChange());
  const rename = (ev) => {
    ev.preventDefault();
    setSaved(false);
    run(async () => (await client.request(kind === 'group' ? 'chat_group_update' : 'chat_room_update', {...args, name: name.trim()}), done()));
  };
  const setApprovalOn = (on) => (setSaved(false), run(async () => (setApproval((await client.request('chat_group_invite_approval_set', {group_id: groupId, approval: on})).approval), done())));
  return html`<div class="admin">
    <form class="rename" onSubmit=${rename}>
      <input name="rename" value=${name} onInput=${(e) => setName(e.target.value)} aria-label=${t('name')} required maxlength="64" />
      <button type="submit">${t('rename')}</button>
    </form>
    ${kind === 'group' && approval !== null
      ? html`<label class="check"><input type="checkbox" name="approval" checked=${approval} onChange=${(e) => setApprovalOn(e.target.checked)} /> ${t('approval')}</label>`
      : null}
    ${saved ? html`<p class="note saved" role="status">${t('saved')}</p>` : null}
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    ${kind === 'group' ? html`<${Requests} client=${client} groupId=${groupId} />` : null}
  </div>`;
}
