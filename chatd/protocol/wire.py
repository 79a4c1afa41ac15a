"""Typed wire shapes: generated from clients/protocol.yaml by `python -m chatd.protocol.structgen`. Do not edit by hand.

One Struct per named type, per implemented request's response `data` (<name>Response)
and per implemented push's `data` (<name>Push). Unknown fields are errors; a field may be
null only where the registry says `nullable: true`, and absent (UNSET) only where it says
`optional: true`.
"""

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from .content import Content


class Shape(msgspec.Struct, forbid_unknown_fields=True):
    """A strict wire object: every field declared, no others."""


# -- shared types -----------------------------------------------------------------------------------


class User(Shape, kw_only=True):
    """A user as others see it."""

    id: int
    name: str  # Unique login name.
    display_name: str
    is_admin: bool
    is_bot: bool | UnsetType = UNSET  # Present, and true, for a bot account (docs/bots.md).


class Message(Shape, kw_only=True):
    """A stored message, as history and pushes carry it."""

    id: int  # Global, time-ordered id (fits in 53 bits).
    conv_id: int
    seq: int  # Position in its conversation, from 1 without gaps.
    sender_id: int
    content: Content | None  # null when recalled.
    client_msg_id: str | None  # The sender's id for idempotent resends, or null.
    quote_id: int | None  # The quoted message's id, or null.
    quote: Any  # A short view of the quoted message: {id, sender_id, type, text, recalled}.
    mentions: list[int]  # Mentioned user ids; 0 means @all.
    created_at: int  # Server time, ms since the epoch.
    edited_at: int | None  # Time of the last edit, or null.
    recalled_at: int | None  # Time of the recall, or null. A recalled message has no content.
    reactions: Any  # List of {emoji, count, user_ids}.
    forwarded: Any | UnsetType = UNSET  # Only on a forwarded copy (`chat_message_forward`): {sender_id, created_at} of the original; never its conversation.
    state: str | UnsetType = UNSET  # Only on a streamed message (docs/bots.md) that is not complete: streaming, or error.
    stream_error: str | UnsetType = UNSET  # With state error: why the stream ended (the bot's reason, timeout, disconnected, or restart when the server stopped mid-stream).


class DMRouting(Shape, kw_only=True):
    """Who answers a bot's DM (docs/bots.md, "Handover"): its bot (mode bot), or a human agent (mode agent) until released."""

    conv_id: int
    user_id: int  # The DM's user (the side that is not the bot).
    bot_id: int
    mode: str  # bot or agent.
    agent: User | None  # The agent answering for the bot (mode agent), else null.
    bot_mode: str  # What the bot does now: on (mode bot), off (gets none of the DM's pushes) or observe (gets them, may not send); `bots.handover_bot_mode` at the handover.
    version: int  # One more at each handover and release; 0 for a DM never handed over.
    changed_at: int  # ms since the epoch; 0 for a DM never handed over.
    note: str | None  # The note of the last handover or release, or null.


class Conversation(Shape, kw_only=True):
    """One entry of a user's DM conversation list."""

    conv_id: int
    peer: User
    peer_online: bool
    peer_remark: str  # The name this user gave the peer (`chat_friend_remark_set`), or empty; only its owner sees it.
    last_message: Message | None  # The newest message not deleted for this user, or null.
    last_seq: int
    last_read_seq: int
    peer_last_read_seq: int  # How far the peer has read (what chat_dm_read_receipt pushes as it moves): the user's messages up to this seq are read.
    unread: int  # Messages after last_read_seq, leaving out those the user deleted for themselves (a recalled message still counts).
    mentioned: bool  # An unread message the user has not deleted mentions this user (recalled messages mention nobody).
    pinned: bool
    last_activity: int  # ms since the epoch.
    name: str  # Always empty: a DM has no name (show the peer's `display_name`).
    muted: bool  # Always false: DM notifications cannot be muted yet.
    role: str  # Always member.
    routing: DMRouting | UnsetType = UNSET  # Only on a bot's DM that was ever handed over (`chat_dm_handover`): who answers it now. Absent: its bot does.


class Group(Shape, kw_only=True):
    """A group as its members see it. Its id is also its conversation id: `conv_id` in messages and pushes."""

    group_id: int
    name: str
    avatar: str  # An image URL, or empty.
    description: str
    owner_id: int
    created_by: int
    member_count: int
    join_by_id: bool  # Anyone may join with the group id (`chat_group_join`).
    approval: bool  # Invitations by plain members and join requests wait for an owner or admin.
    invite_code: str | None  # Joins the group with `chat_group_join`; null when off, and for non-members.
    created_at: int
    last_seq: int  # The group's newest seq.
    role: str  # The asking user's role: owner, admin or member.


class Call(Shape, kw_only=True):
    """A 1:1 call as the server keeps it (docs/calls.md). Devices are connection ids: the device that placed the call and the one that answered."""

    call_id: int
    caller_id: int
    callee_id: int
    media: str  # audio or video.
    state: str  # ringing, accepted, connected or ended.
    reason: str  # Once ended: missed, cancelled, rejected, hangup or lost; empty before.
    ended_by: int  # The user whose request ended it; 0 for the clock (missed, lost).
    started_at: int
    ring_until: int  # Server time (ms) the ringing stops: a device never rings after it.
    accepted_at: int  # 0 until answered.
    ended_at: int
    duration_ms: int  # From the answer to the end; 0 if never answered.
    caller_device: str | None  # null while the caller's device is gone (reconnect grace).
    callee_device: str | None  # The device that answered; null before.
    server_time: int


class IceServer(Shape, kw_only=True):
    """One STUN or TURN server, as RTCPeerConnection's iceServers takes it."""

    urls: list[str]
    username: str | UnsetType = UNSET
    credential: str | UnsetType = UNSET


class Participant(Shape, kw_only=True):
    """One device in a group call."""

    user_id: int
    device: str


class BotCommand(Shape, kw_only=True):
    """A slash command offered by a bot in a conversation."""

    bot: User
    name: str
    description: str
    params: list[Any]  # Each {name, description, required}.


class GroupMember(Shape, kw_only=True):
    """One member of a group."""

    user: User
    role: str  # owner, admin or member.
    muted: bool  # Muted by an owner or admin now: sends answer `muted`.
    muted_until: int  # ms since the epoch; 0 when not muted.
    joined_at: int


class GroupRequest(Shape, kw_only=True):
    """An invitation by a plain member, or a request to join, waiting for (or decided by) an owner or admin."""

    request_id: int
    group_id: int
    user: User  # Who would join.
    inviter_id: int  # Who invited them; 0 when the user asked to join.
    kind: str  # invite or join.
    status: str  # pending, approved, rejected, or cancelled (the group was left empty).
    message: str
    created_at: int
    decided_by: int  # 0 while pending.
    decided_at: int


class GroupConversation(Shape, kw_only=True):
    """One entry of a user's group conversation list."""

    conv_id: int
    group_id: int  # Equal to conv_id.
    name: str
    avatar: str
    member_count: int
    role: str  # The user's role: owner, admin or member.
    last_message: Message | None  # The newest message not deleted for this user, or null.
    last_seq: int
    last_read_seq: int
    unread: int  # Messages after last_read_seq, leaving out those the user deleted for themselves (a recalled message still counts).
    mentioned: bool  # An unread message the user has not deleted mentions this user, or everyone (recalled messages mention nobody).
    pinned: bool
    muted: bool  # Notifications muted by this user (`chat_group_mute_set`); not a member mute.
    last_activity: int  # ms since the epoch.


class Community(Shape, kw_only=True):
    """A community: channels in categories, members with roles (`community_create`)."""

    community_id: int
    name: str
    description: str
    icon: str
    owner_id: int
    public: bool  # Listed by `community_discover`.
    join_mode: str  # open (anyone joins by id), invite (by invite code only) or request (joining by id asks; an invite code joins).
    member_count: int
    created_at: int


class CommunityConversation(Shape, kw_only=True):
    """One entry of a user's channel list (`community_conversations`), with the badges of every conversation."""

    conv_id: int
    channel_id: int  # Equal to conv_id.
    community_id: int
    category_id: int | None
    position: int
    name: str
    role: str  # Always member: roles are the community's (`community_members`).
    last_message: Message | None  # The newest message not deleted for this user, or null.
    last_seq: int
    last_read_seq: int
    unread: int
    mentioned: bool
    pinned: bool
    muted: bool
    last_activity: int  # ms since the epoch.


class CommunityMember(Shape, kw_only=True):
    """One member of a community (`community_members`)."""

    user_id: int
    name: str
    display_name: str
    role_ids: list[int]  # The member's roles besides @everyone, by id.
    timed_out_until: int  # ms since the epoch; 0 when not timed out.
    joined_at: int
    is_bot: bool | UnsetType = UNSET  # Present, and true, for a bot account (docs/bots.md).


