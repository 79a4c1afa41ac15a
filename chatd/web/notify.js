// Desktop notifications of new messages (the Notification API; no service worker): shown while
// the page is hidden or shows another conversation, never for muted conversations or one's own.
import {summary, title} from './ui.js';

export const available = typeof Notification !== 'undefined';

export function granted() {
  return available && Notification.permission === 'granted';
}

export async function ask() {
  return available && (await Notification.requestPermission()) === 'granted';
}

// `state()` gives {user, entries (Map target -> entry), shown (the open target)} as they are now.
export function notifyOnMessage(sync, state) {
  return sync.on('message', async (d) => {
    if (d.event !== 'new' || !granted() || d.message.content?.type === 'system') return;
    const {user, entries, shown} = state();
    const key = `${d.kind}:${d.conv_id}`;
    let target = d.kind === 'dm' ? `dm:${d.peer}` : sync.targets.get(key);
    let entry = entries.get(target);
    if (!entry) {
      // a conversation new to this page: its target, name and mute from the list
      const list = await sync.conversations();
      target = target || sync.targets.get(key);
      const c = list.find((x) => x.target === target);
      entry = c && {...c, title: title(c)};
    }
    if (!user || d.message.sender_id === user.id || entry?.muted) return;
    if (document.visibilityState === 'visible' && shown === target) return;
    const note = new Notification(entry?.title || 'chatd', {body: summary(d.message.content).slice(0, 200), tag: target});
    note.onclick = () => {
      window.focus();
      location.hash = `#${target}`;
      note.close();
    };
  });
}
