// What a call looks like (calls.js holds what it does): the call buttons of a DM, the call's own
// view over the page (a ring with accept and decline, calling, connecting, the video or the
// voice call with its clock, the end and its reason), and a call's record in the DM history.
// The view says where it stands in data-phase (and data-pc, the peer connection's state), which
// the tests read.
import {useEffect, useRef, useState} from 'preact/hooks';
import {callRecordText, durationLabel} from './calls.js';
import {t} from './i18n.js';
import * as notify from './notify.js';
import {html} from './ui.js';

// Re-render on every change of the call, and every second while it is on (its clock).
function useCall(calls) {
  const [, setTick] = useState(0);
  useEffect(() => {
    const off = calls.on('change', () => setTick((n) => n + 1));
    const timer = setInterval(() => calls.phase() === 'connected' && setTick((n) => n + 1), 1000);
    return () => (off(), clearInterval(timer));
  }, [calls]);
  return [calls.call, calls.phase()];
}

// A <video> or <audio> element playing a MediaStream (srcObject is a property, not an attribute).
function Media({stream, video, mine}) {
  const el = useRef(null);
  useEffect(() => {
    if (el.current && el.current.srcObject !== stream) el.current.srcObject = stream;
  });
  if (!stream) return null;
  return video
    ? html`<video ref=${el} class=${mine ? 'local' : 'remote'} autoplay playsinline muted=${mine} />`
    : html`<audio ref=${el} autoplay />`;
}

// A desktop notification while this page is hidden and a call rings, closed when it stops.
function useRingNotice(ringing, c, name) {
  useEffect(() => {
    if (!ringing || !notify.granted() || document.visibilityState === 'visible') return;
    const body = t(c.server.media === 'video' ? 'call_incoming_video' : 'call_incoming');
    const note = new Notification(name, {body, tag: 'chatd-call', requireInteraction: true});
    note.onclick = () => (window.focus(), note.close());
    return () => note.close();
  }, [ringing]);
}

const PHASE_WORDS = {
  calling: 'call_calling',
  connecting: 'call_connecting',
  reconnecting: 'call_reconnecting',
  away: 'call_away',
};

export function CallView({calls, names}) {
  const [c, phase] = useCall(calls);
  const name = c ? c.peerName || names(calls.peerOf(c)) : '';
  useRingNotice(phase === 'incoming', c, name);
  if (!c) return null;
  const s = c.server;
  const video = s.media === 'video';
  const reason = c.ended || s.reason;
  const words = {
    incoming: t(video ? 'call_incoming_video' : 'call_incoming'),
    connected: durationLabel(Date.now() + (c.skew || 0) - s.accepted_at),
    ended: t('call_ended').replace('{reason}', t(`call_reason_${reason}`)) + (c.note ? ` (${c.note})` : ''),
  }[phase] || t(PHASE_WORDS[phase]).replace('{name}', name);
  const live = phase === 'connecting' || phase === 'connected' || phase === 'reconnecting';
  const muted = (kind) => c.local?.getTracks().some((x) => x.kind === kind && !x.enabled);
  return html`<section class=${`call is-${phase}`} role=${phase === 'incoming' ? 'alertdialog' : 'region'} aria-label=${t('call')}
      data-phase=${phase} data-pc=${c.pcState} data-reason=${phase === 'ended' ? reason : ''} data-call-id=${c.id}>
    <div class="call-head">
      <span class="call-icon" aria-hidden="true">${video ? '🎥' : '📞'}</span>
      <strong class="call-peer">${name}</strong>
      <span class="call-status" aria-live="polite">${words}</span>
    </div>
    ${live ? html`<div class=${`call-media${video ? ' has-video' : ''}`}>
        <${Media} stream=${c.remote} video=${video} />
        ${video ? html`<${Media} stream=${c.local} video=${true} mine=${true} />` : null}
      </div>` : null}
    <div class="call-actions">
      ${phase === 'incoming' && !c.accepting
        ? html`<button type="button" class="call-accept" onClick=${() => calls.accept()}>${t('call_accept')}</button>
            <button type="button" class="call-reject" onClick=${() => calls.hangup()}>${t('call_reject')}</button>`
        : null}
      ${live && c.local
        ? html`<button type="button" class="call-mute" aria-pressed=${muted('audio')} onClick=${() => calls.toggle('audio')}>${t(muted('audio') ? 'call_unmute' : 'call_mute')}</button>
            ${video ? html`<button type="button" class="call-camera" aria-pressed=${muted('video')} onClick=${() => calls.toggle('video')}>${t(muted('video') ? 'call_camera_on' : 'call_camera_off')}</button>` : null}`
        : null}
      ${phase === 'away' ? html`<button type="button" class="call-rejoin" onClick=${() => calls.rejoin()}>${t('call_rejoin')}</button>` : null}
      ${phase === 'calling' || live || phase === 'away' ? html`<button type="button" class="call-hangup" onClick=${() => calls.hangup()}>${t('call_hangup')}</button>` : null}
      ${phase === 'ended' ? html`<button type="button" class="call-close" onClick=${() => calls.dismiss()}>${t('call_close')}</button>` : null}
    </div>
  </section>`;
}

// The call buttons in a DM's header.
export function CallButtons({calls, peer, name}) {
  const [, phase] = useCall(calls);
  const busy = phase !== null && phase !== 'ended';
  return html`<span class="call-buttons">
    <button type="button" class="call-audio" disabled=${busy} title=${t('call_audio_start')} aria-label=${t('call_audio_start')} onClick=${() => calls.place(peer, 'audio', name)}>📞</button>
    <button type="button" class="call-video" disabled=${busy} title=${t('call_video_start')} aria-label=${t('call_video_start')} onClick=${() => calls.place(peer, 'video', name)}>🎥</button>
  </span>`;
}

// A call's record in the DM (a system message with event "call"): how it ended, and how long it was.
export function CallRecord({content}) {
  const d = content.data || {};
  const missed = d.reason === 'missed';
  return html`<span class=${`system call-record${missed ? ' missed' : ''}`} data-reason=${d.reason}>
    ${d.media === 'video' ? '🎥' : '📞'} ${d.reason ? callRecordText(d) : content.text}
  </span>`;
}
