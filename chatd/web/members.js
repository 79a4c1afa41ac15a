// A group's members with their roles, and inviting users by id.
import {useState} from 'preact/hooks';
import {t} from './i18n.js';
import {html} from './ui.js';

export function Members({client, groupId, members, onChange}) {
  const [ids, setIds] = useState('');
  const [note, setNote] = useState('');
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
      ${members.map((u) => html`<li key=${u.id}><span>${u.display_name}</span> <span class="role">${u.role ? t(`role_${u.role}`) : ''}</span></li>`)}
    </ul>
    <form class="invite" onSubmit=${invite}>
      <input name="invite" value=${ids} onInput=${(e) => setIds(e.target.value)} placeholder=${t('member_ids')} aria-label=${t('invite')} required />
      <button type="submit">${t('invite')}</button>
    </form>
    ${note ? html`<p class="note" role="status">${note}</p>` : null}
  </aside>`;
}
