// What every view shares: the html tag, safe text and links, and short forms of a message.
import {h} from 'preact';
import {useEffect, useState} from 'preact/hooks';
import htm from 'htm';
import {callRecordText} from './calls.js';
import {lang, t} from './i18n.js';

export const html = htm.bind(h);

// A link's address, only when it is http(s); anything else (javascript:, data:, ...) gives null.
export function safeHref(url) {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

const URL_RE = /\bhttps?:\/\/[^\s<>"']+/g;

// Plain text as text nodes, with its http(s) URLs as links.
export function Linkified({text}) {
  const parts = [];
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    const url = m[0].replace(/[.,;:!?)]+$/, '');
    const href = safeHref(url);
    if (!href) continue;
    parts.push(text.slice(last, m.index));
    parts.push(html`<a href=${href} target="_blank" rel="noopener noreferrer nofollow">${url}</a>`);
    last = m.index + url.length;
  }
  parts.push(text.slice(last));
  return html`<span class="text">${parts}</span>`;
}

// One line for a conversation list or a quote.
export function summary(content) {
  if (!content) return t('recalled');
  switch (content.type) {
    case 'text':
    case 'markdown':
      return content.text;
    case 'html':
      return new DOMParser().parseFromString(content.text, 'text/html').body.textContent || '';
    case 'image':
      return t('image');
    case 'file':
      return `${t('file')} ${content.name || ''}`;
    case 'system':
      return content.event === 'call' && content.data?.reason ? callRecordText(content.data) : content.text || content.event;
    default:
      return content.text || content.title || `[${content.type}]`;
  }
}

const timeFormat = new Intl.DateTimeFormat(lang === 'zh' ? 'zh-CN' : undefined, {hour: '2-digit', minute: '2-digit'});
const dayFormat = new Intl.DateTimeFormat(lang === 'zh' ? 'zh-CN' : undefined, {month: 'short', day: 'numeric'});

export function timeLabel(ms) {
  const d = new Date(ms);
  return d.toDateString() === new Date().toDateString() ? timeFormat.format(d) : dayFormat.format(d);
}

// A blob: URL of an uploaded file, fetched with the token (never in the URL); revoked on unmount.
export function useFileUrl(client, key, thumb) {
  const [url, setUrl] = useState(null);
  useEffect(() => {
    let made = null;
    let live = true;
    if (key && key.startsWith('chatd-file:')) {
      client.fileUrl(key, {thumb}).then((u) => (live ? setUrl((made = u)) : URL.revokeObjectURL(u)), () => {});
    } else if (key) {
      setUrl(safeHref(key));
    }
    return () => {
      live = false;
      if (made) URL.revokeObjectURL(made);
    };
  }, [key, thumb]);
  return url;
}

// An action that shows its error: run(fn) clears the error, awaits fn, and keeps the message of its failure.
export function useAction() {
  const [error, setError] = useState('');
  const run = async (fn) => {
    setError('');
    try {
      return await fn();
    } catch (err) {
      setError(err.message);
    }
  };
  return [error, run];
}

// The name a conversation is shown by.
export function title(c) {
  if (c.kind === 'dm') return c.peer_remark || c.peer?.display_name || c.peer?.name || c.target;
  return c.name || c.target;
}