class CommunityRole(Shape, kw_only=True):
    """A role of a community: a named set of capabilities with a position (@everyone 0, the others 1..n, higher above)."""

    role_id: int
    name: str
    position: int
    allow: list[str]  # Capability names: view_channel, send, read_history, mention_everyone, manage_messages, manage_channels, manage_roles, kick, mute, invite, manage_community, administrator.
    member_count: int  # Members who have it (0 for @everyone, which every member has).


class CommunityChannel(Shape, kw_only=True):
    """A text channel of a community (`community_channel_list`); its id is its conversation's."""

    channel_id: int
    community_id: int
    category_id: int | None
    name: str
    topic: str
    position: int  # Among the channels of its category (or of none), from 0.
    synced: bool  # Follows its category's overwrites live and has none of its own.


class CommunityCategory(Shape, kw_only=True):
    """A category of a community's channels, with the channels in it the asking member can see."""

    category_id: int
    name: str
    position: int  # Among the community's categories, from 0.
    channels: list[CommunityChannel]


class CommunityCategoryInfo(Shape, kw_only=True):
    """A category as a write answers it."""

    category_id: int
    name: str
    position: int


class CommunityInvite(Shape, kw_only=True):
    """An invite code of a community (`community_invite_create`); `community_join` with it joins."""

    code: str
    community_id: int
    created_by: int
    uses: int
    max_uses: int  # 0: no limit.
    expires_at: int  # ms since the epoch; 0: never.
    created_at: int


class CommunityJoinRequest(Shape, kw_only=True):
    """A request to join a community whose join_mode is request (`community_join`), pending or decided."""

    community_id: int
    user_id: int
    name: str
    display_name: str
    message: str
    status: str  # pending, approved or refused.
    created_at: int
    decided_by: int  # 0 while pending.
    decided_at: int  # 0 while pending.


class PermissionStep(Shape, kw_only=True):
    """One step of a permission evaluation that changed the capabilities (`community_permissions`)."""

    by: str  # What did it: "base: @everyone and role Mod", "overwrite of role Muted on category Ops", ...
    added: list[str]
    removed: list[str]
    allow: list[str]  # The capabilities after this step.


class Friend(Shape, kw_only=True):
    """One of the user's friends, as that user sees them (`chat_friend_list`)."""

    user: User
    remark: str  # The private name this user gave the friend, or empty; shown only to its owner.
    online: bool  # A device of the friend is connected now.
    since: int  # Friends since, ms since the epoch.


class PushDevice(Shape, kw_only=True):
    """A push device of the user (`push_device_register`): where offline notifications go (docs/push.md)."""

    id: int
    kind: str  # webpush, unifiedpush or gateway.
    endpoint: str  # The push service's URL (webpush, unifiedpush) or the push gateway's (gateway).
    app_id: str  # gateway: the app id the gateway knows; otherwise empty.
    device: str  # The name of the device whose login registered it.
    created_at: int
    last_success: int  # When a push last reached it (ms since the epoch), 0 never.
    failures: int  # Failed deliveries in a row.


class PushSettings(Shape, kw_only=True):
    """When the user's push devices are notified (`push_settings_set`; docs/push.md)."""

    dnd: bool  # Do not disturb: no notification at all (clears still go).
    groups: str  # all, mentions (only messages that mention the user) or none: which group messages notify.
    previews: bool  # Notifications carry the sender's name and the start of the text; otherwise ids only.


class FriendRequest(Shape, kw_only=True):
    """A friend request (`chat_friend_add`), one per pair of users and direction."""

    from_user: User
    to_user: User
    message: str
    status: str  # pending, accepted, rejected, or expired (pending past expires_at).
    created_at: int  # When it was made or last refreshed.
    expires_at: int
    decided_at: int  # 0 while pending.


class Department(Shape, kw_only=True):
    """A department of the enterprise directory (docs/directory.md)."""

    id: int
    parent_id: int | None  # null at the top.
    name: str
    depth: int  # Levels below the first department of the list (0 for it).
    member_count: int  # Its own members.
    total_count: int  # The members of its whole subtree, each once.


class MemberDepartment(Shape, kw_only=True):
    """One of a directory member's departments."""

    id: int
    name: str
    primary: bool


class DirectoryMember(Shape, kw_only=True):
    """A person in the enterprise directory, and the chatd user they are."""

    user: User
    active: bool  # False once the account is deactivated (a leaver).
    name: str
    title: str
    email: str
    phone: str
    employee_no: str
    manager_id: int | None  # The manager's user id.
    departments: list[MemberDepartment]  # The primary one first.
    updated_at: int


class ListedUser(Shape, kw_only=True):
    """A user on one of your lists (blocked, DM whitelist)."""

    user: User
    created_at: int  # When you listed them.


class Room(Shape, kw_only=True):
    """A chat room. Its id is also its conversation id: `conv_id` in messages and pushes."""

    room_id: int
    name: str
    avatar: str  # An image URL, or empty.
    description: str
    owner_id: int  # The room's owner; they get the owner role back whenever they rejoin.
    created_by: int
    member_count: int  # Members: users who joined and have not exited or been kicked.
    present_count: int  # Users in the room now: members with at least one connection that has joined it.
    created_at: int
    last_seq: int  # The room's newest seq.
    role: str | None  # The asking user's role: owner, admin or member; null when not a member.


class RoomMember(Shape, kw_only=True):
    """A user who is in a room now."""

    user: User
    role: str  # owner, admin or member.
    muted: bool  # Muted by the room's owner or admins now: sends answer `muted`.
    muted_until: int  # ms since the epoch; 0 when not muted.
    joined_at: int  # When the user became a member.
    connections: int  # How many of the user's connections are in the room.


class RoomConversation(Shape, kw_only=True):
    """One entry of a user's room conversation list (the rooms the user is a member of)."""

    conv_id: int
    room_id: int  # Equal to conv_id.
    name: str
    avatar: str
    member_count: int
    present_count: int | UnsetType = UNSET  # Users in the room now (in `chat_room_conversations` only; absent from pushes).
    role: str  # The user's role: owner, admin or member.
    last_message: Message | None  # The newest message not deleted for this user, or null.
    last_seq: int
    last_read_seq: int
    unread: int  # Messages after last_read_seq, leaving out those the user deleted for themselves (a recalled message still counts).
    mentioned: bool  # An unread message the user has not deleted mentions this user, or everyone (recalled messages mention nobody).
    pinned: bool
    muted: bool  # Notifications muted by this user (`chat_room_mute_set`); not a member mute.
    last_activity: int  # ms since the epoch.


# -- responses --------------------------------------------------------------------------------------


class LoginResponse(Shape, kw_only=True):
    """`login`: the `data` of a successful response."""

    user: User
    session_id: str
    token: str  # With username/password: a new token for later logins. With a token: the same token.
    server_time: int
    heartbeat_interval_s: float  # Send a frame (heartbeat) at least this often.
    heartbeat_timeout_s: float  # The session ends after this long without a frame.
    vapid_public_key: str | UnsetType = UNSET  # The server's VAPID public key (base64url), the application server key of Web Push subscriptions (`push_device_register`); absent when push is off (`push.enabled`).


class HeartbeatResponse(Shape, kw_only=True):
    """`heartbeat`: the `data` of a successful response."""

    server_time: int


class PingResponse(Shape, kw_only=True):
    """`ping`: the `data` of a successful response."""

    pong: bool
    server_time: int


class ChatDMSendResponse(Shape, kw_only=True):
    """`chat_dm_send`: the `data` of a successful response."""

    id: int
    conv_id: int
    seq: int
    server_time: int  # The message's created_at.
    duplicate: bool  # True when this was a resend of an already stored client_msg_id.
    delivered: bool  # A device of the peer was connected and was sent the message (false for a duplicate: the first send told).
    message: Message


class ChatDMHistoryResponse(Shape, kw_only=True):
    """`chat_dm_history`: the `data` of a successful response."""

    conv_id: int  # 0 when the two users never exchanged a message.
    messages: list[Message]
    has_more: bool
    last_seq: int  # The conversation's newest seq.
    lastid: int  # Time paging: the id to pass as `lastid` for the next page.
    begin: int
    end: int
    num: int


class ChatDMSearchResponse(Shape, kw_only=True):
    """`chat_dm_search`: the `data` of a successful response."""

    results: list[Any]  # Each {message: Message, peer: int, peer_remark: str, snippet: str}; peer_remark is the searcher's own remark for the peer (`chat_friend_remark_set`), or empty.
    has_more: bool


class ChatDMConversationsResponse(Shape, kw_only=True):
    """`chat_dm_conversations`: the `data` of a successful response."""

    conversations: list[Conversation]


class ChatDMMarkReadResponse(Shape, kw_only=True):
    """`chat_dm_mark_read`: the `data` of a successful response."""

    conv_id: int
    last_read_seq: int


class ChatDMPinSetResponse(Shape, kw_only=True):
    """`chat_dm_pin_set`: the `data` of a successful response."""

    conv_id: int
    pinned: bool


class ChatDMTypingResponse(Shape, kw_only=True):
    """`chat_dm_typing`: the `data` of a successful response."""

    sent: bool


