"""The network side of the WebSocket: the listener (heads, routing, the upgrade), each
connection's reader and write path, who is connected and fanout (hub), per-connection state
(session), and who is asking (origin, forwarded)."""
