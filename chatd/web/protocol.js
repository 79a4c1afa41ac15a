// chatd's WebSocket protocol for browsers (docs/protocol.md), plain JavaScript with no
// dependency: the web client's views use it, and so do the tests, directly in the browser.
//
//   const client = new Client();            // same origin: ws(s)://<host>/ws
//   await client.login('alice', 'password'); // or: await client.resume() with the stored token
//   const sync = new Sync(client);           // every new message exactly once, gaps fetched by seq
//   sync.on('message', (push) => ...);
//   await client.request('chat_dm_send', {peer: 2, content: {type: 'text', text: 'hi'}});
//
// The token is kept in localStorage (never in a URL). After a drop the client reconnects
// with back-off (at once when the browser says it is online again), logs in with the
// token, re-sends the requests still waiting for an answer (sends carry a client_msg_id,
// so a resend never stores a second copy) and Sync catches up by seq.

export const TOKEN_KEY = 'chatd.token';

export class ProtocolError extends Error {
  constructor(cmd, error) {
    super(`${cmd}: ${error.code}: ${error.message || ''}`);
    this.cmd = cmd;
    this.code = error.code;
    this.field = error.field;
    this.retryAfterMs = error.retry_after_ms;
  }
}

// The commands of each kind of conversation: `${prefix}${verb}` with the conversation named by `key`.
export const KINDS = {
  dm: {prefix: 'chat_dm_', key: 'peer'},
  group: {prefix: 'chat_group_', key: 'group_id'},
  room: {prefix: 'chat_room_', key: 'room_id'},
  channel: {prefix: 'community_', key: 'channel_id'},
};
// The pushes that carry a conversation's message events (the same shape for every kind).
export const MESSAGE_PUSHES = new Set(['chat_message', 'community.message']);
export const TYPING_PUSHES = new Set(['chat_typing', 'community.typing']);

export function command(kind, verb) {
  return KINDS[kind].prefix + verb;
}

// {peer: 2} for 'dm:2', {group_id: 7} for 'group:7'.
export function targetArgs(target) {
  const [kind, id] = target.split(':');
  return {[KINDS[kind].key]: Number(id)};
}

export function newId() {
  return globalThis.crypto?.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

function defaultUrl() {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
}

export class Emitter {
  constructor() {
    this.listeners = new Map();
  }
  on(event, fn) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event).add(fn);
    return () => this.listeners.get(event).delete(fn);
  }
  emit(event, detail) {
    for (const fn of [...(this.listeners.get(event) || [])]) {
      try {
        fn(detail);
      } catch (err) {
        console.error(err);
      }
    }
  }
}

export class Client extends Emitter {
  constructor({url = defaultUrl(), storage = globalThis.localStorage, device = 'web', baseDelayMs = 500, maxDelayMs = 15000} = {}) {
    super();
    Object.assign(this, {url, storage, device, baseDelayMs, maxDelayMs});
    this.ws = null;
    this.state = 'offline'; // offline | connecting | online
    this.user = null;
    this.running = false; // reconnect after a drop
    this.attempt = 0;
    this.nextId = 1;
    this.pending = new Map(); // id -> {cmd, data, resolve, reject, timer, sent}
    this.timers = {};
    this.onOnline = () => this.running && this.state === 'offline' && this._reconnectSoon(0);
    this.onOffline = () => this.ws && this.ws.close(4000, 'the browser went offline');
    globalThis.addEventListener?.('online', this.onOnline);
    globalThis.addEventListener?.('offline', this.onOffline);
  }

  get token() {
    return this.storage.getItem(TOKEN_KEY);
  }

  // Log in with a password; the token is stored for later visits.
  async login(username, password) {
    const out = await this._connect({username, password, device: this.device});
    this.storage.setItem(TOKEN_KEY, out.token);
    return out.user;
  }

  // Log in with the stored token; null when there is none or it is no longer valid.
  async resume() {
    if (!this.token) return null;
    try {
      return (await this._connect({token: this.token, device: this.device})).user;
    } catch (err) {
      if (err instanceof ProtocolError && (err.code === 'auth_failed' || err.code === 'user_disabled')) {
        this.storage.removeItem(TOKEN_KEY);
        return null;
      }
      throw err;
    }
  }

  logout() {
    this.storage.removeItem(TOKEN_KEY);
    this._stop();
    this.emit('logout');
  }

  _stop() {
    this.running = false;
    this.user = null;
    clearTimeout(this.timers.reconnect);
    clearInterval(this.timers.heartbeat);
    if (this.ws) this.ws.close(1000, 'logout');
    this.ws = null;
    if (this.state !== 'offline') this._setState('offline');
    for (const [, p] of this.pending) p.reject(new ProtocolError(p.cmd, {code: 'not_logged_in', message: 'logged out'}));
    this.pending.clear();
  }