class ChatDMControlResponse(Shape, kw_only=True):
    """`chat_dm_control`: the `data` of a successful response."""

    id: int  # The control message's id: unique, increasing; not a seq.
    conv_id: int
    server_time: int


class ChatDMEditResponse(Shape, kw_only=True):
    """`chat_dm_edit`: the `data` of a successful response."""

    message: Message


class ChatDMRecallResponse(Shape, kw_only=True):
    """`chat_dm_recall`: the `data` of a successful response."""

    message: Message


class ChatDMRecallBatchResponse(Shape, kw_only=True):
    """`chat_dm_recall_batch`: the `data` of a successful response."""

    messages: list[Message]  # The recalled messages, in the order given.


class ChatDMDeleteResponse(Shape, kw_only=True):
    """`chat_dm_delete`: the `data` of a successful response."""

    deleted: list[int]


class ChatDMReactResponse(Shape, kw_only=True):
    """`chat_dm_react`: the `data` of a successful response."""

    message: Message


class ChatMessageEditsResponse(Shape, kw_only=True):
    """`chat_message_edits`: the `data` of a successful response."""

    edits: list[Any]  # Each {edit_id, content, edited_at}: `content` is what the message said before the edit made at `edited_at`.
    total: int


class ChatMessageGetResponse(Shape, kw_only=True):
    """`chat_message_get`: the `data` of a successful response."""

    message: Message
    kind: str  # dm, group, room or channel.
    conv_id: int


class ChatMessageAroundResponse(Shape, kw_only=True):
    """`chat_message_around`: the `data` of a successful response."""

    conv_id: int
    kind: str
    anchor_seq: int
    messages: list[Message]
    has_more_before: bool
    has_more_after: bool


class ChatMessageForwardResponse(Shape, kw_only=True):
    """`chat_message_forward`: the `data` of a successful response."""

    results: list[Any]  # Per target, in the order given: {kind, id, ok, messages: [Message], error: {code, message} or null}.


class ChatConversationsResponse(Shape, kw_only=True):
    """`chat_conversations`: the `data` of a successful response."""

    conversations: list[Any]
    has_more: bool
    next_offset: int


class ChatConversationsUnreadResponse(Shape, kw_only=True):
    """`chat_conversations_unread`: the `data` of a successful response."""

    conversations: list[Any]  # As chat_conversations' entries, as they were before any clearing.
    has_more: bool
    cleared: list[str]  # The targets dismissed (with clear).


class ChatConversationSortSetResponse(Shape, kw_only=True):
    """`chat_conversation_sort_set`: the `data` of a successful response."""

    target: str
    sort_order: int


class ChatConversationRemoveResponse(Shape, kw_only=True):
    """`chat_conversation_remove`: the `data` of a successful response."""

    target: str
    removed: bool


class ChatConversationDismissResponse(Shape, kw_only=True):
    """`chat_conversation_dismiss`: the `data` of a successful response."""

    target: str
    last_read_seq: int


class ChatTranslationLanguageSetResponse(Shape, kw_only=True):
    """`chat_translation_language_set`: the `data` of a successful response."""

    language: str


class ChatTranslationLanguageGetResponse(Shape, kw_only=True):
    """`chat_translation_language_get`: the `data` of a successful response."""

    languages: list[Any]  # Each {user_id, language}.


class ChatBroadcastSendResponse(Shape, kw_only=True):
    """`chat_broadcast_send`: the `data` of a successful response."""

    id: int
    conv_id: int
    seq: int
    server_time: int
    duplicate: bool
    message: Message


class ChatBroadcastHistoryResponse(Shape, kw_only=True):
    """`chat_broadcast_history`: the `data` of a successful response."""

    broadcast_id: int  # As asked.
    conv_id: int
    messages: list[Message]
    has_more: bool
    last_seq: int
    lastid: int
    begin: int
    end: int
    num: int


class ChatBroadcastRecallResponse(Shape, kw_only=True):
    """`chat_broadcast_recall`: the `data` of a successful response."""

    message: Message


class PushDeviceRegisterResponse(Shape, kw_only=True):
    """`push_device_register`: the `data` of a successful response."""

    device: PushDevice
    vapid_public_key: str


class PushDeviceUnregisterResponse(Shape, kw_only=True):
    """`push_device_unregister`: the `data` of a successful response."""

    device_id: int


class PushDeviceListResponse(Shape, kw_only=True):
    """`push_device_list`: the `data` of a successful response."""

    devices: list[PushDevice]
    settings: PushSettings
    vapid_public_key: str


class PushSettingsSetResponse(Shape, kw_only=True):
    """`push_settings_set`: the `data` of a successful response."""

    settings: PushSettings


class ChatRoomSendResponse(Shape, kw_only=True):
    """`chat_room_send`: the `data` of a successful response."""

    id: int
    conv_id: int  # Equal to room_id.
    seq: int
    server_time: int  # The message's created_at.
    duplicate: bool  # True when this was a resend of an already stored client_msg_id.
    message: Message


class ChatRoomHistoryResponse(Shape, kw_only=True):
    """`chat_room_history`: the `data` of a successful response."""

    room_id: int
    conv_id: int
    messages: list[Message]
    has_more: bool
    last_seq: int  # The room's newest seq.
    lastid: int  # Time paging: the id to pass as `lastid` for the next page.
    begin: int
    end: int
    num: int


class ChatRoomSearchResponse(Shape, kw_only=True):
    """`chat_room_search`: the `data` of a successful response."""

    results: list[Any]  # Each {message: Message, room_id: int, conv_id: int, snippet: str}.
    has_more: bool


class ChatRoomConversationsResponse(Shape, kw_only=True):
    """`chat_room_conversations`: the `data` of a successful response."""

    conversations: list[RoomConversation]


class ChatRoomMarkReadResponse(Shape, kw_only=True):
    """`chat_room_mark_read`: the `data` of a successful response."""

    room_id: int
    conv_id: int
    last_read_seq: int


class ChatRoomMuteSetResponse(Shape, kw_only=True):
    """`chat_room_mute_set`: the `data` of a successful response."""

    room_id: int
    conv_id: int
    muted: bool


class ChatRoomPinSetResponse(Shape, kw_only=True):
    """`chat_room_pin_set`: the `data` of a successful response."""

    room_id: int
    conv_id: int
    pinned: bool


class ChatRoomTypingResponse(Shape, kw_only=True):
    """`chat_room_typing`: the `data` of a successful response."""

    sent: bool


class ChatRoomControlResponse(Shape, kw_only=True):
    """`chat_room_control`: the `data` of a successful response."""

    id: int  # The control message's id: unique, increasing; not a seq.
    conv_id: int
    server_time: int


class ChatRoomEditResponse(Shape, kw_only=True):
    """`chat_room_edit`: the `data` of a successful response."""

    message: Message


class ChatRoomRecallResponse(Shape, kw_only=True):
    """`chat_room_recall`: the `data` of a successful response."""

    message: Message


class ChatRoomRecallBatchResponse(Shape, kw_only=True):
    """`chat_room_recall_batch`: the `data` of a successful response."""

    messages: list[Message]  # The recalled messages, in the order given.


class ChatRoomDeleteResponse(Shape, kw_only=True):
    """`chat_room_delete`: the `data` of a successful response."""

    deleted: list[int]


class ChatRoomReactResponse(Shape, kw_only=True):
    """`chat_room_react`: the `data` of a successful response."""

    message: Message


class ChatGroupSendResponse(Shape, kw_only=True):
    """`chat_group_send`: the `data` of a successful response."""

    id: int
    conv_id: int  # Equal to group_id.
    seq: int
    server_time: int  # The message's created_at.
    duplicate: bool  # True when this was a resend of an already stored client_msg_id.
    message: Message


class ChatGroupJoinResponse(Shape, kw_only=True):
    """`chat_group_join`: the `data` of a successful response."""

    group_id: int
    joined: bool
    request: GroupRequest | None  # The pending request when approval is on, else null.


class ChatGroupHistoryResponse(Shape, kw_only=True):
    """`chat_group_history`: the `data` of a successful response."""

    group_id: int
    conv_id: int
    messages: list[Message]
    has_more: bool
    last_seq: int  # The group's newest seq.
    lastid: int  # Time paging: the id to pass as `lastid` for the next page.
    begin: int
    end: int
    num: int


class ChatGroupSearchResponse(Shape, kw_only=True):
    """`chat_group_search`: the `data` of a successful response."""

    results: list[Any]  # Each {message: Message, group_id: int, conv_id: int, snippet: str}.
    has_more: bool


class ChatGroupConversationsResponse(Shape, kw_only=True):
    """`chat_group_conversations`: the `data` of a successful response."""

    conversations: list[GroupConversation]


class ChatGroupMarkReadResponse(Shape, kw_only=True):
    """`chat_group_mark_read`: the `data` of a successful response."""

    group_id: int
    conv_id: int
    last_read_seq: int


class ChatGroupMuteSetResponse(Shape, kw_only=True):
    """`chat_group_mute_set`: the `data` of a successful response."""

    group_id: int
    conv_id: int
    muted: bool


