// A group's members with their roles, and inviting users by id.
import {useState} from 'preact/hooks';
import {BotBadge} from './bots.js';
import {t} from './i18n.js';
import {html} from './ui.js';

// What the user may do to another member: an owner sets admins and removes anyone but
// owners; an admin removes plain members (the server decides; this only offers it).
function MemberActions({client, groupId, me, u, onChange, setNote}) {
  const act = (cmd, extra = {}) => client.request(cmd, {group_id: groupId, user_id: u.id, ...extra}).then(onChange, (err) => setNote(err.message));
  if (u.id === me.id || u.role === 'owner' || !['owner', 'admin'].includes(me.role)) return null;
  return html`<span class="member-actions">
    ${me.role === 'owner'
      ? html`<button type="button" class="link set-role" onClick=${() => act('chat_group_member_role_set', {role: u.role === 'admin' ? 'member' : 'admin'})}>
          ${u.role === 'admin' ? t('make_member') : t('make_admin')}</button>`
      : null}
    ${me.role === 'owner' || u.role === 'member' ? html`<button type="button" class="link kick" onClick=${() => act('chat_group_member_kick')}>${t('remove')}</button>` : null}
  </span>`;
}

export function Members({client, groupId, members, me, onChange}) {
  const [ids, setIds] = useState('');
  const [note, setNote] = useState('');
  const mine = members.find((u) => u.id === me.id) || {id: me.id, role: 'member'};
  const invite = async (ev) => {
    ev.preventDefault();
    setNote('');
    try {
      const userIds = ids.split(/[\s,，]+/).filter(Boolean).map(Number);
      const r = await client.request('chat_group_invite', {group_id: groupId, user_ids: userIds});
      setIds('');
      if (r.pending.length) setNote(t('invite_pending'));
      onChange();
    } catch (err) {
      setNote(err.message);
    }
  };
  return html`<aside class="members">
    <ul>
      ${members.map(
        (u) => html`<li key=${u.id} data-user=${u.id}>
          <span>${u.display_name}</span><${BotBadge} on=${u.is_bot} /> <span class="role">${u.role ? t(`role_${u.role}`) : ''}</span>
          <${MemberActions} client=${client} groupId=${groupId} me=${mine} u=${u} onChange=${onChange} setNote=${setNote} />
        </li>`,
      )}
    </ul>
    <form class="invite" onSubmit=${invite}>
      <input name="invite" value=${ids} onInput=${(e) => setIds(e.target.value)} placeholder=${t('member_ids')} aria-label=${t('invite')} required />
      <button type="submit">${t('invite')}</button>
    </form>
    ${note ? html`<p class="note" role="status">${note}</p>` : null}
  </aside>`;
}
