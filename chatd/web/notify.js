// Desktop notifications of new messages (the Notification API): shown while the page is hidden
// or shows another conversation, never for muted conversations or one's own. While the page is
// closed, Web Push does it: `subscribePush` registers the service worker (sw.js) and this
// browser's push subscription as a push device of the user (docs/push.md).
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

// Register this browser for Web Push with the server's VAPID key (login's vapid_public_key): a
// subscription made with another key (the server's database was replaced) is made again.
export async function subscribePush(client) {
  if (!granted() || !client.vapidKey || !('serviceWorker' in navigator) || typeof PushManager === 'undefined') return false;
  try {
    const reg = await navigator.serviceWorker.register('/sw.js');
    await navigator.serviceWorker.ready;
    let sub = await reg.pushManager.getSubscription();
    const key = sub?.options?.applicationServerKey;
    if (sub && key && b64url(key) !== client.vapidKey) {
      await sub.unsubscribe();
      sub = null;
    }
    sub = sub || (await reg.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: client.vapidKey}));
    const {endpoint, keys} = sub.toJSON();
    await client.request('push_device_register', {kind: 'webpush', endpoint, p256dh: keys.p256dh, auth: keys.auth});
    return true;
  } catch {
    return false; // no push service here (a private window, a browser without one): the page still notifies while open
  }
}

function b64url(buffer) {
  return btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