class ChatGroupPinSetResponse(Shape, kw_only=True):
    """`chat_group_pin_set`: the `data` of a successful response."""

    group_id: int
    conv_id: int
    pinned: bool


class ChatGroupTypingResponse(Shape, kw_only=True):
    """`chat_group_typing`: the `data` of a successful response."""

    sent: bool


class ChatGroupControlResponse(Shape, kw_only=True):
    """`chat_group_control`: the `data` of a successful response."""

    id: int  # The control message's id: unique, increasing; not a seq.
    conv_id: int
    server_time: int


class ChatGroupEditResponse(Shape, kw_only=True):
    """`chat_group_edit`: the `data` of a successful response."""

    message: Message


class ChatGroupRecallResponse(Shape, kw_only=True):
    """`chat_group_recall`: the `data` of a successful response."""

    message: Message


class ChatGroupRecallBatchResponse(Shape, kw_only=True):
    """`chat_group_recall_batch`: the `data` of a successful response."""

    messages: list[Message]  # The recalled messages, in the order given.


class ChatGroupDeleteResponse(Shape, kw_only=True):
    """`chat_group_delete`: the `data` of a successful response."""

    deleted: list[int]


class ChatGroupReactResponse(Shape, kw_only=True):
    """`chat_group_react`: the `data` of a successful response."""

    message: Message


class ChatDMHandoverResponse(Shape, kw_only=True):
    """`chat_dm_handover`: the `data` of a successful response."""

    routing: DMRouting
    seq: int  # The DM's newest seq at the change.
    changed: bool  # False when the asking agent held the DM already.


class ChatDMReleaseResponse(Shape, kw_only=True):
    """`chat_dm_release`: the `data` of a successful response."""

    routing: DMRouting
    seq: int  # The DM's newest seq at the change.
    changed: bool  # Always true.


class UserSearchResponse(Shape, kw_only=True):
    """`user_search`: the `data` of a successful response."""

    users: list[User]


class ChatButtonClickResponse(Shape, kw_only=True):
    """`chat_button_click`: the `data` of a successful response."""

    msg_id: int
    delivered: bool  # False when the sender has no connection now (the click is not kept).


class ChatFormSubmitResponse(Shape, kw_only=True):
    """`chat_form_submit`: the `data` of a successful response."""

    msg_id: int
    values: Any  # Every field's value as the sender gets it.
    delivered: bool


class ChatBotCommandsSetResponse(Shape, kw_only=True):
    """`chat_bot_commands_set`: the `data` of a successful response."""

    commands: list[Any]


class ChatBotCommandsListResponse(Shape, kw_only=True):
    """`chat_bot_commands_list`: the `data` of a successful response."""

    commands: list[BotCommand]


class ChatBotCommandResponse(Shape, kw_only=True):
    """`chat_bot_command`: the `data` of a successful response."""

    id: int
    conv_id: int
    seq: int
    duplicate: bool
    message: Message


class ChatStreamBeginResponse(Shape, kw_only=True):
    """`chat_stream_begin`: the `data` of a successful response."""

    stream_id: int
    conv_id: int
    seq: int
    duplicate: bool
    message: Message


class ChatStreamAppendResponse(Shape, kw_only=True):
    """`chat_stream_append`: the `data` of a successful response."""

    stream_id: int
    length: int  # Characters of the text so far.
    applied: bool  # False for a delta already applied.


class ChatStreamEndResponse(Shape, kw_only=True):
    """`chat_stream_end`: the `data` of a successful response."""

    message: Message


class ChatStreamCancelRequestResponse(Shape, kw_only=True):
    """`chat_stream_cancel`: the `data` of a successful response."""

    stream_id: int
    forwarded: bool  # False when the bot has no connection now.


class RoomJoinResponse(Shape, kw_only=True):
    """`room_join`: the `data` of a successful response."""

    room: Room
    joined: bool  # True when the user became a member; false when they were one already.


class RoomExitResponse(Shape, kw_only=True):
    """`room_exit`: the `data` of a successful response."""

    room_id: int


class ChatRoomCreateResponse(Shape, kw_only=True):
    """`chat_room_create`: the `data` of a successful response."""

    room: Room


class ChatRoomListResponse(Shape, kw_only=True):
    """`chat_room_list`: the `data` of a successful response."""

    rooms: list[Room]
    total: int


class ChatRoomUpdateResponse(Shape, kw_only=True):
    """`chat_room_update`: the `data` of a successful response."""

    room: Room


class ChatRoomDisbandResponse(Shape, kw_only=True):
    """`chat_room_disband`: the `data` of a successful response."""

    room_id: int


class GroupJoinResponse(Shape, kw_only=True):
    """`group_join`: the `data` of a successful response."""

    group_id: int
    joined: bool
    request: GroupRequest | None


class GroupExitResponse(Shape, kw_only=True):
    """`group_exit`: the `data` of a successful response."""

    group_id: int


class RTCCallInviteResponse(Shape, kw_only=True):
    """`rtc_call_invite`: the `data` of a successful response."""

    call: Call
    merged: bool  # True when this invite met the callee's own ringing invite (glare): `call` is that call, now accepted.
    ice_servers: list[IceServer]  # STUN/TURN servers for this user (TURN credentials expire after calls.turn_ttl_s).


class RTCCallAcceptResponse(Shape, kw_only=True):
    """`rtc_call_accept`: the `data` of a successful response."""

    call: Call
    ice_servers: list[IceServer]


class RTCCallRejectResponse(Shape, kw_only=True):
    """`rtc_call_reject`: the `data` of a successful response."""

    call: Call


class RTCCallHangupResponse(Shape, kw_only=True):
    """`rtc_call_hangup`: the `data` of a successful response."""

    call: Call


class RTCCallStateResponse(Shape, kw_only=True):
    """`rtc_call_state`: the `data` of a successful response."""

    calls: list[Call]
    resumed: bool  # This device took the place of the user's vanished device in the call named by call_id.
    ice_servers: list[IceServer]


class RTCOfferResponse(Shape, kw_only=True):
    """`rtc_offer`: the `data` of a successful response."""

    relayed: bool  # False when it waits for the device that will accept.


class RTCAnswerResponse(Shape, kw_only=True):
    """`rtc_answer`: the `data` of a successful response."""

    relayed: bool


class RTCICECandidateResponse(Shape, kw_only=True):
    """`rtc_ice_candidate`: the `data` of a successful response."""

    relayed: bool


class RTCMultiJoinResponse(Shape, kw_only=True):
    """`rtc_multi_join`: the `data` of a successful response."""

    conv_id: int
    device: str  # This device's id in the call.
    participants: list[Participant]  # The others, already in the call.
    ice_servers: list[IceServer]


class RTCMultiSignalResponse(Shape, kw_only=True):
    """`rtc_multi_signal`: the `data` of a successful response."""

    relayed: bool


class RTCMultiLeaveResponse(Shape, kw_only=True):
    """`rtc_multi_leave`: the `data` of a successful response."""

    conv_id: int
    left: bool  # False when this device was not in the call.


class ChatFriendListResponse(Shape, kw_only=True):
    """`chat_friend_list`: the `data` of a successful response."""

    friends: list[Friend]
    total: int
    has_more: bool


class ChatFriendAddResponse(Shape, kw_only=True):
    """`chat_friend_add`: the `data` of a successful response."""

    request: FriendRequest
    friends: bool  # True when this accepted the other user's pending request.


class ChatFriendRemoveResponse(Shape, kw_only=True):
    """`chat_friend_remove`: the `data` of a successful response."""

    user_id: int


class ChatFriendRemarkSetResponse(Shape, kw_only=True):
    """`chat_friend_remark_set`: the `data` of a successful response."""

    friend: Friend


class ChatFriendRequestListResponse(Shape, kw_only=True):
    """`chat_friend_request_list`: the `data` of a successful response."""

    requests: list[FriendRequest]
    total: int
    has_more: bool


class ChatFriendAcceptResponse(Shape, kw_only=True):
    """`chat_friend_accept`: the `data` of a successful response."""

    request: FriendRequest
    friend: Friend


class ChatFriendRejectResponse(Shape, kw_only=True):
    """`chat_friend_reject`: the `data` of a successful response."""

    request: FriendRequest


class ChatBlockAddResponse(Shape, kw_only=True):
    """`chat_block_add`: the `data` of a successful response."""

    user_id: int
    blocked: bool  # Always true.


class ChatBlockRemoveResponse(Shape, kw_only=True):
    """`chat_block_remove`: the `data` of a successful response."""

    user_id: int
    blocked: bool  # Always false.


class ChatBlockListResponse(Shape, kw_only=True):
    """`chat_block_list`: the `data` of a successful response."""

    users: list[ListedUser]
    total: int
    has_more: bool


class ChatDMWhitelistAddResponse(Shape, kw_only=True):
    """`chat_dm_whitelist_add`: the `data` of a successful response."""

    user_id: int
    listed: bool  # Always true.


