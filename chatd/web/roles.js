// A community's roles (docs/community-permissions.md): the list, highest first, making and
// editing one (its name and capabilities), moving one up or down, deleting one, a member's roles given and taken, and
// the permission overwrites of a role on a category or channel. A capability one does not hold
// is not offered; the server checks the hierarchy and answers what is missing.
import {useState} from 'preact/hooks';
import {t} from './i18n.js';
import {html, useAction} from './ui.js';

export const CAPS = ['view_channel', 'send', 'read_history', 'mention_everyone', 'manage_messages', 'manage_channels', 'manage_roles', 'kick', 'mute', 'invite', 'manage_community', 'administrator'];
const CHANNEL_CAPS = CAPS.slice(0, 7); // the ones an overwrite can allow or deny

const capName = (cap) => t(`cap_${cap}`);

// A role made or changed: its name and a box for each capability.
function RoleForm({client, id, role, can, onDone, reload}) {
  const [name, setName] = useState(role ? role.name : '');
  const [allow, setAllow] = useState(new Set(role ? role.allow : []));
  const [error, run] = useAction();
  const everyone = role && role.position === 0;
  const toggle = (cap, on) => setAllow((s) => ((s = new Set(s)), on ? s.add(cap) : s.delete(cap), s));
  const save = (ev) => {
    ev.preventDefault();
    const data = {community_id: id, allow: CAPS.filter((c) => allow.has(c))};
    if (!everyone) data.name = name.trim();
    run(async () => (await client.request(role ? 'community_role_update' : 'community_role_create', role ? {...data, role_id: role.role_id} : data), onDone(), reload()));
  };
  return html`<form class="role-form" onSubmit=${save}>
    ${everyone ? null : html`<input name="role-name" value=${name} onInput=${(e) => setName(e.target.value)} placeholder=${t('role_name')} aria-label=${t('role_name')} required maxlength="100" />`}
    <fieldset class="caps"><legend>${t('capabilities')}</legend>
      ${CAPS.map(
        (cap) => html`<label class="check" key=${cap}><input type="checkbox" name=${`cap-${cap}`} checked=${allow.has(cap)} disabled=${!can.has(cap)}
          onChange=${(e) => toggle(cap, e.target.checked)} /> ${capName(cap)}</label>`,
      )}
    </fieldset>
    <span class="row"><button type="submit" class="save-role">${t('save')}</button> <button type="button" class="link" onClick=${onDone}>${t('cancel')}</button></span>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
  </form>`;
}

export function Roles({client, id, roles, can, reload}) {
  const [editing, setEditing] = useState(null); // a role id, 'new', or null
  const [error, run] = useAction();
  const manage = can.has('manage_roles');
  const remove = (r) => run(() => client.request('community_role_delete', {community_id: id, role_id: r.role_id}).then(reload));
  // Up or down one place: every role but @everyone again, lowest first (community_role_reorder).
  const ranked = roles.filter((r) => r.position > 0).reverse();
  const move = (r, by) => {
    const order = ranked.map((x) => x.role_id);
    const at = order.indexOf(r.role_id);
    [order[at], order[at + by]] = [order[at + by], order[at]];
    run(() => client.request('community_role_reorder', {community_id: id, role_ids: order}).then(reload));
  };
  return html`<section class="roles" aria-labelledby="roles-h">
    <h3 id="roles-h">${t('roles')}</h3>
    <ul>
      ${roles.map(
        (r) => html`<li key=${r.role_id} data-role=${r.role_id}>
          <span class="role-name">${r.name}</span> <span class="note">${r.position ? r.member_count : ''}</span>
          <span class="note caps-list">${r.allow.map(capName).join(', ')}</span>
          ${manage ? html`<button type="button" class="link edit-role" onClick=${() => setEditing(r.role_id)}>${t('edit')}</button>` : null}
          ${manage && r.position ? html`<button type="button" class="link delete-role" onClick=${() => remove(r)}>${t('delete')}</button>` : null}
          ${manage && r.position && r.position < ranked.length
            ? html`<button type="button" class="link role-up" onClick=${() => move(r, 1)} aria-label=${`${t('move_up')} ${r.name}`}>↑</button>`
            : null}
          ${manage && r.position > 1 ? html`<button type="button" class="link role-down" onClick=${() => move(r, -1)} aria-label=${`${t('move_down')} ${r.name}`}>↓</button>` : null}
          ${editing === r.role_id ? html`<${RoleForm} client=${client} id=${id} role=${r} can=${can} onDone=${() => setEditing(null)} reload=${reload} />` : null}
        </li>`,
      )}
    </ul>
    ${manage && editing !== 'new' ? html`<button type="button" class="new-role" onClick=${() => setEditing('new')}>${t('new_role')}</button>` : null}
    ${editing === 'new' ? html`<${RoleForm} client=${client} id=${id} can=${can} onDone=${() => setEditing(null)} reload=${reload} />` : null}
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
  </section>`;
}

