// The service worker, for Web Push alone (docs/push.md): served at /sw.js. It shows a
// notification for a message, a call or a friend request while no window of the client is
// visible, and removes a conversation's notifications when it was read on another device.
// Payloads carry ids only (unless the user turned previews on): the text is never needed here.
const zh = (self.navigator.language || '').startsWith('zh');
const WORDS = zh
  ? {message: '新消息', mention: '有人提到了你', call: '来电', friend_request: '新的好友请求'}
  : {message: 'New message', mention: 'You were mentioned', call: 'Incoming call', friend_request: 'New friend request'};

function targetOf(d) {
  if (d.type === 'message') return d.kind === 'dm' ? `dm:${d.sender_id}` : `${d.kind}:${d.conv_id}`;
  return d.type === 'call' ? `dm:${d.sender_id}` : '';
}

async function shown(d) {
  if (d.type === 'read') {
    for (const n of await self.registration.getNotifications({tag: `conv${d.conv_id}`})) n.close();
    return;
  }
  const windows = await self.clients.matchAll({type: 'window', includeUncontrolled: true});
  // the client's page, open and visible, tells the user itself
  if (windows.some((w) => w.visibilityState === 'visible' && new URL(w.url).pathname === '/')) return;
  const word = d.type === 'message' && d.mention ? WORDS.mention : WORDS[d.type] || WORDS.message;
  await self.registration.showNotification(d.sender_name || 'chatd', {
    body: d.text || word,
    tag: d.conv_id ? `conv${d.conv_id}` : d.type,
    data: {target: targetOf(d)},
  });
}

self.addEventListener('push', (event) => {
  let d = {};
  try {
    d = event.data ? event.data.json() : {};
  } catch {
    // not one of chatd's payloads: show nothing
  }
  event.waitUntil(shown(d));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const target = event.notification.data?.target;
  const url = target ? `/#${target}` : '/';
  event.waitUntil(
    self.clients.matchAll({type: 'window', includeUncontrolled: true}).then((windows) => {
      if (!windows.length) return self.clients.openWindow(url);
      return windows[0].focus().then((w) => (target ? w.navigate(url) : w));
    }),
  );
});
