"""Who may do what in a conversation: pure rules, no I/O (see roles)."""