  // Send a request; resolves with its data or rejects with ProtocolError. Waits while offline,
  // and is sent again on the next connection when the connection drops before the answer.
  request(cmd, data = {}, {timeoutMs = 20000} = {}) {
    return new Promise((resolve, reject) => {
      const id = `w${this.nextId++}`;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ProtocolError(cmd, {code: 'timeout', message: `no answer in ${timeoutMs} ms`}));
      }, timeoutMs);
      const p = {cmd, data, sent: false, timer, resolve: (v) => (clearTimeout(timer), resolve(v)), reject: (e) => (clearTimeout(timer), reject(e))};
      this.pending.set(id, p);
      if (this.state === 'online') this._write(id, p);
    });
  }

  _write(id, p) {
    p.sent = true;
    this.ws.send(JSON.stringify({cmd: p.cmd, id, data: p.data}));
  }

  // Open a socket and log in on it; on success the client is online and keeps reconnecting.
  _connect(loginData) {
    this._stop();
    this.running = true;
    return this._open(loginData);
  }

  _open(loginData) {
    return new Promise((resolve, reject) => {
      this._setState('connecting');
      const ws = new WebSocket(this.url);
      this.ws = ws;
      let loggedIn = false;
      ws.onopen = () => ws.send(JSON.stringify({cmd: 'login', id: 'login', data: loginData}));
      ws.onmessage = (ev) => {
        let frame;
        try {
          frame = JSON.parse(ev.data);
        } catch {
          return;
        }
        if (!loggedIn && frame.id === 'login' && 'ok' in frame) {
          if (!frame.ok) {
            const err = new ProtocolError('login', frame.error || {});
            // A throttled or unavailable server is tried again (after retry_after_ms); wrong credentials are not.
            if (err.code === 'rate_limited' || err.code === 'unavailable') this.retryAfterMs = err.retryAfterMs || 0;
            else this.running = false;
            ws.close(1000);
            reject(err);
            return;
          }
          loggedIn = true;
          this._online(frame.data);
          resolve(frame.data);
          return;
        }
        this._frame(frame);
      };
      ws.onclose = (ev) => {
        if (this.ws !== ws) return;
        this.ws = null;
        clearInterval(this.timers.heartbeat);
        for (const [, p] of this.pending) p.sent = false;
        this._setState('offline');
        if (ev.code === 4003) {
          this.storage.removeItem(TOKEN_KEY);
          this._stop();
          this.emit('logout', {reason: 'revoked'});
        }
        if (!loggedIn) reject(new ProtocolError('login', {code: 'unavailable', message: 'could not connect'}));
        if (this.running) this._reconnectSoon();
      };
    });
  }

  _online(data) {
    const resumed = this.user !== null;
    this.user = data.user;
    this.vapidKey = data.vapid_public_key || ''; // for Web Push (notify.js subscribePush)
    this.session = data.session_id; // this connection: a call's device (docs/calls.md)
    this.attempt = 0;
    this._setState('online');
    const every = Math.max(1, data.heartbeat_interval_s * 500);
    clearInterval(this.timers.heartbeat);
    this.timers.heartbeat = setInterval(() => this._heartbeat(), every);
    for (const [id, p] of this.pending) if (!p.sent) this._write(id, p);
    this.emit('online', {user: data.user, resumed});
  }

  async _heartbeat() {
    const ws = this.ws;
    try {
      await this.request('heartbeat', {}, {timeoutMs: 10000});
    } catch (err) {
      if (err.code === 'timeout' && ws && this.ws === ws) ws.close(4000, 'heartbeat unanswered');
    }
  }

  _reconnectSoon(delayMs) {
    clearTimeout(this.timers.reconnect);
    const backoff = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** this.attempt) * (0.5 + Math.random() / 2);
    const wait = delayMs ?? Math.max(backoff, this.retryAfterMs || 0);
    this.retryAfterMs = 0;
    this.attempt += 1;
    this.timers.reconnect = setTimeout(() => {
      if (!this.running || this.ws || !this.token) return;
      this._open({token: this.token, device: this.device}).catch((err) => {
        if (err instanceof ProtocolError && err.code === 'auth_failed') this.logout();
      });
    }, wait);
  }

  _setState(state) {
    this.state = state;
    this.emit('state', state);
  }

  _frame(frame) {
    if ('ok' in frame && this.pending.has(String(frame.id))) {
      const p = this.pending.get(String(frame.id));
      this.pending.delete(String(frame.id));
      if (frame.ok) p.resolve(frame.data);
      else p.reject(new ProtocolError(frame.cmd, frame.error || {}));
      return;
    }
    if (!('ok' in frame)) this.emit('push', frame);
  }

  // -- files over HTTP (docs/files.md), with the token in the Authorization header ------------

  async upload(blob) {
    const res = await fetch('/api/v1/files', {method: 'POST', body: blob, headers: {Authorization: `Bearer ${this.token}`}});
    const body = await res.json();
    if (!res.ok) throw new ProtocolError('upload', body.error || {code: 'internal'});
    return body;
  }

  // A blob: URL of an uploaded file (or its thumbnail), for <img src>.
  async fileUrl(key, {thumb = false} = {}) {
    const hex = String(key).replace(/^chatd-file:/, '');
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new ProtocolError('file', {code: 'bad_request', message: 'not a file key'});
    const res = await fetch(`/api/v1/files/${hex}${thumb ? '/thumb' : ''}`, {headers: {Authorization: `Bearer ${this.token}`}});
    if (!res.ok) throw new ProtocolError('file', {code: res.status === 404 ? 'not_found' : 'internal', message: `HTTP ${res.status}`});
    return URL.createObjectURL(await res.blob());
  }
}

