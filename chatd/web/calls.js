// 1:1 calls in the browser (docs/calls.md, docs/web.md "Calls"): the call this tab shows, from
// the call button or a ring to the end, with no view code. The server owns the call's state; this
// module follows it (rtc_call_incoming, rtc_call_update) and carries the WebRTC side: the
// microphone and camera (getUserMedia when the page may use it), one RTCPeerConnection with the
// ICE servers the server hands out, and its offer, answer and candidates through the server
// (rtc_offer, rtc_answer, rtc_ice_candidate in, rtc_signal out).
//
//   const calls = new Calls(client);
//   calls.on('change', () => render(calls.call, calls.phase()));
//   calls.place(2, 'video', 'bob');   calls.accept();   calls.hangup();
//
// A tab shows one call: a ring that comes while it shows another live call rings the user's
// other tabs and devices only. After a reconnect (a new connection is a new device) the tab
// takes its place in the call again with rtc_call_state and sends a new offer.
import {t} from './i18n.js';
import {Emitter} from './protocol.js';

// The words of a call's record in the DM (a system message with event "call"), in the user's language.
export function callRecordText(data) {
  const media = t(data.media === 'video' ? 'call_video' : 'call_audio');
  const words = t(`call_record_${data.reason}`);
  const text = words.replace('{media}', media).replace('{duration}', durationLabel(data.duration_ms || 0));
  return text[0].toUpperCase() + text.slice(1);
}

