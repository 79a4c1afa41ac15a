"""The network side of the WebSocket: the listener and each connection's write path (transport),
who is connected and fanout (hub), and per-connection state (session)."""
