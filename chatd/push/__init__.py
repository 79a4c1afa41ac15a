"""Sending pushes: Web Push on the wire (webpush), the push worker process (worker) and the
server's handle on it (sender). The push service (chatd.services.push) decides what to push.

Nothing here imports the rest of the server, so the worker process starts small."""
