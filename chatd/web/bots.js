// What bots bring to a conversation (docs/bots.md): the bot badge, streamed text applied by
// offset, buttons, forms, and the slash commands offered in the composer.
import {useState} from 'preact/hooks';
import {t} from './i18n.js';
import {html, safeHref} from './ui.js';

export const STREAM_PUSHES = new Set(['chat.stream.delta', 'chat.stream.done', 'chat.stream.error']);

export const BotBadge = ({on}) => (on ? html`<span class="bot-badge" title=${t('bot')}>${t('bot')}</span>` : null);

// Offsets count characters (code points), not UTF-16 units.
const chars = (s) => [...s];

// A streamed message with a delta applied: the text grown by the part past the length held;
// unchanged for a delta already held; null when the delta starts past it (a gap: refetch).
export function applyDelta(m, d) {
  const held = chars(m.content?.text || '');
  if (d.offset > held.length) return null;
  const fresh = chars(d.text).slice(held.length - d.offset).join('');
  return fresh ? {...m, content: {...m.content, text: held.join('') + fresh}} : m;
}

// Of two copies of one streaming message (a live one and one just fetched), the one with more text.
export function newer(held, incoming) {
  const grown = (a, b) => a.state === 'streaming' && b.state === 'streaming' && chars(a.content?.text || '').length > chars(b.content?.text || '').length;
  return held && grown(held, incoming) ? held : incoming;
}

// The state line of a streamed message: growing (with Stop), or ended with an error.
export function StreamState({client, m}) {
  if (m.state === 'streaming') {
    const stop = () => client.request('chat_stream_cancel', {stream_id: m.id}).catch(() => {});
    return html`<div class="stream-state streaming" aria-live="polite"><span class="dots">${t('streaming')}</span>
      <button type="button" class="link stop-stream" onClick=${stop}>${t('stop')}</button></div>`;
  }
  if (m.state === 'error') return html`<div class="stream-state stream-error" role="status">⚠ ${t('stream_error')}${(m.streamReason || m.stream_error) ? `: ${m.streamReason || m.stream_error}` : ''}</div>`;
  return null;
}

function useAnswer() {
  const [note, setNote] = useState(null); // {ok, text, field}
  return [note, setNote, (err) => setNote({text: err.message, field: err.field})];
}

// Rows of buttons: a callback is sent to the bot, a url opens (http(s) only), copy copies its value.
export function Buttons({client, m}) {
  const [note, setNote, fail] = useAnswer();
  const click = (b) => {
    // (the clipboard exists only on https or localhost pages: elsewhere the failure is shown)
    if (b.action === 'copy') return Promise.resolve().then(() => navigator.clipboard.writeText(b.value)).then(() => setNote({ok: true, text: t('copied')}), fail);
    client.request('chat_button_click', {msg_id: m.id, value: b.value}).then(() => setNote({ok: true, text: t('sent')}), fail);
  };
  const one = (b) => {
    if (b.action !== 'url') return html`<button type="button" class=${`bot-button ${b.action || 'callback'}`} onClick=${() => click(b)}>${b.text}</button>`;
    const href = safeHref(b.value);
    return href ? html`<a class="bot-button url" href=${href} target="_blank" rel="noopener noreferrer">${b.text}</a>` : null;
  };
  return html`<div class="bot-buttons">
    ${m.content.text ? html`<span class="text">${m.content.text}</span>` : null}
    ${(m.content.buttons || []).map((row) => html`<div class="button-row">${row.map(one)}</div>`)}
    ${note ? html`<span class=${note.ok ? 'note' : 'error'} role="status">${note.text}</span>` : null}
  </div>`;
}

function Field({f, name, value, set}) {
  const opts = f.options || [];
  switch (f.type) {
    case 'radio':
      return opts.map((o) => html`<label class="choice"><input type="radio" name=${name} value=${o} checked=${value === o} onChange=${() => set(o)} />${o}</label>`);
    case 'select':
      return html`<select name=${f.id} value=${value ?? ''} onChange=${(e) => set(e.target.value)}>
        ${value == null ? html`<option value="">—</option>` : null}${opts.map((o) => html`<option value=${o}>${o}</option>`)}</select>`;
    case 'switch':
      return html`<input type="checkbox" role="switch" name=${f.id} checked=${!!value} onChange=${(e) => set(e.target.checked)} />`;
    case 'textarea':
      return html`<textarea name=${f.id} value=${value ?? ''} placeholder=${f.placeholder || ''} onInput=${(e) => set(e.target.value)} />`;
    default:
      return html`<input name=${f.id} value=${value ?? ''} placeholder=${f.placeholder || ''} onInput=${(e) => set(e.target.value)} />`;
  }
}

// A form: its fields with their defaults; submitted as one chat_form_submit, an error shown by its field.
export function Form({client, m}) {
  const fields = m.content.fields || [];
  const [values, setValues] = useState(() => Object.fromEntries(fields.filter((f) => f.default != null).map((f) => [f.id, f.default])));
  const [note, setNote, fail] = useAnswer();
  const submit = (ev) => {
    ev.preventDefault();
    setNote(null);
    client.request('chat_form_submit', {msg_id: m.id, values}).then(() => setNote({ok: true, text: t('sent')}), fail);
  };
  const errorAt = (f) => note && note.field === `values.${f.id}` ? html`<span class="error field-error" role="alert">${note.text}</span>` : null;
  return html`<form class="bot-form" onSubmit=${submit}>
    ${m.content.text ? html`<span class="text">${m.content.text}</span>` : null}
    ${fields.map(
      (f) => html`<div class=${`form-field ${f.type}`} data-field=${f.id}>
        <span class="label">${f.label || f.id}</span>
        <${Field} f=${f} name=${`f${m.id}-${f.id}`} value=${values[f.id]} set=${(v) => setValues({...values, [f.id]: v})} />
        ${errorAt(f)}
      </div>`,
    )}
    <button type="submit">${t('submit')}</button>
    ${note && (note.ok || !fields.some((f) => note.field === `values.${f.id}`)) ? html`<span class=${note.ok ? 'note' : 'error'} role="status">${note.text}</span>` : null}
  </form>`;
}

// The commands whose name starts what is typed after a leading "/" (before any space).
export function commandChoices(text, commands) {
  const m = /^\/(\w*)$/.exec(text);
  return m && commands ? commands.filter((c) => c.name.startsWith(m[1].toLowerCase())).slice(0, 8) : [];
}

// The command a text runs, as chat_bot_command's data: "/name args" naming a command offered here.
export function commandOf(text, commands, picked) {
  const m = /^\/(\w+)(?:\s+([\s\S]*))?$/.exec(text);
  if (!m || !commands) return null;
  const c = (picked && picked.name === m[1] && picked) || commands.find((x) => x.name === m[1]);
  return c ? {bot_id: c.bot.id, name: c.name, args: (m[2] || '').trim()} : null;
}

export const CommandPicker = ({choices, pick}) =>
  choices.length
    ? html`<ul class="command-picker" role="listbox" aria-label=${t('commands')}>
        ${choices.map((c) => html`<li><button type="button" onClick=${() => pick(c)}><b>/${c.name}</b> <span>${c.description}</span> <span class="note">${c.bot.display_name}</span></button></li>`)}
      </ul>`
    : null;