class ChatDMWhitelistRemoveResponse(Shape, kw_only=True):
    """`chat_dm_whitelist_remove`: the `data` of a successful response."""

    user_id: int
    listed: bool  # Always false.


class ChatDMWhitelistListResponse(Shape, kw_only=True):
    """`chat_dm_whitelist_list`: the `data` of a successful response."""

    users: list[ListedUser]
    total: int
    has_more: bool


class ChatDMPrivacyGetResponse(Shape, kw_only=True):
    """`chat_dm_privacy_get`: the `data` of a successful response."""

    policy: str  # Who may start a DM or a call with you and add you to a group: everyone, friends, whitelist or department.
    friend_requests: bool  # Anyone (but users you blocked) may send you a friend request.


class ChatDMPrivacySetResponse(Shape, kw_only=True):
    """`chat_dm_privacy_set`: the `data` of a successful response."""

    policy: str
    friend_requests: bool


class EnterpriseDepartmentCreateResponse(Shape, kw_only=True):
    """`enterprise_department_create`: the `data` of a successful response."""

    department: Department


class EnterpriseDepartmentUpdateResponse(Shape, kw_only=True):
    """`enterprise_department_update`: the `data` of a successful response."""

    department: Department


class EnterpriseDepartmentDeleteResponse(Shape, kw_only=True):
    """`enterprise_department_delete`: the `data` of a successful response."""

    department_id: int
    moved_members: int  # Members that were in the department.


class EnterpriseDepartmentListResponse(Shape, kw_only=True):
    """`enterprise_department_list`: the `data` of a successful response."""

    departments: list[Department]


class EnterpriseMemberUpsertResponse(Shape, kw_only=True):
    """`enterprise_member_upsert`: the `data` of a successful response."""

    member: DirectoryMember
    created: bool  # A chatd user was created for this person.


class EnterpriseMemberRemoveResponse(Shape, kw_only=True):
    """`enterprise_member_remove`: the `data` of a successful response."""

    user_id: int
    deactivated: bool


class EnterpriseMemberListResponse(Shape, kw_only=True):
    """`enterprise_member_list`: the `data` of a successful response."""

    department_id: int
    members: list[DirectoryMember]
    total: int
    has_more: bool


class EnterpriseMemberSearchResponse(Shape, kw_only=True):
    """`enterprise_member_search`: the `data` of a successful response."""

    members: list[DirectoryMember]


class ChatRoomMembersResponse(Shape, kw_only=True):
    """`chat_room_members`: the `data` of a successful response."""

    room_id: int
    members: list[RoomMember]
    present_count: int  # Users in the room now.
    member_count: int  # Members, present or not.
    has_more: bool


class ChatRoomMemberKickResponse(Shape, kw_only=True):
    """`chat_room_member_kick`: the `data` of a successful response."""

    room_id: int
    user_id: int
    banned_until: int  # ms since the epoch; 0 when rooms.kick_ban_s is 0.


class ChatRoomMemberMuteSetResponse(Shape, kw_only=True):
    """`chat_room_member_mute_set`: the `data` of a successful response."""

    room_id: int
    user_id: int
    muted: bool
    muted_until: int  # 0 when not muted.


class ChatRoomMemberRoleSetResponse(Shape, kw_only=True):
    """`chat_room_member_role_set`: the `data` of a successful response."""

    room_id: int
    user_id: int
    role: str


class ChatGroupCreateResponse(Shape, kw_only=True):
    """`chat_group_create`: the `data` of a successful response."""

    group: Group


class ChatGroupUpdateResponse(Shape, kw_only=True):
    """`chat_group_update`: the `data` of a successful response."""

    group: Group


class ChatGroupInviteResponse(Shape, kw_only=True):
    """`chat_group_invite`: the `data` of a successful response."""

    group_id: int
    added: list[int]
    pending: list[GroupRequest]
    already: list[int]  # Members already.


class ChatGroupInviteApprovalSetResponse(Shape, kw_only=True):
    """`chat_group_invite_approval_set`: the `data` of a successful response."""

    group_id: int
    approval: bool


class ChatGroupMembersResponse(Shape, kw_only=True):
    """`chat_group_members`: the `data` of a successful response."""

    members: list[GroupMember]
    total: int
    has_more: bool


class ChatGroupReadCountsResponse(Shape, kw_only=True):
    """`chat_group_read_counts`: the `data` of a successful response."""

    group_id: int
    conv_id: int
    member_count: int
    reads: list[Any]  # Each {msg_id, seq, read_count} of this user's messages, oldest first.


class ChatGroupInfoResponse(Shape, kw_only=True):
    """`chat_group_info`: the `data` of a successful response."""

    group: Group


class ChatGroupMemberKickResponse(Shape, kw_only=True):
    """`chat_group_member_kick`: the `data` of a successful response."""

    group_id: int
    user_id: int


class ChatGroupMemberMuteSetResponse(Shape, kw_only=True):
    """`chat_group_member_mute_set`: the `data` of a successful response."""

    group_id: int
    user_id: int
    muted: bool
    muted_until: int  # 0 when not muted.


class ChatGroupListResponse(Shape, kw_only=True):
    """`chat_group_list`: the `data` of a successful response."""

    groups: list[Group]
    total: int


class ChatGroupLeaveResponse(Shape, kw_only=True):
    """`chat_group_leave`: the `data` of a successful response."""

    group_id: int


class ChatGroupRequestsResponse(Shape, kw_only=True):
    """`chat_group_requests`: the `data` of a successful response."""

    requests: list[GroupRequest]
    total: int


class ChatGroupRequestDecideResponse(Shape, kw_only=True):
    """`chat_group_request_decide`: the `data` of a successful response."""

    request: GroupRequest


class ChatGroupMemberRoleSetResponse(Shape, kw_only=True):
    """`chat_group_member_role_set`: the `data` of a successful response."""

    group_id: int
    user_id: int
    role: str


class CommunityCreateResponse(Shape, kw_only=True):
    """`community_create`: the `data` of a successful response."""

    community: Community
    category_id: int  # The first category.
    channel_id: int  # The first channel, #general.


class CommunityUpdateResponse(Shape, kw_only=True):
    """`community_update`: the `data` of a successful response."""

    community: Community


class CommunityDisbandResponse(Shape, kw_only=True):
    """`community_disband`: the `data` of a successful response."""

    community_id: int
    disbanded: bool


class CommunityJoinResponse(Shape, kw_only=True):
    """`community_join`: the `data` of a successful response."""

    community_id: int
    joined: bool
    community: Community


class CommunityLeaveResponse(Shape, kw_only=True):
    """`community_leave`: the `data` of a successful response."""

    community_id: int
    left: bool


class CommunityMembersResponse(Shape, kw_only=True):
    """`community_members`: the `data` of a successful response."""

    community_id: int
    members: list[CommunityMember]
    total: int
    has_more: bool


class CommunityInfoResponse(Shape, kw_only=True):
    """`community_info`: the `data` of a successful response."""

    community: Community


class CommunityMemberKickResponse(Shape, kw_only=True):
    """`community_member_kick`: the `data` of a successful response."""

    community_id: int
    user_id: int
    kicked: bool


class CommunityMemberMuteSetResponse(Shape, kw_only=True):
    """`community_member_mute_set`: the `data` of a successful response."""

    community_id: int
    user_id: int
    timed_out_until: int  # ms since the epoch; 0 when not timed out.


class CommunityRoleSetResponse(Shape, kw_only=True):
    """`community_role_set`: the `data` of a successful response."""

    community_id: int
    user_id: int
    role_ids: list[int]  # The member's roles now, @everyone left out.


class CommunityRoleListResponse(Shape, kw_only=True):
    """`community_role_list`: the `data` of a successful response."""

    community_id: int
    roles: list[CommunityRole]


class CommunityRoleCreateResponse(Shape, kw_only=True):
    """`community_role_create`: the `data` of a successful response."""

    community_id: int
    role: CommunityRole


class CommunityRoleUpdateResponse(Shape, kw_only=True):
    """`community_role_update`: the `data` of a successful response."""

    community_id: int
    role: CommunityRole


class CommunityRoleReorderResponse(Shape, kw_only=True):
    """`community_role_reorder`: the `data` of a successful response."""

    community_id: int
    roles: list[CommunityRole]


class CommunityRoleDeleteResponse(Shape, kw_only=True):
    """`community_role_delete`: the `data` of a successful response."""

    community_id: int
    role_id: int
    deleted: bool


class CommunityOwnerTransferResponse(Shape, kw_only=True):
    """`community_owner_transfer`: the `data` of a successful response."""

    community_id: int
    owner_id: int


class CommunityDiscoverResponse(Shape, kw_only=True):
    """`community_discover`: the `data` of a successful response."""

    communities: list[Community]
    total: int
    has_more: bool


class CommunityChannelCreateResponse(Shape, kw_only=True):
    """`community_channel_create`: the `data` of a successful response."""

    channel: CommunityChannel


