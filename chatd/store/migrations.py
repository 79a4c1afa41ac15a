"""The schema migrations, in order: the SQL of each version (PRAGMA user_version), run at start
by chatd.store.schema.migrate, each in its own transaction. Never edit one that has shipped:
add the next. On PostgreSQL they upgrade an older database translated (chatd.store.pg_upgrade):
a function gets a PgConnection (ask db.on_postgres where its two forms differ).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from . import push as push_store
from .broadcast import migrate as migrate_broadcast
from .dm_routing import MIGRATION as DM_ROUTING
from .directory import MIGRATION as DIRECTORY_MIGRATION


# Each is SQL, or a function for what SQL cannot say alone.
MIGRATIONS: list[str | Callable[[sqlite3.Connection], None]] = [
    # 1: users, tokens, conversations, members, messages and what hangs off them.
    """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        display_name TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        is_admin INTEGER NOT NULL DEFAULT 0,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        last_seen INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE tokens (
        token_hash BLOB PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        device TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX tokens_user ON tokens(user_id);

    -- One table for every kind of conversation: dm, group, room, channel.
    CREATE TABLE conversations (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('dm', 'group', 'room', 'channel')),
        dm_key TEXT UNIQUE,               -- 'low:high' user ids, dm only
        name TEXT NOT NULL DEFAULT '',
        last_seq INTEGER NOT NULL DEFAULT 0,
        last_msg_id INTEGER NOT NULL DEFAULT 0,
        last_activity INTEGER NOT NULL,
        all_mention_seq INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE members (
        conv_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role TEXT NOT NULL DEFAULT 'member',
        last_read_seq INTEGER NOT NULL DEFAULT 0,
        mention_seq INTEGER NOT NULL DEFAULT 0,
        pinned INTEGER NOT NULL DEFAULT 0,
        notify_muted INTEGER NOT NULL DEFAULT 0,
        muted_until INTEGER NOT NULL DEFAULT 0,
        joined_at INTEGER NOT NULL,
        PRIMARY KEY (conv_id, user_id)
    ) WITHOUT ROWID;
    CREATE INDEX members_user ON members(user_id, conv_id);

    -- id: global, time-ordered ((ms - 2025-01-01) << 12 | counter), also the FTS rowid.
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        conv_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        sender_id INTEGER NOT NULL,
        type TEXT NOT NULL,
        content BLOB,                     -- JSON; NULL once recalled
        client_msg_id TEXT,
        quote_id INTEGER,
        mentions TEXT,                    -- JSON list of user ids, 0 = @all; NULL when none
        created_at INTEGER NOT NULL,
        edited_at INTEGER,
        recalled_at INTEGER,
        UNIQUE (conv_id, seq)
    );
    CREATE UNIQUE INDEX messages_client_id ON messages(sender_id, client_msg_id) WHERE client_msg_id IS NOT NULL;
    CREATE INDEX messages_conv_time ON messages(conv_id, id);

    CREATE TABLE message_edits (
        id INTEGER PRIMARY KEY,
        message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        content BLOB NOT NULL,            -- the content before this edit
        edited_at INTEGER NOT NULL
    );
    CREATE INDEX message_edits_msg ON message_edits(message_id, id);

    CREATE TABLE reactions (
        message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL,
        emoji TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (message_id, emoji, user_id)
    ) WITHOUT ROWID;

    -- "Delete for me": hidden for this user only.
    CREATE TABLE hidden_messages (
        user_id INTEGER NOT NULL,
        message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        conv_id INTEGER NOT NULL,
        PRIMARY KEY (user_id, message_id)
    ) WITHOUT ROWID;
    CREATE INDEX hidden_messages_msg ON hidden_messages(message_id);

    -- Contentless full-text index: rowid = messages.id, text segmented by store.search.
    CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='', tokenize='unicode61 remove_diacritics 2');
    """,
    # 2: groups (private, membership by invitation).
    """
    -- One row per group conversation (conversations.kind = 'group', id = conv_id = group id);
    -- the name lives in conversations.name, roles and mutes in members.
    CREATE TABLE groups (
        conv_id INTEGER PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
        avatar TEXT NOT NULL DEFAULT '',
        description TEXT NOT NULL DEFAULT '',
        owner_id INTEGER NOT NULL,
        created_by INTEGER NOT NULL,
        member_count INTEGER NOT NULL DEFAULT 0,
        join_by_id INTEGER NOT NULL DEFAULT 0,   -- anyone may join with the group id
        approval INTEGER NOT NULL DEFAULT 0,     -- invitations by members and join requests wait for an owner/admin
        invite_code TEXT UNIQUE,                 -- NULL: no invite code
        dissolved_at INTEGER                     -- the last member left
    );

    -- Invitations (by plain members) and join requests that wait for an owner or admin.
    CREATE TABLE group_requests (
        id INTEGER PRIMARY KEY,
        conv_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        inviter_id INTEGER NOT NULL DEFAULT 0,   -- 0: the user asked to join
        kind TEXT NOT NULL CHECK (kind IN ('invite', 'join')),
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'cancelled')),
        message TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL,
        decided_by INTEGER NOT NULL DEFAULT 0,
        decided_at INTEGER NOT NULL DEFAULT 0
    );
    CREATE UNIQUE INDEX group_requests_pending ON group_requests(conv_id, user_id) WHERE status = 'pending';
    CREATE INDEX group_requests_conv ON group_requests(conv_id, status, id);
    CREATE INDEX group_requests_user ON group_requests(user_id, id);
    """,
    # 3: chat rooms (public, join to participate).
    """
    -- One row per room (conversations.kind = 'room', id = conv_id = room id); the name lives in
    -- conversations.name, members (role, read pointer, member mute) in members.
    CREATE TABLE rooms (
        conv_id INTEGER PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
        avatar TEXT NOT NULL DEFAULT '',
        description TEXT NOT NULL DEFAULT '',
        owner_id INTEGER NOT NULL,               -- the owner's role comes back when they rejoin
        created_by INTEGER NOT NULL,
        member_count INTEGER NOT NULL DEFAULT 0,
        deleted_at INTEGER                       -- deleted rooms keep their messages, not their members
    );
    CREATE INDEX rooms_live ON rooms(deleted_at, conv_id);

    -- Kick bans and member mutes outlive membership, so exiting and rejoining lifts neither.
    CREATE TABLE room_sanctions (
        conv_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        banned_until INTEGER NOT NULL DEFAULT 0,
        muted_until INTEGER NOT NULL DEFAULT 0,
        by INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (conv_id, user_id)
    ) WITHOUT ROWID;
    """,
    # 4: the search index also names each message's conversation (column `conv`, token
    # c<conv_id>), so a search limited to a user's conversations is done inside FTS5.
    # The index is rebuilt from the messages; chatd_indexed is registered by migrate().
    """
    DROP TABLE messages_fts;
    CREATE VIRTUAL TABLE messages_fts USING fts5(text, conv, content='', tokenize='unicode61 remove_diacritics 2');
    INSERT INTO messages_fts (rowid, text, conv)
        SELECT id, chatd_indexed(type, content), 'c' || conv_id FROM messages
        WHERE content IS NOT NULL AND type != 'system' AND chatd_indexed(type, content) != '';
    """,
    # 5: messages are indexed for search shortly after they are stored (search.op_index_pending);
    # every message up to indexed_upto is in the index. All messages so far are.
    """
    CREATE TABLE search_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        indexed_upto INTEGER NOT NULL
    );
    INSERT INTO search_state (id, indexed_upto) SELECT 1, COALESCE(MAX(id), 0) FROM messages;
    """,
    # 6: badges leave out what a user deleted for themselves (counted per user and conversation),
    # and a recall erases the edit history and the mentions of the message. Messages recalled
    # before this version lose theirs now, and the mention seqs that pointed at them move back
    # to the newest unread mention left.
    """
    CREATE INDEX IF NOT EXISTS hidden_messages_conv ON hidden_messages(user_id, conv_id);
    DELETE FROM message_edits WHERE message_id IN (SELECT id FROM messages WHERE recalled_at IS NOT NULL);
    UPDATE messages SET mentions = NULL WHERE recalled_at IS NOT NULL AND mentions IS NOT NULL;
    UPDATE members SET mention_seq = COALESCE((SELECT MAX(m.seq) FROM messages m, json_each(m.mentions) j
        WHERE m.conv_id = members.conv_id AND m.seq > members.last_read_seq AND m.mentions IS NOT NULL
        AND m.sender_id != members.user_id AND j.value = members.user_id), 0)
        WHERE mention_seq > last_read_seq AND EXISTS (SELECT 1 FROM messages m
        WHERE m.conv_id = members.conv_id AND m.seq = members.mention_seq AND m.recalled_at IS NOT NULL);
    UPDATE conversations SET all_mention_seq = COALESCE((SELECT MAX(m.seq) FROM messages m, json_each(m.mentions) j
        WHERE m.conv_id = conversations.id AND m.mentions IS NOT NULL AND j.value = 0), 0)
        WHERE EXISTS (SELECT 1 FROM messages m
        WHERE m.conv_id = conversations.id AND m.seq = conversations.all_mention_seq AND m.recalled_at IS NOT NULL);
    """,
    # Storage limits: the bytes each user has stored (the content of the messages they sent and
    # have not recalled, system messages left out, plus those messages' edit histories), kept up
    # to date in the transaction of every send, edit and recall (limits.user_storage_bytes);
    # and how many times each message was edited (limits.max_edits_per_message), which the
    # history no longer tells once its oldest versions are dropped (limits.max_edit_history_bytes).
    """
    ALTER TABLE users ADD COLUMN stored_bytes INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN edit_count INTEGER NOT NULL DEFAULT 0;
    UPDATE messages SET edit_count = (SELECT COUNT(*) FROM message_edits e WHERE e.message_id = messages.id)
        WHERE edited_at IS NOT NULL;
    CREATE TEMP TABLE stored_now (uid INTEGER PRIMARY KEY, bytes INTEGER NOT NULL);
    INSERT INTO stored_now (uid, bytes) SELECT sender_id, SUM(bytes) FROM (
        SELECT sender_id, length(content) AS bytes FROM messages WHERE type != 'system' AND content IS NOT NULL
        UNION ALL
        SELECT m.sender_id, length(e.content) FROM message_edits e JOIN messages m ON m.id = e.message_id
        WHERE m.type != 'system'
    ) GROUP BY sender_id;
    UPDATE users SET stored_bytes = (SELECT bytes FROM stored_now WHERE uid = users.id)
        WHERE id IN (SELECT uid FROM stored_now);
    DROP TABLE stored_now;
    """,
    # 8: the disabled accounts, for the watch that looks for them (users.op_disabled_if_changed):
    # without an index it read every user row, which then stayed in the writer's page cache.
    """
    CREATE INDEX IF NOT EXISTS users_disabled ON users(id) WHERE disabled = 1;
    """,
    # 9: communities. A channel is a conversation of kind 'channel' (its messages, read
    # pointers and per-user flags as for every kind; every community member has a `members`
    # row in every channel, and what they may see is the permission model's answer). Roles,
    # categories, overwrites, invites and join requests are the community's own. `version`
    # goes up with every change that can change a permission, so a cached evaluation is
    # valid for exactly one (community, version); `nonce` tells one database's community 1
    # from another's in a process-wide cache.
    """
    CREATE TABLE IF NOT EXISTS communities (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        icon TEXT NOT NULL DEFAULT '',
        owner_id INTEGER NOT NULL,
        everyone_role_id INTEGER NOT NULL DEFAULT 0,
        public INTEGER NOT NULL DEFAULT 0,
        join_mode TEXT NOT NULL DEFAULT 'invite' CHECK (join_mode IN ('open', 'invite', 'request')),
        member_count INTEGER NOT NULL DEFAULT 0,
        version INTEGER NOT NULL DEFAULT 1,
        nonce INTEGER NOT NULL,
        created_by INTEGER NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS communities_public ON communities(public, member_count DESC, id);
    CREATE TABLE IF NOT EXISTS community_roles (
        id INTEGER PRIMARY KEY,
        community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        position INTEGER NOT NULL,            -- @everyone 0, the others 1..n
        allow INTEGER NOT NULL DEFAULT 0,     -- chatd.policy.community_perms.Capability bits
        created_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS community_roles_community ON community_roles(community_id, position);
    CREATE TABLE IF NOT EXISTS community_members (
        community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        timed_out_until INTEGER NOT NULL DEFAULT 0,
        joined_at INTEGER NOT NULL,
        PRIMARY KEY (community_id, user_id)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS community_members_user ON community_members(user_id, community_id);
    CREATE TABLE IF NOT EXISTS community_member_roles (
        community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL,
        role_id INTEGER NOT NULL REFERENCES community_roles(id) ON DELETE CASCADE,
        PRIMARY KEY (community_id, user_id, role_id)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS community_member_roles_role ON community_member_roles(role_id);
    CREATE TABLE IF NOT EXISTS community_categories (
        id INTEGER PRIMARY KEY,
        community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        position INTEGER NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS community_categories_community ON community_categories(community_id, position);
    -- One row per channel (conversations.kind = 'channel', id = conv_id = channel id).
    CREATE TABLE IF NOT EXISTS community_channels (
        conv_id INTEGER PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
        community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
        category_id INTEGER REFERENCES community_categories(id) ON DELETE SET NULL,
        position INTEGER NOT NULL,
        topic TEXT NOT NULL DEFAULT '',
        synced INTEGER NOT NULL DEFAULT 1     -- follows its category's overwrites, has none of its own
    );
    CREATE INDEX IF NOT EXISTS community_channels_community ON community_channels(community_id, category_id, position);
    CREATE TABLE IF NOT EXISTS community_overwrites (
        community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
        place TEXT NOT NULL CHECK (place IN ('category', 'channel')),
        place_id INTEGER NOT NULL,
        target TEXT NOT NULL CHECK (target IN ('role', 'member')),
        target_id INTEGER NOT NULL,
        allow INTEGER NOT NULL DEFAULT 0,
        deny INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (place, place_id, target, target_id)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS community_overwrites_community ON community_overwrites(community_id);
    CREATE TABLE IF NOT EXISTS community_invites (
        code TEXT PRIMARY KEY,
        community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
        created_by INTEGER NOT NULL,
        uses INTEGER NOT NULL DEFAULT 0,
        max_uses INTEGER NOT NULL DEFAULT 0,  -- 0: no limit
        expires_at INTEGER NOT NULL DEFAULT 0, -- 0: never
        created_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS community_invites_community ON community_invites(community_id);
    CREATE TABLE IF NOT EXISTS community_requests (
        community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        message TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL,
        PRIMARY KEY (community_id, user_id)
    ) WITHOUT ROWID;
    """,
    # 10: a join request is decided (approved or refused) and kept as such: the requests
    # move to a table with their status (idempotent: run again, it moves nothing).
    """
    CREATE TABLE IF NOT EXISTS community_join_requests (
        community_id INTEGER NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        message TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'refused')),
        decided_by INTEGER NOT NULL DEFAULT 0,
        decided_at INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (community_id, user_id)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS community_join_requests_pending ON community_join_requests(community_id, status, created_at);
    INSERT OR IGNORE INTO community_join_requests (community_id, user_id, message, created_at)
        SELECT community_id, user_id, message, created_at FROM community_requests;
    DROP TABLE IF EXISTS community_requests;
    """,
    # 11: the social graph (chatd.store.social): friendships (a row per side, each with its
    # owner's remark), friend requests (one per pair and direction, refreshed when asked again),
    # the sends counted by the hourly limit, blocks, the DM whitelist and each user's privacy.
    """
    CREATE TABLE IF NOT EXISTS friendships (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        friend_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        remark TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, friend_id)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS friend_requests (
        from_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        to_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        message TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'rejected')),
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        decided_at INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (from_id, to_id)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS friend_requests_to ON friend_requests(to_id, created_at);
    CREATE INDEX IF NOT EXISTS friend_requests_from ON friend_requests(from_id, created_at);
    CREATE TABLE IF NOT EXISTS friend_request_sends (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS friend_request_sends_user ON friend_request_sends(user_id, at);
    CREATE TABLE IF NOT EXISTS blocks (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        blocked_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, blocked_id)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS blocks_blocked ON blocks(blocked_id);
    CREATE TABLE IF NOT EXISTS dm_whitelist (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        allowed_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, allowed_id)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS privacy (
        user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        dm_policy TEXT NOT NULL DEFAULT 'everyone',
        friend_requests INTEGER NOT NULL DEFAULT 1
    );
    """,
    # 12: media messages (images, videos, files, audio) indexed by conversation, type and seq,
    # for galleries (chat_message_around with types); text messages do not pay for it.
    """
    CREATE INDEX IF NOT EXISTS messages_media ON messages(conv_id, type, seq) WHERE type IN ('image', 'video', 'file', 'audio');
    """,
    # 13: HTML is sanitized before it is stored (chatd.protocol.rich), and searched by its words,
    # not its markup: HTML stored before is sanitized too, edit histories included, and the
    # indexed messages among it are taken out of the index with the text they were indexed
    # with and put back with their words.
    """
    INSERT INTO messages_fts (messages_fts, rowid, text, conv)
        SELECT 'delete', id, chatd_html_source(content), 'c' || conv_id FROM messages
        WHERE type = 'html' AND content IS NOT NULL AND id <= (SELECT indexed_upto FROM search_state WHERE id = 1);
    UPDATE messages SET content = chatd_clean_html(content) WHERE type = 'html' AND content IS NOT NULL;
    INSERT INTO messages_fts (rowid, text, conv)
        SELECT id, chatd_indexed(type, content), 'c' || conv_id FROM messages
        WHERE type = 'html' AND content IS NOT NULL AND id <= (SELECT indexed_upto FROM search_state WHERE id = 1)
        AND chatd_indexed(type, content) != '';
    UPDATE message_edits SET content = chatd_clean_html(content) WHERE CAST(content AS TEXT) LIKE '%"type":"html"%';
    """,
    # 14: a forwarded copy records its origin (JSON {sender_id, created_at}; NULL otherwise).
    """
    ALTER TABLE messages ADD COLUMN forwarded TEXT;
    """,
    # 15: a user's own order of their conversations (sort_order: higher first, after the pinned
    # ones) and conversations removed from their list until a message comes (removed_seq: the
    # last seq when removed; -1 when never).
    """
    ALTER TABLE members ADD COLUMN sort_order INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE members ADD COLUMN removed_seq INTEGER NOT NULL DEFAULT -1;
    """,
    # 16: the language a user wants messages translated into (a BCP 47 tag; '' for none), for
    # bots and clients that translate: chatd itself translates nothing.
    """
    ALTER TABLE users ADD COLUMN translation_language TEXT NOT NULL DEFAULT '';
    """,
    # 17: a community's role assignments have a version of their own, moved only by a change
    # to them: a snapshot after any other change keeps the assignments the last one read
    # (chatd.store.community_cache), the longest read of a big community.
    """
    ALTER TABLE communities ADD COLUMN assignments_version INTEGER NOT NULL DEFAULT 0;
    """,
    migrate_broadcast,
    # 19: uploaded files (chatd.store.uploads): one row per user and file (the bytes are on disk,
    # chatd.media), and which messages name which file (file_refs, kept by chatd.store.messages).
    """
    CREATE TABLE IF NOT EXISTS uploads (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL,
        uploader_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        size INTEGER NOT NULL,
        mime TEXT NOT NULL,
        width INTEGER,
        height INTEGER,
        created_at INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX IF NOT EXISTS uploads_user_file ON uploads(uploader_id, sha256);
    CREATE INDEX IF NOT EXISTS uploads_file ON uploads(sha256, created_at);
    CREATE TABLE IF NOT EXISTS file_refs (
        sha256 TEXT NOT NULL,
        msg_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        PRIMARY KEY (sha256, msg_id)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS file_refs_msg ON file_refs(msg_id);
    """,
    # 20: bot accounts (chatd bot add; docs/bots.md): marked wherever a user is shown; they log
    # in with a token that does not expire (tokens.expires_at far ahead) and have no password.
    """
    ALTER TABLE users ADD COLUMN is_bot INTEGER NOT NULL DEFAULT 0;
    """,
    # 21: streamed messages (chatd.services.streams; docs/bots.md): 'streaming' while a bot's
    # stream runs, 'error' when it ended without its end; NULL for every other message.
    """
    ALTER TABLE messages ADD COLUMN stream_state TEXT;
    CREATE INDEX IF NOT EXISTS messages_streaming ON messages(id) WHERE stream_state = 'streaming';
    """,
    # 22: the slash commands each bot offers (chat_bot_commands_set; docs/bots.md).
    """
    CREATE TABLE IF NOT EXISTS bot_commands (
        bot_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        position INTEGER NOT NULL,
        description TEXT NOT NULL,
        params TEXT NOT NULL,
        PRIMARY KEY (bot_id, name)
    ) WITHOUT ROWID;
    """,
    DM_ROUTING,  # 23: who answers a bot's DM, its bot or a human agent (chatd.store.dm_routing)
    DIRECTORY_MIGRATION,  # 24: the enterprise directory (chatd.store.directory)
    push_store.MIGRATION,  # 25: push devices, push settings, the VAPID key (chatd.store.push)
]
