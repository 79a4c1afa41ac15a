"""The conversation engine: effects and their delivery, conversation kinds, the chat verbs and membership, written once."""