class CommunityChannelUpdateResponse(Shape, kw_only=True):
    """`community_channel_update`: the `data` of a successful response."""

    channel: CommunityChannel


class CommunityChannelDeleteResponse(Shape, kw_only=True):
    """`community_channel_delete`: the `data` of a successful response."""

    community_id: int
    channel_id: int
    deleted: bool


class CommunityChannelListResponse(Shape, kw_only=True):
    """`community_channel_list`: the `data` of a successful response."""

    community_id: int
    categories: list[CommunityCategory]
    channels: list[CommunityChannel]  # Those without a category.


class CommunityCategoryCreateResponse(Shape, kw_only=True):
    """`community_category_create`: the `data` of a successful response."""

    community_id: int
    category: CommunityCategoryInfo


class CommunityCategoryUpdateResponse(Shape, kw_only=True):
    """`community_category_update`: the `data` of a successful response."""

    community_id: int
    category: CommunityCategoryInfo


class CommunityCategoryDeleteResponse(Shape, kw_only=True):
    """`community_category_delete`: the `data` of a successful response."""

    community_id: int
    category_id: int
    deleted: bool


class CommunityInviteCreateResponse(Shape, kw_only=True):
    """`community_invite_create`: the `data` of a successful response."""

    invite: CommunityInvite


class CommunityPermissionsResponse(Shape, kw_only=True):
    """`community_permissions`: the `data` of a successful response."""

    community_id: int
    user_id: int
    channel_id: int | None
    place: str  # "channel #general" or "the community".
    allow: list[str]
    roles: list[str]  # The member's roles in the base, highest first.
    trace: list[PermissionStep]
    timed_out_until: int  # 0 when not timed out.


class CommunityRequestListResponse(Shape, kw_only=True):
    """`community_request_list`: the `data` of a successful response."""

    community_id: int
    requests: list[CommunityJoinRequest]
    total: int
    has_more: bool


class CommunityRequestDecideResponse(Shape, kw_only=True):
    """`community_request_decide`: the `data` of a successful response."""

    request: CommunityJoinRequest


class CommunitySendResponse(Shape, kw_only=True):
    """`community_send`: the `data` of a successful response."""

    id: int
    conv_id: int  # Equal to channel_id.
    seq: int
    server_time: int
    duplicate: bool
    message: Message


class CommunityHistoryResponse(Shape, kw_only=True):
    """`community_history`: the `data` of a successful response."""

    channel_id: int
    conv_id: int
    messages: list[Message]
    has_more: bool
    last_seq: int
    lastid: int
    begin: int
    end: int
    num: int


class CommunitySearchResponse(Shape, kw_only=True):
    """`community_search`: the `data` of a successful response."""

    results: list[Any]  # Each {message: Message, channel_id: int, conv_id: int, snippet: str}.
    has_more: bool


class CommunityTypingResponse(Shape, kw_only=True):
    """`community_typing`: the `data` of a successful response."""

    sent: bool


class CommunityControlResponse(Shape, kw_only=True):
    """`community_control`: the `data` of a successful response."""

    id: int  # The control message's id: unique, increasing; not a seq.
    conv_id: int
    server_time: int


class CommunityEditResponse(Shape, kw_only=True):
    """`community_edit`: the `data` of a successful response."""

    message: Message


class CommunityRecallResponse(Shape, kw_only=True):
    """`community_recall`: the `data` of a successful response."""

    message: Message


class CommunityRecallBatchResponse(Shape, kw_only=True):
    """`community_recall_batch`: the `data` of a successful response."""

    messages: list[Message]  # The recalled messages, in the order given.


class CommunityDeleteResponse(Shape, kw_only=True):
    """`community_delete`: the `data` of a successful response."""

    deleted: list[int]


class CommunityReactResponse(Shape, kw_only=True):
    """`community_react`: the `data` of a successful response."""

    message: Message


class CommunityMarkReadResponse(Shape, kw_only=True):
    """`community_mark_read`: the `data` of a successful response."""

    channel_id: int
    conv_id: int
    last_read_seq: int


class CommunityMuteSetResponse(Shape, kw_only=True):
    """`community_mute_set`: the `data` of a successful response."""

    channel_id: int
    conv_id: int
    muted: bool


class CommunityPinSetResponse(Shape, kw_only=True):
    """`community_pin_set`: the `data` of a successful response."""

    channel_id: int
    conv_id: int
    pinned: bool


class CommunityConversationsResponse(Shape, kw_only=True):
    """`community_conversations`: the `data` of a successful response."""

    conversations: list[CommunityConversation]


class CommunityOverwriteSetResponse(Shape, kw_only=True):
    """`community_overwrite_set`: the `data` of a successful response."""

    community_id: int
    place: str
    place_id: int
    target: str
    target_id: int
    allow: list[str]
    deny: list[str]


# -- pushes -----------------------------------------------------------------------------------------


class ChatMessagePush(Shape, kw_only=True):
    """`chat_message`: the push's `data`."""

    event: str
    kind: str  # dm, group, room, channel or broadcast (the server's announcements, to every logged-in connection).
    conv_id: int
    seq: int
    peer: int | UnsetType = UNSET  # DMs only: the other user, from the receiving user's point of view.
    message: Message | UnsetType = UNSET  # Absent for delete.
    msg_ids: list[int] | UnsetType = UNSET  # delete only.


class ChatDMConversationUpdatePush(Shape, kw_only=True):
    """`chat_dm_conversation_update`: the push's `data`."""

    conversation: Conversation


class ChatDMReadReceiptPush(Shape, kw_only=True):
    """`chat_dm_read_receipt`: the push's `data`."""

    conv_id: int
    peer: int  # The user who read.
    seq: int


class ChatDMDeliveryReceiptPush(Shape, kw_only=True):
    """`chat_dm_delivery_receipt`: the push's `data`."""

    conv_id: int
    peer: int  # The user whose device received it.
    seq: int


class ChatTypingPush(Shape, kw_only=True):
    """`chat_typing`: the push's `data`."""

    kind: str
    conv_id: int
    user_id: int
    typing: bool


class ChatControlPush(Shape, kw_only=True):
    """`chat_control`: the push's `data`."""

    kind: str
    conv_id: int
    user_id: int
    id: int
    name: str
    data: Any
    server_time: int


class ChatConversationListUpdatePush(Shape, kw_only=True):
    """`chat_conversation_list_update`: the push's `data`."""

    target: str
    kind: str
    sort_order: int | None  # null when removed.
    removed: bool


class ChatTranslationLanguageUpdatePush(Shape, kw_only=True):
    """`chat_translation_language_update`: the push's `data`."""

    language: str


class ChatPresenceUpdatePush(Shape, kw_only=True):
    """`chat_presence_update`: the push's `data`."""

    user_id: int
    online: bool
    last_seen: int  # ms since the epoch.


class ChatButtonClickedPush(Shape, kw_only=True):
    """`chat.button.click`: the push's `data`."""

    msg_id: int
    kind: str
    conv_id: int
    user: User  # Who clicked.
    value: str


class ChatFormSubmittedPush(Shape, kw_only=True):
    """`chat.form.submit`: the push's `data`."""

    msg_id: int
    kind: str
    conv_id: int
    user: User
    values: Any


class ChatBotCommandRunPush(Shape, kw_only=True):
    """`chat.bot.command`: the push's `data`."""

    bot_id: int
    name: str
    args: str
    msg_id: int
    kind: str
    conv_id: int
    user_id: int


class ChatStreamDeltaPush(Shape, kw_only=True):
    """`chat.stream.delta`: the push's `data`."""

    stream_id: int  # The streamed message's id.
    kind: str
    conv_id: int
    seq: int  # The bot's last delta number this push includes.
    offset: int
    text: str


class ChatStreamDonePush(Shape, kw_only=True):
    """`chat.stream.done`: the push's `data`."""

    stream_id: int
    kind: str
    conv_id: int
    message: Message


class ChatStreamErrorPush(Shape, kw_only=True):
    """`chat.stream.error`: the push's `data`."""

    stream_id: int
    kind: str
    conv_id: int
    reason: str  # The bot's own reason, or timeout, disconnected.
    message: Message


class ChatStreamCancelledPush(Shape, kw_only=True):
    """`chat.stream.cancel`: the push's `data`."""

    stream_id: int
    kind: str
    conv_id: int
    by: int  # The user who asked.


class ChatDMRoutingChangedPush(Shape, kw_only=True):
    """`chat_dm_routing_changed`: the push's `data`."""

    conv_id: int
    seq: int
    user_id: int
    bot_id: int
    mode: str  # bot or agent.
    agent: User | None  # The agent answering now (mode agent), else null.
    previous_agent_id: int | None  # The agent who held it before (a release), else null.
    bot_mode: str  # on, off or observe (DMRouting).
    version: int
    changed_at: int
    by: int  # Who handed it over or released it.
    note: str | None


class ChatRoomConversationUpdatePush(Shape, kw_only=True):
    """`chat_room_conversation_update`: the push's `data`."""

    room_id: int
    removed: bool  # The user is no longer a member.
    conversation: RoomConversation | None  # null when removed.


