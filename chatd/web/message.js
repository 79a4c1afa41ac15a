// One message of a conversation: its content (text nodes, links only http(s), html only as the
// server sanitized it), reactions, and the actions its reader may take.
import {useState} from 'preact/hooks';
import {BotBadge, Buttons, Form, StreamState} from './bots.js';
import {CallRecord} from './call_view.js';
import {t} from './i18n.js';
import {Markdown} from './markdown.js';
import {html, Linkified, safeHref, timeLabel, useFileUrl} from './ui.js';

export const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉'];

function Image({client, content}) {
  const url = useFileUrl(client, content.url, content.url?.startsWith('chatd-file:'));
  return url ? html`<img class="thumb" src=${url} alt=${t('image')} />` : html`<span class="placeholder">${t('image')}</span>`;
}

function File({client, content}) {
  const download = async () => {
    const url = await client.fileUrl(content.url);
    const a = document.createElement('a');
    a.href = url;
    a.download = content.name || 'file';
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  };
  return html`<span class="file">📄 ${content.name} <button type="button" class="link" onClick=${download}>${t('download')}</button></span>`;
}

// A link in rich text opens in a new tab (never in place of the client), if it is http(s).
function openOutside(ev) {
  const a = ev.target.closest('a');
  if (!a) return;
  ev.preventDefault();
  const href = safeHref(a.getAttribute('href') || '');
  if (href) window.open(href, '_blank', 'noopener,noreferrer');
}

export function Content({client, content, m}) {
  if (!content) return html`<span class="recalled">${t('recalled')}</span>`;
  switch (content.type) {
    case 'text':
      return html`<${Linkified} text=${content.text} />`;
    case 'markdown': // made of elements, never of HTML parsed from the text (markdown.js)
      return html`<${Markdown} text=${content.text} />`;
    case 'html': // sanitized by the server before it was stored (docs/protocol.md, "Rich text")
      return html`<div class="rich" onClick=${openOutside} dangerouslySetInnerHTML=${{__html: content.text}} />`;
    case 'image':
      return html`<${Image} client=${client} content=${content} />`;
    case 'file':
      return html`<${File} client=${client} content=${content} />`;
    case 'buttons':
      return m ? html`<${Buttons} client=${client} m=${m} />` : html`<span class="text">${content.text}</span>`;
    case 'form':
      return m ? html`<${Form} client=${client} m=${m} />` : html`<span class="placeholder">${content.text || t('form')}</span>`;
    case 'system':
      if (content.event === 'call') return html`<${CallRecord} content=${content} />`;
      return html`<span class="system">${content.text || content.event}</span>`;
    default:
      return html`<span class="placeholder">${content.text || t('unsupported')}</span>`;
  }
}

export function Message({client, me, m, sender, bot, readHere, readBy, highlighted, actions}) {
  const mine = m.sender_id === me.id;
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState('');
  const [earlier, setEarlier] = useState(null); // the versions before the edits, once asked for
  const history = async () => {
    if (earlier) return setEarlier(null);
    const r = await client.request('chat_message_edits', {msg_id: m.id, limit: 20});
    setEarlier(r.edits);
  };
  const editable = mine && !m.recalled_at && m.content?.type === 'text';
  const save = (ev) => {
    ev.preventDefault();
    if (draft.trim()) actions.edit(m, draft);
    setEditing(false);
  };
  const cls = `msg${mine ? ' mine' : ''}${m.state ? ` is-${m.state}` : ''}${highlighted ? ' highlight' : ''}${m.recalled_at ? ' is-recalled' : ''}`;
  return html`<li class=${cls} data-seq=${m.seq} data-id=${m.id}>
    <div class="bubble">
      ${!mine && sender && m.content?.type !== 'system' ? html`<div class="sender">${sender}<${BotBadge} on=${bot} /></div>` : null}
      ${m.quote ? html`<blockquote class="quote">${m.quote.recalled ? t('recalled') : m.quote.text || `[${m.quote.type}]`}</blockquote>` : null}
      ${editing
        ? html`<form class="edit" onSubmit=${save}>
            <input value=${draft} onInput=${(e) => setDraft(e.target.value)} onKeyDown=${(e) => e.key === 'Escape' && setEditing(false)} aria-label=${t('edit')} />
            <button type="submit">${t('save')}</button>
            <button type="button" onClick=${() => setEditing(false)}>${t('cancel')}</button>
          </form>`
        : html`<${Content} client=${client} content=${m.recalled_at ? null : m.content} m=${m} />`}
      ${m.recalled_at ? null : html`<${StreamState} client=${client} m=${m} />`}
      <div class="meta">
        ${m.edited_at && !m.recalled_at ? html`<button type="button" class="link edited" title=${t('edit_history')} onClick=${history}>${t('edited')}</button>` : null}
        <time>${timeLabel(m.created_at)}</time>
        ${readHere ? html`<span class="read-mark">${t('read')}</span>` : null}
        ${readBy ? html`<span class="read-by">${t('read_by').replace('{n}', readBy)}</span>` : null}
      </div>
      ${earlier && !m.recalled_at
        ? html`<ol class="earlier">
            ${earlier.map((e) => html`<li key=${e.edit_id}><${Content} client=${client} content=${e.content} /> <time>${timeLabel(e.edited_at)}</time></li>`)}
          </ol>`
        : null}
      ${(m.reactions || []).length
        ? html`<div class="reactions">
            ${m.reactions.map(
              (r) => html`<button type="button" class=${`reaction${r.user_ids.includes(me.id) ? ' mine' : ''}`}
                onClick=${() => actions.react(m, r.emoji, r.user_ids.includes(me.id))}>${r.emoji} ${r.count}</button>`,
            )}
          </div>`
        : null}
    </div>
    ${m.recalled_at || !m.content || m.content.type === 'system'
      ? null
      : html`<div class="actions">
          ${QUICK_REACTIONS.map((e) => html`<button type="button" class="react" title=${t('react')} onClick=${() => actions.react(m, e, false)}>${e}</button>`)}
          <button type="button" class="do-reply" onClick=${() => actions.reply(m)}>${t('reply')}</button>
          ${editable ? html`<button type="button" class="do-edit" onClick=${() => (setDraft(m.content.text), setEditing(true))}>${t('edit')}</button>` : null}
          ${mine ? html`<button type="button" class="do-recall" onClick=${() => actions.recall(m)}>${t('recall')}</button>` : null}
          <button type="button" class="do-delete" title=${t('delete_help')} onClick=${() => actions.remove(m)}>${t('delete')}</button>
        </div>`}
  </li>`;
}
