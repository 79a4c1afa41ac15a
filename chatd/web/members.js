// A group's or a room's members with their roles: inviting users by id (groups), and what the
// owner and admins do to a member: make admin or plain member, hand over, mute, remove.
import {useState} from 'preact/hooks';
import {BotBadge} from './bots.js';
import {t} from './i18n.js';
import {html} from './ui.js';

const MUTE_MS = 10 * 60 * 1000;
const PREFIX = {group: 'chat_group_', room: 'chat_room_'};

// What the user may do to another member: an owner sets admins, hands over and mutes or removes
// anyone but owners; an admin mutes and removes plain members (the server decides; this only offers it).
function MemberActions({client, kind, args, me, u, onChange, setNote}) {
  const [handing, setHanding] = useState(false);
  const act = (verb, extra = {}) => client.request(PREFIX[kind] + verb, {...args, user_id: u.id, ...extra}).then(onChange, (err) => setNote(err.message));
  const owner = me.role === 'owner' || (kind === 'room' && me.is_admin);
  if (u.id === me.id || u.role === 'owner' || !(owner || me.role === 'admin')) return null;
  const over = owner || u.role === 'member';
  return html`<span class="member-actions">
    ${owner
      ? html`<button type="button" class="link set-role" onClick=${() => act('member_role_set', {role: u.role === 'admin' ? 'member' : 'admin'})}>
          ${u.role === 'admin' ? t('make_member') : t('make_admin')}</button>`
      : null}
    ${owner && !handing ? html`<button type="button" class="link hand-over" onClick=${() => setHanding(true)}>${t('make_owner')}</button>` : null}
    ${handing
      ? html`<button type="button" class="link confirm-hand-over" onClick=${() => act('member_role_set', {role: 'owner'})}>${t('confirm_owner')}</button>
          <button type="button" class="link" onClick=${() => setHanding(false)}>${t('cancel')}</button>`
      : null}
    ${over ? html`<button type="button" class="link mute-member" onClick=${() => act('member_mute_set', {duration_ms: u.muted ? 0 : MUTE_MS})}>${u.muted ? t('unmute') : t('mute_10')}</button>` : null}
    ${over ? html`<button type="button" class="link kick" onClick=${() => act('member_kick')}>${t('remove')}</button>` : null}
  </span>`;
}

export function Members({client, kind = 'group', args, members, me, onChange}) {
  const [ids, setIds] = useState('');
  const [note, setNote] = useState('');
  const mine = {...me, ...(members.find((u) => u.id === me.id) || {role: 'member'})};
  const invite = async (ev) => {
    ev.preventDefault();
    setNote('');
    try {
      const userIds = ids.split(/[\s,，]+/).filter(Boolean).map(Number);
      const r = await client.request('chat_group_invite', {...args, user_ids: userIds});
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
          ${u.muted ? html` <span class="muted-mark" title=${t('muted_member')}>🔇</span>` : null}
          <${MemberActions} client=${client} kind=${kind} args=${args} me=${mine} u=${u} onChange=${onChange} setNote=${setNote} />
        </li>`,
      )}
    </ul>
    ${kind === 'group'
      ? html`<form class="invite" onSubmit=${invite}>
          <input name="invite" value=${ids} onInput=${(e) => setIds(e.target.value)} placeholder=${t('member_ids')} aria-label=${t('invite')} required />
          <button type="submit">${t('invite')}</button>
        </form>`
      : null}
    ${note ? html`<p class="note" role="status">${note}</p>` : null}
  </aside>`;
}
