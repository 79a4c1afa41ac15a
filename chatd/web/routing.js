// Who answers a bot's DM (docs/bots.md, "Handover"): a banner while a human agent handles it,
// and once the bot answers again; from the DM's entry, then live from chat_dm_routing_changed.
import {useEffect, useRef, useState} from 'preact/hooks';
import {t} from './i18n.js';
import {html} from './ui.js';

// [the routing of the DM shown (null: never handed over), the newest version seen winning;
//  the name of an agent seen handling it, by user id (its messages stay after the release)].
export function useRouting(client, convId, entry) {
  const [routing, setRouting] = useState(entry?.routing ? {...entry.routing, live: false} : null);
  const agents = useRef(new Map());
  const newer = (r) => {
    if (r.agent) agents.current.set(r.agent.id, r.agent.display_name || r.agent.name);
    setRouting((held) => (held && held.conv_id === r.conv_id && held.version >= r.version ? held : r));
  };
  useEffect(() => {
    if (entry?.routing) newer({...entry.routing, live: false});
  }, [entry?.routing?.version]);
  useEffect(
    () => client.on('push', ({cmd, data}) => cmd === 'chat_dm_routing_changed' && data.conv_id === convId && newer({...data, live: true})),
    [convId],
  );
  return [routing, (id) => agents.current.get(id)];
}

// The banner: an agent handling the DM; the bot again, once it was given back while shown.
export function RoutingBanner({routing}) {
  if (!routing) return null;
  if (routing.mode === 'agent') {
    const who = routing.agent ? routing.agent.display_name || routing.agent.name : '';
    return html`<div class="routing agent" role="status">${t('agent_handling').replace('{name}', who)}</div>`;
  }
  return routing.live ? html`<div class="routing bot" role="status">${t('bot_again')}</div>` : null;
}