class ChatGroupConversationUpdatePush(Shape, kw_only=True):
    """`chat_group_conversation_update`: the push's `data`."""

    group_id: int
    removed: bool  # The user is no longer a member.
    conversation: GroupConversation | None  # null when removed.


class ChatGroupRequestUpdatePush(Shape, kw_only=True):
    """`chat_group_request_update`: the push's `data`."""

    request: GroupRequest


class ChatGroupReadReceiptPush(Shape, kw_only=True):
    """`chat_group_read_receipt`: the push's `data`."""

    group_id: int
    conv_id: int
    member_count: int
    reads: list[Any]  # Each {msg_id, seq, read_count}, oldest first.


class RTCCallIncomingPush(Shape, kw_only=True):
    """`rtc_call_incoming`: the push's `data`."""

    call: Call
    caller: User
    ice_servers: list[IceServer]


class RTCCallUpdatePush(Shape, kw_only=True):
    """`rtc_call_update`: the push's `data`."""

    call: Call


class RTCSignalPush(Shape, kw_only=True):
    """`rtc_signal`: the push's `data`."""

    call_id: int  # 0 in a group call.
    conv_id: int  # 0 in a 1:1 call.
    type: str  # offer, answer or candidate.
    from_user: int
    from_device: str
    sdp: str | UnsetType = UNSET
    candidate: str | UnsetType = UNSET
    sdp_mid: str | None | UnsetType = UNSET
    sdp_mline_index: int | None | UnsetType = UNSET


class RTCMultiUpdatePush(Shape, kw_only=True):
    """`rtc_multi_update`: the push's `data`."""

    conv_id: int
    event: str  # joined or left.
    participant: Participant
    participants: list[Participant]


class ChatFriendRequestUpdatePush(Shape, kw_only=True):
    """`chat_friend_request_update`: the push's `data`."""

    request: FriendRequest


class ChatFriendUpdatePush(Shape, kw_only=True):
    """`chat_friend_update`: the push's `data`."""

    event: str  # added, removed or remark.
    user_id: int  # The friend.
    friend: Friend | None


class ChatBlockUpdatePush(Shape, kw_only=True):
    """`chat_block_update`: the push's `data`."""

    user_id: int
    blocked: bool


class ChatDMWhitelistUpdatePush(Shape, kw_only=True):
    """`chat_dm_whitelist_update`: the push's `data`."""

    user_id: int
    listed: bool


class ChatDMPrivacyUpdatePush(Shape, kw_only=True):
    """`chat_dm_privacy_update`: the push's `data`."""

    policy: str
    friend_requests: bool


class CommunityMessagePush(Shape, kw_only=True):
    """`community.message`: the push's `data`."""

    event: str
    kind: str  # channel.
    conv_id: int
    seq: int
    message: Message | UnsetType = UNSET
    msg_ids: list[int] | UnsetType = UNSET


class CommunityMemberChangedPush(Shape, kw_only=True):
    """`community.member_changed`: the push's `data`."""

    community_id: int
    user_id: int
    event: str  # joined, left, kicked, timed_out, time_out_lifted, roles, owner (user_id the new owner) or disbanded (user_id the owner).


class CommunityChannelChangedPush(Shape, kw_only=True):
    """`community.channel_changed`: the push's `data`."""

    community_id: int
    event: str  # created, updated, deleted, hidden, category_created, category_updated or category_deleted.
    channel_id: int | None  # null for a category event.
    category_id: int | None
    channel: CommunityChannel | None  # The channel now (created, updated); null otherwise.


class CommunityTypingPushPush(Shape, kw_only=True):
    """`community.typing`: the push's `data`."""

    kind: str
    conv_id: int
    user_id: int
    typing: bool


class CommunityControlPushPush(Shape, kw_only=True):
    """`community.control`: the push's `data`."""

    kind: str
    conv_id: int
    user_id: int
    id: int
    name: str
    data: Any
    server_time: int


class CommunityRequestDecidedPush(Shape, kw_only=True):
    """`community.request_decided`: the push's `data`."""

    community_id: int
    user_id: int
    status: str  # approved or refused.


class CommunityJoinRequestedPush(Shape, kw_only=True):
    """`community.join_requested`: the push's `data`."""

    community_id: int
    request: CommunityJoinRequest


class CommunityRoleChangedPush(Shape, kw_only=True):
    """`community.role_changed`: the push's `data`."""

    community_id: int
    event: str  # created, updated, deleted or reordered.
    role_id: int | None  # null for reordered.
    role: CommunityRole | None  # The role now (created, updated); null otherwise.


class CommunityConversationUpdatePush(Shape, kw_only=True):
    """`community.conversation_update`: the push's `data`."""

    channel_id: int
    removed: bool
    conversation: CommunityConversation | None