// Every new message of every conversation exactly once, in seq order (chat_message, and
// community.message for channels): a push whose seq jumps
// past the one known, and every conversation after a reconnect, is caught up by seq from the
// kind's history; a push already seen is dropped. Emits 'message' (chat_message push data:
// event new, edit, recall, react or delete), 'resync' after a reconnect's catch-up.
export class Sync extends Emitter {
  constructor(client) {
    super();
    this.client = client;
    this.known = new Map(); // 'kind:conv_id' -> highest seq seen
    this.targets = new Map(); // 'kind:conv_id' -> 'kind:id' (dm:<peer>, group:<group_id>)
    this.chains = new Map(); // 'kind:conv_id' -> the promise of its last handled event
    this.inRooms = new Map(); // room id -> its room_join on this connection (rooms push to the connections in them)
    client.on('push', (frame) => MESSAGE_PUSHES.has(frame.cmd) && KINDS[frame.data.kind] && this._push(frame.data));
    client.on('online', ({resumed}) => {
      this.inRooms.clear(); // a new connection is in no room yet
      if (resumed) this.catchUp();
    });
  }

  // Put this connection in a room (joining it, for one who is not a member yet).
  enterRoom(roomId) {
    if (!this.inRooms.has(roomId)) {
      const joined = this.client.request('room_join', {room_id: roomId});
      this.inRooms.set(roomId, joined);
      joined.catch(() => this.inRooms.delete(roomId));
    }
    return this.inRooms.get(roomId);
  }

  // Every conversation of the home screen, all pages; learns where each one's seq stands.
  async conversations() {
    const all = [];
    for (let offset = 0; ; ) {
      const page = await this.client.request('chat_conversations', {limit: 200, offset});
      all.push(...page.conversations);
      if (!page.has_more) break;
      offset = page.next_offset;
    }
    for (const c of all) {
      const key = `${c.kind}:${c.conv_id}`;
      this.targets.set(key, c.target);
      if (!this.known.has(key)) this.known.set(key, c.last_seq);
      if (c.kind === 'room') this.enterRoom(Number(c.target.split(':')[1])).catch(() => {});
    }
    return all;
  }

  async catchUp() {
    const list = await this.conversations();
    await Promise.all(list.filter((c) => KINDS[c.kind] && c.last_seq > this.known.get(`${c.kind}:${c.conv_id}`)).map((c) => this._chain(`${c.kind}:${c.conv_id}`, () => this._fill(`${c.kind}:${c.conv_id}`))));
    this.emit('resync', list);
  }

  // The user's own message, from a send's answer: taken as seen when it is the next seq.
  saw(kind, convId, seq) {
    const key = `${kind}:${convId}`;
    if (this.known.get(key) === seq - 1 || !this.known.has(key)) this.known.set(key, seq);
  }

  _push(data) {
    const key = `${data.kind}:${data.conv_id}`;
    if (data.kind === 'dm' && data.peer) this.targets.set(key, `dm:${data.peer}`);
    this._chain(key, async () => {
      if (data.event !== 'new') return this.emit('message', data);
      const known = this.known.get(key);
      if (known === undefined) {
        this.known.set(key, data.seq);
        return this.emit('message', data);
      }
      if (data.seq <= known) return; // seen already (a catch-up fetched it)
      if (data.seq > known + 1) await this._fill(key);
      if (data.seq > this.known.get(key)) {
        this.known.set(key, data.seq);
        this.emit('message', data);
      }
    });
  }

  _chain(key, fn) {
    const next = (this.chains.get(key) || Promise.resolve()).then(fn).catch((err) => console.error('catch-up', err));
    this.chains.set(key, next);
    return next;
  }

  // Fetch what follows the known seq, oldest first, and emit each message as a new one.
  async _fill(key) {
    const kind = key.split(':')[0];
    if (!this.targets.has(key)) await this.conversations();
    const target = this.targets.get(key);
    if (!target) return;
    for (;;) {
      const after = this.known.get(key) || 0;
      const page = await this.client.request(command(kind, 'history'), {...targetArgs(target), after_seq: after, limit: 100});
      for (const m of page.messages) {
        if (m.seq <= this.known.get(key)) continue;
        this.known.set(key, m.seq);
        const peer = kind === 'dm' ? Number(target.split(':')[1]) : undefined;
        this.emit('message', {event: 'new', kind, conv_id: m.conv_id, seq: m.seq, peer, message: m, caughtUp: true});
      }
      if (!page.has_more || page.messages.length === 0) return;
    }
  }
}