// A member's roles, each taken away with its ✕, and one more given from a list (manage_roles).
export function MemberRoles({client, id, member, roles, manage, setError, reload}) {
  const byId = new Map(roles.map((r) => [r.role_id, r]));
  const set = (change) => client.request('community_role_set', {community_id: id, user_id: member.user_id, ...change}).then(reload, (err) => setError(err.message));
  const others = roles.filter((r) => r.position > 0 && !member.role_ids.includes(r.role_id));
  return html`<span class="member-roles">
    ${member.role_ids.map(
      (rid) => html`<span class="chip" key=${rid}>${byId.get(rid)?.name || rid}${manage
        ? html`<button type="button" class="link take-role" onClick=${() => set({remove: [rid]})} aria-label=${`${t('remove')} ${byId.get(rid)?.name || rid}`}>✕</button>`
        : null}</span>`,
    )}
    ${manage && others.length
      ? html`<select name="give-role" aria-label=${t('give_role')} onChange=${(e) => e.target.value && set({add: [Number(e.target.value)]})}>
          <option value="">${t('give_role')}</option>
          ${others.map((r) => html`<option value=${r.role_id}>${r.name}</option>`)}
        </select>`
      : null}
  </span>`;
}

// A role's overwrite on a category or a channel: each channel capability allowed, denied or left
// to what comes before (the whole overwrite is set at once; all left removes it).
export function Overwrites({client, id, place, placeId, roles, onDone}) {
  const [target, setTarget] = useState(roles[roles.length - 1].role_id); // @everyone first
  const [choice, setChoice] = useState({});
  const [error, run] = useAction();
  const save = (ev) => {
    ev.preventDefault();
    const pick = (v) => CHANNEL_CAPS.filter((c) => choice[c] === v);
    run(async () => {
      await client.request('community_overwrite_set', {community_id: id, place, place_id: placeId, target: 'role', target_id: Number(target), allow: pick('allow'), deny: pick('deny')});
      onDone();
    });
  };
  return html`<form class="overwrites" onSubmit=${save}>
    <select name="overwrite-role" aria-label=${t('role')} value=${target} onChange=${(e) => setTarget(e.target.value)}>
      ${roles.map((r) => html`<option value=${r.role_id}>${r.name}</option>`)}
    </select>
    ${CHANNEL_CAPS.map(
      (cap) => html`<label key=${cap}>${capName(cap)}
        <select name=${`ow-${cap}`} value=${choice[cap] || ''} onChange=${(e) => setChoice({...choice, [cap]: e.target.value})}>
          <option value="">${t('inherit')}</option><option value="allow">${t('allow')}</option><option value="deny">${t('deny')}</option>
        </select></label>`,
    )}
    <span class="row"><button type="submit" class="save-overwrite">${t('save')}</button> <button type="button" class="link" onClick=${onDone}>${t('cancel')}</button></span>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
  </form>`;
}