RESPONSES: dict[str, type[Shape]] = {
    "login": LoginResponse,
    "heartbeat": HeartbeatResponse,
    "ping": PingResponse,
    "chat_dm_send": ChatDMSendResponse,
    "chat_dm_history": ChatDMHistoryResponse,
    "chat_dm_search": ChatDMSearchResponse,
    "chat_dm_conversations": ChatDMConversationsResponse,
    "chat_dm_mark_read": ChatDMMarkReadResponse,
    "chat_dm_pin_set": ChatDMPinSetResponse,
    "chat_dm_typing": ChatDMTypingResponse,
    "chat_dm_control": ChatDMControlResponse,
    "chat_dm_edit": ChatDMEditResponse,
    "chat_dm_recall": ChatDMRecallResponse,
    "chat_dm_recall_batch": ChatDMRecallBatchResponse,
    "chat_dm_delete": ChatDMDeleteResponse,
    "chat_dm_react": ChatDMReactResponse,
    "chat_message_edits": ChatMessageEditsResponse,
    "chat_message_get": ChatMessageGetResponse,
    "chat_message_around": ChatMessageAroundResponse,
    "chat_message_forward": ChatMessageForwardResponse,
    "chat_conversations": ChatConversationsResponse,
    "chat_conversations_unread": ChatConversationsUnreadResponse,
    "chat_conversation_sort_set": ChatConversationSortSetResponse,
    "chat_conversation_remove": ChatConversationRemoveResponse,
    "chat_conversation_dismiss": ChatConversationDismissResponse,
    "chat_translation_language_set": ChatTranslationLanguageSetResponse,
    "chat_translation_language_get": ChatTranslationLanguageGetResponse,
    "chat_broadcast_send": ChatBroadcastSendResponse,
    "chat_broadcast_history": ChatBroadcastHistoryResponse,
    "chat_broadcast_recall": ChatBroadcastRecallResponse,
    "push_device_register": PushDeviceRegisterResponse,
    "push_device_unregister": PushDeviceUnregisterResponse,
    "push_device_list": PushDeviceListResponse,
    "push_settings_set": PushSettingsSetResponse,
    "chat_room_send": ChatRoomSendResponse,
    "chat_room_history": ChatRoomHistoryResponse,
    "chat_room_search": ChatRoomSearchResponse,
    "chat_room_conversations": ChatRoomConversationsResponse,
    "chat_room_mark_read": ChatRoomMarkReadResponse,
    "chat_room_mute_set": ChatRoomMuteSetResponse,
    "chat_room_pin_set": ChatRoomPinSetResponse,
    "chat_room_typing": ChatRoomTypingResponse,
    "chat_room_control": ChatRoomControlResponse,
    "chat_room_edit": ChatRoomEditResponse,
    "chat_room_recall": ChatRoomRecallResponse,
    "chat_room_recall_batch": ChatRoomRecallBatchResponse,
    "chat_room_delete": ChatRoomDeleteResponse,
    "chat_room_react": ChatRoomReactResponse,
    "chat_group_send": ChatGroupSendResponse,
    "chat_group_join": ChatGroupJoinResponse,
    "chat_group_history": ChatGroupHistoryResponse,
    "chat_group_search": ChatGroupSearchResponse,
    "chat_group_conversations": ChatGroupConversationsResponse,
    "chat_group_mark_read": ChatGroupMarkReadResponse,
    "chat_group_mute_set": ChatGroupMuteSetResponse,
    "chat_group_pin_set": ChatGroupPinSetResponse,
    "chat_group_typing": ChatGroupTypingResponse,
    "chat_group_control": ChatGroupControlResponse,
    "chat_group_edit": ChatGroupEditResponse,
    "chat_group_recall": ChatGroupRecallResponse,
    "chat_group_recall_batch": ChatGroupRecallBatchResponse,
    "chat_group_delete": ChatGroupDeleteResponse,
    "chat_group_react": ChatGroupReactResponse,
    "chat_dm_handover": ChatDMHandoverResponse,
    "chat_dm_release": ChatDMReleaseResponse,
    "user_search": UserSearchResponse,
    "chat_button_click": ChatButtonClickResponse,
    "chat_form_submit": ChatFormSubmitResponse,
    "chat_bot_commands_set": ChatBotCommandsSetResponse,
    "chat_bot_commands_list": ChatBotCommandsListResponse,
    "chat_bot_command": ChatBotCommandResponse,
    "chat_stream_begin": ChatStreamBeginResponse,
    "chat_stream_append": ChatStreamAppendResponse,
    "chat_stream_end": ChatStreamEndResponse,
    "chat_stream_cancel": ChatStreamCancelRequestResponse,
    "room_join": RoomJoinResponse,
    "room_exit": RoomExitResponse,
    "chat_room_create": ChatRoomCreateResponse,
    "chat_room_list": ChatRoomListResponse,
    "chat_room_update": ChatRoomUpdateResponse,
    "chat_room_disband": ChatRoomDisbandResponse,
    "group_join": GroupJoinResponse,
    "group_exit": GroupExitResponse,
    "rtc_call_invite": RTCCallInviteResponse,
    "rtc_call_accept": RTCCallAcceptResponse,
    "rtc_call_reject": RTCCallRejectResponse,
    "rtc_call_hangup": RTCCallHangupResponse,
    "rtc_call_state": RTCCallStateResponse,
    "rtc_offer": RTCOfferResponse,
    "rtc_answer": RTCAnswerResponse,
    "rtc_ice_candidate": RTCICECandidateResponse,
    "rtc_multi_join": RTCMultiJoinResponse,
    "rtc_multi_signal": RTCMultiSignalResponse,
    "rtc_multi_leave": RTCMultiLeaveResponse,
    "chat_friend_list": ChatFriendListResponse,
    "chat_friend_add": ChatFriendAddResponse,
    "chat_friend_remove": ChatFriendRemoveResponse,
    "chat_friend_remark_set": ChatFriendRemarkSetResponse,
    "chat_friend_request_list": ChatFriendRequestListResponse,
    "chat_friend_accept": ChatFriendAcceptResponse,
    "chat_friend_reject": ChatFriendRejectResponse,
    "chat_block_add": ChatBlockAddResponse,
    "chat_block_remove": ChatBlockRemoveResponse,
    "chat_block_list": ChatBlockListResponse,
    "chat_dm_whitelist_add": ChatDMWhitelistAddResponse,
    "chat_dm_whitelist_remove": ChatDMWhitelistRemoveResponse,
    "chat_dm_whitelist_list": ChatDMWhitelistListResponse,
    "chat_dm_privacy_get": ChatDMPrivacyGetResponse,
    "chat_dm_privacy_set": ChatDMPrivacySetResponse,
    "enterprise_department_create": EnterpriseDepartmentCreateResponse,
    "enterprise_department_update": EnterpriseDepartmentUpdateResponse,
    "enterprise_department_delete": EnterpriseDepartmentDeleteResponse,
    "enterprise_department_list": EnterpriseDepartmentListResponse,
    "enterprise_member_upsert": EnterpriseMemberUpsertResponse,
    "enterprise_member_remove": EnterpriseMemberRemoveResponse,
    "enterprise_member_list": EnterpriseMemberListResponse,
    "enterprise_member_search": EnterpriseMemberSearchResponse,
    "chat_room_members": ChatRoomMembersResponse,
    "chat_room_member_kick": ChatRoomMemberKickResponse,
    "chat_room_member_mute_set": ChatRoomMemberMuteSetResponse,
    "chat_room_member_role_set": ChatRoomMemberRoleSetResponse,
    "chat_group_create": ChatGroupCreateResponse,
    "chat_group_update": ChatGroupUpdateResponse,
    "chat_group_invite": ChatGroupInviteResponse,
    "chat_group_invite_approval_set": ChatGroupInviteApprovalSetResponse,
    "chat_group_members": ChatGroupMembersResponse,
    "chat_group_read_counts": ChatGroupReadCountsResponse,
    "chat_group_info": ChatGroupInfoResponse,
    "chat_group_member_kick": ChatGroupMemberKickResponse,
    "chat_group_member_mute_set": ChatGroupMemberMuteSetResponse,
    "chat_group_list": ChatGroupListResponse,
    "chat_group_leave": ChatGroupLeaveResponse,
    "chat_group_requests": ChatGroupRequestsResponse,
    "chat_group_request_decide": ChatGroupRequestDecideResponse,
    "chat_group_member_role_set": ChatGroupMemberRoleSetResponse,
    "community_create": CommunityCreateResponse,
    "community_update": CommunityUpdateResponse,
    "community_disband": CommunityDisbandResponse,
    "community_join": CommunityJoinResponse,
    "community_leave": CommunityLeaveResponse,
    "community_members": CommunityMembersResponse,
    "community_info": CommunityInfoResponse,
    "community_member_kick": CommunityMemberKickResponse,
    "community_member_mute_set": CommunityMemberMuteSetResponse,
    "community_role_set": CommunityRoleSetResponse,
    "community_role_list": CommunityRoleListResponse,
    "community_role_create": CommunityRoleCreateResponse,
    "community_role_update": CommunityRoleUpdateResponse,
    "community_role_reorder": CommunityRoleReorderResponse,
    "community_role_delete": CommunityRoleDeleteResponse,
    "community_owner_transfer": CommunityOwnerTransferResponse,
    "community_discover": CommunityDiscoverResponse,
    "community_channel_create": CommunityChannelCreateResponse,
    "community_channel_update": CommunityChannelUpdateResponse,
    "community_channel_delete": CommunityChannelDeleteResponse,
    "community_channel_list": CommunityChannelListResponse,
    "community_category_create": CommunityCategoryCreateResponse,
    "community_category_update": CommunityCategoryUpdateResponse,
    "community_category_delete": CommunityCategoryDeleteResponse,
    "community_invite_create": CommunityInviteCreateResponse,
    "community_permissions": CommunityPermissionsResponse,
    "community_request_list": CommunityRequestListResponse,
    "community_request_decide": CommunityRequestDecideResponse,
    "community_send": CommunitySendResponse,
    "community_history": CommunityHistoryResponse,
    "community_search": CommunitySearchResponse,
    "community_typing": CommunityTypingResponse,
    "community_control": CommunityControlResponse,
    "community_edit": CommunityEditResponse,
    "community_recall": CommunityRecallResponse,
    "community_recall_batch": CommunityRecallBatchResponse,
    "community_delete": CommunityDeleteResponse,
    "community_react": CommunityReactResponse,
    "community_mark_read": CommunityMarkReadResponse,
    "community_mute_set": CommunityMuteSetResponse,
    "community_pin_set": CommunityPinSetResponse,
    "community_conversations": CommunityConversationsResponse,
    "community_overwrite_set": CommunityOverwriteSetResponse,
}

PUSHES: dict[str, type[Shape]] = {
    "chat_message": ChatMessagePush,
    "chat_dm_conversation_update": ChatDMConversationUpdatePush,
    "chat_dm_read_receipt": ChatDMReadReceiptPush,
    "chat_dm_delivery_receipt": ChatDMDeliveryReceiptPush,
    "chat_typing": ChatTypingPush,
    "chat_control": ChatControlPush,
    "chat_conversation_list_update": ChatConversationListUpdatePush,
    "chat_translation_language_update": ChatTranslationLanguageUpdatePush,
    "chat_presence_update": ChatPresenceUpdatePush,
    "chat.button.click": ChatButtonClickedPush,
    "chat.form.submit": ChatFormSubmittedPush,
    "chat.bot.command": ChatBotCommandRunPush,
    "chat.stream.delta": ChatStreamDeltaPush,
    "chat.stream.done": ChatStreamDonePush,
    "chat.stream.error": ChatStreamErrorPush,
    "chat.stream.cancel": ChatStreamCancelledPush,
    "chat_dm_routing_changed": ChatDMRoutingChangedPush,
    "chat_room_conversation_update": ChatRoomConversationUpdatePush,
    "chat_group_conversation_update": ChatGroupConversationUpdatePush,
    "chat_group_request_update": ChatGroupRequestUpdatePush,
    "chat_group_read_receipt": ChatGroupReadReceiptPush,
    "rtc_call_incoming": RTCCallIncomingPush,
    "rtc_call_update": RTCCallUpdatePush,
    "rtc_signal": RTCSignalPush,
    "rtc_multi_update": RTCMultiUpdatePush,
    "chat_friend_request_update": ChatFriendRequestUpdatePush,
    "chat_friend_update": ChatFriendUpdatePush,
    "chat_block_update": ChatBlockUpdatePush,
    "chat_dm_whitelist_update": ChatDMWhitelistUpdatePush,
    "chat_dm_privacy_update": ChatDMPrivacyUpdatePush,
    "community.message": CommunityMessagePush,
    "community.member_changed": CommunityMemberChangedPush,
    "community.channel_changed": CommunityChannelChangedPush,
    "community.typing": CommunityTypingPushPush,
    "community.control": CommunityControlPushPush,
    "community.request_decided": CommunityRequestDecidedPush,
    "community.join_requested": CommunityJoinRequestedPush,
    "community.role_changed": CommunityRoleChangedPush,
    "community.conversation_update": CommunityConversationUpdatePush,
}
