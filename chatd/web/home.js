// The home screen: every conversation, as the server orders them, kept current from pushes.
import {useState} from 'preact/hooks';
import {t} from './i18n.js';
import {html, summary, timeLabel} from './ui.js';

function Entry({c, active}) {
  const last = c.last_message;
  return html`<li class=${`entry${active ? ' active' : ''}${c.muted ? ' is-muted' : ''}`} data-target=${c.target}>
    <a href=${`#${c.target}`}>
      <span class="title">${c.title}</span>
      ${c.pinned ? html`<span class="pin" title=${t('pinned')}>📌</span>` : null}
      ${c.muted ? html`<span class="mute" title=${t('muted')}>🔕</span>` : null}
      <time>${c.last_activity ? timeLabel(c.last_activity) : ''}</time>
      <span class="preview">${last ? summary(last.recalled_at ? null : last.content) : ''}</span>
      ${c.mentioned || c.at ? html`<span class="mention" title=${t('mentioned')}>@</span>` : null}
      ${c.unread ? html`<span class=${`unread${c.muted ? ' quiet' : ''}`}>${c.unread > 99 ? '99+' : c.unread}</span>` : null}
    </a>
  </li>`;
}

export function Home({conversations, active, user, onLogout}) {
  const [peer, setPeer] = useState('');
  const open = (ev) => {
    ev.preventDefault();
    if (/^\d+$/.test(peer.trim())) location.hash = `#dm:${peer.trim()}`;
  };
  return html`<nav class="home">
    <header class="bar">
      <h1>${t('conversations')}</h1>
      <a class="to-search" href="#search">${t('search')}</a>
      <button type="button" class="logout" onClick=${onLogout} title=${user.name}>${t('logout')}</button>
    </header>
    <ul class="entries">
      ${conversations.map((c) => html`<${Entry} key=${c.target} c=${c} active=${c.target === active} />`)}
    </ul>
    ${conversations.length ? null : html`<p class="empty">${t('no_conversations')}</p>`}
    <form class="new-dm" onSubmit=${open}>
      <input inputmode="numeric" value=${peer} onInput=${(e) => setPeer(e.target.value)} placeholder=${t('new_dm')} aria-label=${t('new_dm')} />
      <button type="submit">${t('open')}</button>
    </form>
  </nav>`;
}