export function durationLabel(ms) {
  const s = Math.floor(ms / 1000);
  const mmss = `${Math.floor(s / 60) % 60}:${String(s % 60).padStart(2, '0')}`;
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mmss.padStart(5, '0')}` : mmss;
}

// The microphone (and camera for a video call), or less when the page may not have them: a page
// on plain http away from localhost has no getUserMedia, and a user may refuse. null: no media
// (the call still connects, and this side only hears and sees).
async function userMedia(media) {
  const devices = globalThis.navigator?.mediaDevices;
  if (!devices?.getUserMedia) return null;
  for (const ask of media === 'video' ? [{audio: true, video: true}, {audio: true}] : [{audio: true}]) {
    try {
      return await devices.getUserMedia(ask);
    } catch {
      // try with less
    }
  }
  return null;
}

export class Calls extends Emitter {
  constructor(client) {
    super();
    this.client = client;
    this.call = null; // the call this tab shows (see _start for its fields)
    client.on('push', ({cmd, data}) => {
      if (cmd === 'rtc_call_incoming') this._incoming(data);
      else if (cmd === 'rtc_call_update') this._update(data.call);
      else if (cmd === 'rtc_signal' && data.call_id && this.call?.id === data.call_id) this._queue(this.call, data);
    });
    client.on('online', ({resumed}) => (resumed ? this._reconnected() : this._look()));
    client.on('logout', () => this.call && this._drop(this.call));
  }

  // ringing (calling | incoming), connecting, connected, reconnecting (the other side's device is
  // gone for now), away (this user's device in the call is gone: after a reload), ended.
  phase(c = this.call) {
    if (!c) return null;
    const s = c.server;
    if (c.ended || s.state === 'ended') return 'ended';
    if (s.state === 'ringing') return this._mine(c) ? 'calling' : 'incoming';
    if (c.away) return 'away';
    if (!(this._mine(c) ? s.callee_device : s.caller_device)) return 'reconnecting';
    return c.pcState === 'connected' ? 'connected' : 'connecting';
  }

  // The other user of the call.
  peerOf(c = this.call) {
    return this._mine(c) ? c.server.callee_id : c.server.caller_id;
  }

  _mine(c) {
    return c.server.caller_id === this.client.user?.id; // this user placed it
  }

  _myDevice(c) {
    return this._mine(c) ? c.server.caller_device : c.server.callee_device;
  }

  _start(fields) {
    if (this.call) this._cleanup(this.call);
    const c = {id: 0, local: null, remote: null, pc: null, pcState: 'new', ended: '', note: '', chain: Promise.resolve(), ...fields};
    c.ready = new Promise((resolve) => (c.connected = resolve)); // resolved once the peer connection exists
    this.call = c;
    this._changed();
    return c;
  }

  _changed() {
    this.emit('change', this.call);
  }

  busy() {
    const p = this.phase();
    return p !== null && p !== 'ended';
  }

  // -- what the user does ---------------------------------------------------------------------

  async place(peer, media, peerName) {
    if (this.busy()) return;
    const me = this.client.user.id;
    const c = this._start({peerName, device: this.client.session, server: {call_id: 0, caller_id: me, callee_id: peer, media, state: 'ringing', caller_device: this.client.session}});
    c.local = await userMedia(media); // asked before the other side rings
    if (this.call !== c || c.ended) return stopTracks(c.local); // hung up meanwhile
    try {
      const r = await this.client.request('rtc_call_invite', {peer, media});
      if (this.call !== c || c.ended) {
        c.id = r.call.call_id;
        return this._send(c, 'rtc_call_hangup', {}); // cancelled while the invite was on its way
      }
      this._apply(c, r.call);
      // Glare: the other side's call to this user, now accepted here; its caller sends the offer.
      this._connect(c, r.ice_servers, !r.merged);
    } catch (err) {
      this._end(c, 'failed', err.code);
    }
  }

  async accept() {
    const c = this.call;
    if (this.phase(c) !== 'incoming') return;
    this._stopRinging(c);
    c.accepting = true;
    this._changed();
    c.local = await userMedia(c.server.media);
    try {
      const r = await this.client.request('rtc_call_accept', {call_id: c.id});
      c.device = this.client.session;
      this._apply(c, r.call);
      this._connect(c, r.ice_servers, false); // the caller's offer comes as rtc_signal
    } catch (err) {
      if (err.code === 'answered_elsewhere') this._drop(c);
      else this._end(c, 'failed', err.code);
    }
  }

  // Decline a ring, cancel a call that rings, or end a live one.
  async hangup() {
    const c = this.call;
    const p = this.phase(c);
    if (!c || p === 'ended') return;
    if (!c.id) return this._end(c, 'cancelled'); // the invite has not been answered yet: place() cancels it
    try {
      const r = await this.client.request(p === 'incoming' ? 'rtc_call_reject' : 'rtc_call_hangup', {call_id: c.id});
      this._apply(c, r.call);
    } catch (err) {
      this._end(c, '', err.code); // ended already (not_found): its record is in the DM
    }
  }

  // After a reload: take this user's place in a live call again.
  async rejoin() {
    const c = this.call;
    if (this.phase(c) !== 'away') return;
    c.local = c.local || (await userMedia(c.server.media));
    await this._resume(c);
  }

  // Close the view of an ended call.
  dismiss() {
    if (this.phase() === 'ended') {
      this.call = null;
      this._changed();
    }
  }

  toggle(kind) {
    const c = this.call;
    for (const track of c?.local?.getTracks() || []) if (track.kind === kind) track.enabled = !track.enabled;
    this._changed();
  }

  // -- what the server says ---------------------------------------------------------------------

  _incoming({call, caller, ice_servers: ice}) {
    if (this.busy() && this.call.id !== call.call_id) return; // this tab is in another call
    const left = call.ring_until - call.server_time; // the server's clock, not this device's
    if (left <= 0) return; // learned of it too late: it does not ring
    const c = this._start({id: call.call_id, server: call, peerName: caller.display_name || caller.name, ice});
    c.ringTimer = setTimeout(() => this.phase(c) === 'incoming' && this._end(c, 'missed'), left);
    c.ring = ringTone();
  }

  _update(view) {
    const c = this.call;
    if (!c) return this._away(view, null);
    if (c.id !== view.call_id) return;
    this._apply(c, view);
    // The server saw this tab's old connection go: take its place now (see _resume).
    if (c.resuming && this.call === c && this._myDevice(c) === null) this._resume(c);
  }

  _apply(c, view) {
    const was = c.server.state;
    c.server = view;
    c.id = view.call_id;
    c.skew = view.server_time - Date.now(); // the server's clock minus this device's
    if (view.state === 'ended') return this._end(c, view.reason);
    const mine = this._myDevice(c);
    if (view.state !== 'ringing' && mine && mine !== c.device) {
      return this._drop(c); // answered on another device of this user, or one took this tab's place
    }
    if (was === 'ringing' && view.state !== 'ringing') this._stopRinging(c);
    this._changed();
  }

  // A ring or a call that another tab or device of this user has: this tab shows nothing.
  _drop(c) {
    this._cleanup(c);
    if (this.call === c) {
      this.call = null;
      this._changed();
    }
  }

  _end(c, reason, error = '') {
    this._cleanup(c);
    c.ended = c.ended || reason || 'ended';
    c.note = error;
    if (this.call === c) this._changed();
  }

  _stopRinging(c) {
    clearTimeout(c.ringTimer);
    c.ring?.stop();
    c.ring = null;
  }

  _cleanup(c) {
    this._stopRinging(c);
    stopTracks(c.local);
    c.pc?.close();
    c.pc = null;
    c.pcState = 'closed';
  }

  // -- the peer connection ------------------------------------------------------------------------

  _newPc(c) {
    c.pc?.close();
    const pc = new RTCPeerConnection({iceServers: c.ice || []});
    c.pc = pc;
    c.remote = new MediaStream();
    c.tracksOn = false;
    pc.ontrack = (ev) => {
      c.remote.addTrack(ev.track);
      this._changed();
    };
    pc.onicecandidate = (ev) => {
      const x = ev.candidate;
      if (x && x.candidate) this._send(c, 'rtc_ice_candidate', {candidate: x.candidate, sdp_mid: x.sdpMid, sdp_mline_index: x.sdpMLineIndex});
    };
    pc.onconnectionstatechange = () => {
      if (c.pc !== pc) return;
      c.pcState = pc.connectionState;
      this._changed();
    };
    return pc;
  }

  _addTracks(c, pc, offering) {
    if (c.tracksOn) return;
    c.tracksOn = true;
    for (const kind of c.server.media === 'video' ? ['audio', 'video'] : ['audio']) {
      const track = c.local?.getTracks().find((x) => x.kind === kind);
      if (track) pc.addTrack(track, c.local);
      else if (offering) pc.addTransceiver(kind, {direction: 'recvonly'}); // no device: receive it anyway
    }
  }

  async _connect(c, ice, offering) {
    if (this.call !== c || this.phase(c) === 'ended') return;
    c.ice = ice;
    const pc = this._newPc(c);
    c.connected();
    if (offering) await this._offer(c, pc, {});
    this._changed();
  }

  async _offer(c, pc, options) {
    this._addTracks(c, pc, true);
    await pc.setLocalDescription(await pc.createOffer(options));
    this._send(c, 'rtc_offer', {sdp: pc.localDescription.sdp});
  }

  _send(c, cmd, data) {
    this.client.request(cmd, {call_id: c.id, ...data}).catch(() => {}); // a call that ended meanwhile
  }

  // Signals are handled one at a time, in the order they came, once the peer connection exists.
  _queue(c, signal) {
    c.chain = c.chain.then(() => c.ready).then(() => this._signal(c, signal)).catch((err) => console.error('call signal', err));
  }

  async _signal(c, s) {
    if (this.call !== c || !c.pc) return;
    if (s.type === 'offer') {
      try {
        await c.pc.setRemoteDescription({type: 'offer', sdp: s.sdp});
      } catch {
        await this._newPc(c).setRemoteDescription({type: 'offer', sdp: s.sdp}); // a new peer connection on the other side (it reloaded)
      }
      this._addTracks(c, c.pc, false);
      await c.pc.setLocalDescription(await c.pc.createAnswer());
      this._send(c, 'rtc_answer', {sdp: c.pc.localDescription.sdp});
    } else if (s.type === 'answer') {
      await c.pc.setRemoteDescription({type: 'answer', sdp: s.sdp});
    } else if (s.candidate) {
      await c.pc.addIceCandidate({candidate: s.candidate, sdpMid: s.sdp_mid, sdpMLineIndex: s.sdp_mline_index}).catch(() => {});
    }
  }

  // -- reconnecting -------------------------------------------------------------------------------

  // The first connection of this page: a call that rings for this user, or that this user is in
  // on a device that is gone (the page was reloaded).
  async _look() {
    if (this.call) return;
    let r;
    try {
      r = await this.client.request('rtc_call_state', {});
    } catch {
      return;
    }
    for (const call of r.calls) {
      if (this.call) return;
      if (call.state === 'ringing' && call.callee_id === this.client.user.id) this._incoming({call, caller: {}, ice_servers: r.ice_servers});
      else this._away(call, r.ice_servers);
    }
  }

  // A live call of this user whose device in it is gone (this page was reloaded, or its old
  // connection ended after this one asked): shown with Rejoin and Hang up.
  _away(call, ice) {
    const me = this.client.user.id;
    if (call.state === 'accepted' || call.state === 'connected') {
      if ((call.caller_id === me ? call.caller_device : call.callee_device) === null) this._start({id: call.call_id, server: call, away: true, ice});
    }
  }

  // A new connection after a drop is a new device: take the old one's place in the call.
  _reconnected() {
    const c = this.call;
    const p = this.phase(c);
    if (!c || !c.id || p === 'ended') return;
    if (p === 'incoming') return this._recheck(c);
    this._resume(c);
  }

  // A ring after a drop: does it still ring? (Answered elsewhere, cancelled or missed meanwhile:
  // the update was sent while this tab was away.)
  async _recheck(c) {
    const r = await this.client.request('rtc_call_state', {}).catch(() => null);
    if (!r || this.call !== c) return;
    const now = r.calls.find((x) => x.call_id === c.id);
    if (now) this._apply(c, now);
    else this._end(c, ''); // it ended: its record is in the DM
  }

  async _resume(c) {
    c.resuming = true;
    let r;
    try {
      r = await this.client.request('rtc_call_state', {call_id: c.id});
    } catch {
      return this._end(c, ''); // it ended meanwhile: its record is in the DM
    }
    if (this.call !== c) return;
    if (!r.resumed) return this._apply(c, r.calls[0]); // another device has it (the view goes), or the server has not seen this tab's old connection go yet (_apply resumes when it does)
    c.resuming = false;
    c.away = false;
    c.device = this.client.session;
    c.ice = r.ice_servers;
    this._apply(c, r.calls[0]);
    if (c.server.state === 'ringing') return; // the offer made before waits for the answer
    // A new offer with an ICE restart (this device's address may have changed), on a new peer
    // connection after a reload.
    const pc = c.pc || this._newPc(c);
    c.connected();
    await this._offer(c, pc, {iceRestart: true});
    this._changed();
  }
}

function stopTracks(stream) {
  for (const track of stream?.getTracks() || []) track.stop();
}

// A ring made by the page (no sound file): two short tones every two seconds while it rings. The
// browser may keep it silent until the user has interacted with the page.
function ringTone() {
  let ctx;
  try {
    ctx = new AudioContext();
  } catch {
    return null;
  }
  const beep = () => {
    for (const at of [0, 0.4]) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      gain.gain.value = 0.08;
      osc.frequency.value = 440;
      osc.connect(gain).connect(ctx.destination);
      osc.start(ctx.currentTime + at);
      osc.stop(ctx.currentTime + at + 0.3);
    }
  };
  beep();
  const timer = setInterval(beep, 2000);
  return {stop: () => (clearInterval(timer), ctx.close().catch(() => {}))};
}
