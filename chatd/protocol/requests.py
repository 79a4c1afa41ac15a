"""Request payloads: generated from clients/protocol.yaml by `python -m chatd.protocol.requestgen`. Do not edit by hand.

What the server needs of the registry while it runs: the payload Struct of every implemented
request (REQUESTS), what each takes from the user's write budget (COSTS, `cost:`), the optional
fields of which one must be given (ONE_OF), and the requests that are not implemented
(UNIMPLEMENTED: `not_implemented`, not `unknown_command`).
A request's fields that its Struct does not know are ignored.
"""

from typing import Annotated, Any, Literal

import msgspec

from .content import ClientContent

INT64 = msgspec.Meta(ge=-9223372036854775808, le=9223372036854775807)


class LoginRequest(msgspec.Struct, kw_only=True):
    token: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    username: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    password: Annotated[str, msgspec.Meta(max_length=1024)] | None = None
    device: Annotated[str, msgspec.Meta(max_length=64)] = ""


class HeartbeatRequest(msgspec.Struct, kw_only=True):
    pass


class PingRequest(msgspec.Struct, kw_only=True):
    pass


class ChatDMSendRequest(msgspec.Struct, kw_only=True):
    peer: Annotated[int, INT64]
    content: ClientContent
    bot_id: Annotated[int, INT64] | None = None
    client_msg_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    quote_id: Annotated[int, INT64] | None = None
    mentions: Annotated[list[Annotated[int, INT64]], msgspec.Meta(max_length=100)] = msgspec.field(default_factory=list)


class ChatDMHistoryRequest(msgspec.Struct, kw_only=True):
    peer: Annotated[int, INT64]
    bot_id: Annotated[int, INT64] | None = None
    before_seq: Annotated[int, msgspec.Meta(ge=1, le=9223372036854775807)] | None = None
    after_seq: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20
    desc: bool | None = None
    num: Annotated[int, msgspec.Meta(ge=1, le=100)] | None = None
    begin: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] | None = None
    end: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] | None = None
    lastid: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] | None = None


class ChatDMSearchRequest(msgspec.Struct, kw_only=True):
    query: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    peer: Annotated[int, INT64] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=50)] = 20
    before_id: Annotated[int, INT64] | None = None


class ChatDMConversationsRequest(msgspec.Struct, kw_only=True):
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 50
    unread_only: bool = False


class ChatDMMarkReadRequest(msgspec.Struct, kw_only=True):
    peer: Annotated[int, INT64]
    seq: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] | None = None


class ChatDMPinSetRequest(msgspec.Struct, kw_only=True):
    peer: Annotated[int, INT64]
    pinned: bool


class ChatDMTypingRequest(msgspec.Struct, kw_only=True):
    peer: Annotated[int, INT64]
    bot_id: Annotated[int, INT64] | None = None
    typing: bool = True


class ChatDMControlRequest(msgspec.Struct, kw_only=True):
    peer: Annotated[int, INT64]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    data: Any | None = None


class ChatDMEditRequest(msgspec.Struct, kw_only=True):
    peer: Annotated[int, INT64]
    msg_id: Annotated[int, INT64]
    content: ClientContent


class ChatDMRecallRequest(msgspec.Struct, kw_only=True):
    peer: Annotated[int, INT64]
    msg_id: Annotated[int, INT64]


class ChatDMRecallBatchRequest(msgspec.Struct, kw_only=True):
    peer: Annotated[int, INT64]
    msg_ids: Annotated[list[Annotated[int, INT64]], msgspec.Meta(min_length=1, max_length=1000)]


class ChatDMDeleteRequest(msgspec.Struct, kw_only=True):
    peer: Annotated[int, INT64]
    msg_ids: Annotated[list[Annotated[int, INT64]], msgspec.Meta(min_length=1, max_length=100)]


class ChatDMReactRequest(msgspec.Struct, kw_only=True):
    peer: Annotated[int, INT64]
    msg_id: Annotated[int, INT64]
    emoji: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    remove: bool = False


class ChatMessageEditsRequest(msgspec.Struct, kw_only=True):
    msg_id: Annotated[int, INT64]
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20
    offset: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] = 0


class ChatMessageGetRequest(msgspec.Struct, kw_only=True):
    msg_id: Annotated[int, INT64]


class ChatMessageAroundRequest(msgspec.Struct, kw_only=True):
    msg_id: Annotated[int, INT64]
    before: Annotated[int, msgspec.Meta(ge=0, le=100)] = 20
    after: Annotated[int, msgspec.Meta(ge=0, le=100)] = 20
    include_anchor: bool = True
    types: Annotated[list[Literal['image', 'video', 'file', 'audio']], msgspec.Meta(min_length=1)] | None = None


class ChatMessageForwardRequest(msgspec.Struct, kw_only=True):
    msg_ids: Annotated[list[Annotated[int, INT64]], msgspec.Meta(min_length=1, max_length=1000)]
    targets: Annotated[list[Annotated[str, msgspec.Meta(pattern='^(?:dm|group|room|channel|broadcast):[0-9]{1,18}$')]], msgspec.Meta(min_length=1, max_length=1000)]
    merged: bool = False
    title: Annotated[str, msgspec.Meta(max_length=200)] = ""
    client_msg_id: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | None = None


class ChatConversationsRequest(msgspec.Struct, kw_only=True):
    kinds: Annotated[list[Literal['dm', 'group', 'room', 'channel', 'broadcast']], msgspec.Meta(max_length=4)] | None = None
    unread_only: bool = False
    limit: Annotated[int, msgspec.Meta(ge=1, le=200)] = 50
    offset: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] = 0


class ChatConversationsUnreadRequest(msgspec.Struct, kw_only=True):
    since: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] = 0
    types: Annotated[list[Literal['text', 'markdown', 'html', 'image', 'file', 'video', 'audio', 'sticker', 'article', 'form', 'buttons', 'forward']], msgspec.Meta(max_length=16)] | None = None
    kinds: Annotated[list[Literal['dm', 'group', 'room', 'channel', 'broadcast']], msgspec.Meta(max_length=4)] | None = None
    clear: bool = False
    limit: Annotated[int, msgspec.Meta(ge=1, le=200)] = 50


class ChatConversationSortSetRequest(msgspec.Struct, kw_only=True):
    target: Annotated[str, msgspec.Meta(pattern='^(?:dm|group|room|channel|broadcast):[0-9]{1,18}$', min_length=3, max_length=40)]
    sort_order: Annotated[int, msgspec.Meta(ge=-1000000000, le=1000000000)]


class ChatConversationRemoveRequest(msgspec.Struct, kw_only=True):
    target: Annotated[str, msgspec.Meta(pattern='^(?:dm|group|room|channel|broadcast):[0-9]{1,18}$', min_length=3, max_length=40)]


class ChatConversationDismissRequest(msgspec.Struct, kw_only=True):
    target: Annotated[str, msgspec.Meta(pattern='^(?:dm|group|room|channel|broadcast):[0-9]{1,18}$', min_length=3, max_length=40)]


class ChatTranslationLanguageSetRequest(msgspec.Struct, kw_only=True):
    language: Annotated[str, msgspec.Meta(pattern='^(?:[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8}){0,4})?$', max_length=35)]


class ChatTranslationLanguageGetRequest(msgspec.Struct, kw_only=True):
    user_ids: Annotated[list[Annotated[int, INT64]], msgspec.Meta(min_length=1, max_length=200)]


class ChatBroadcastSendRequest(msgspec.Struct, kw_only=True):
    content: ClientContent
    broadcast_id: Annotated[int, INT64] = 0
    client_msg_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    quote_id: Annotated[int, INT64] | None = None
    mentions: Annotated[list[Annotated[int, INT64]], msgspec.Meta(max_length=0)] = msgspec.field(default_factory=list)


class ChatBroadcastHistoryRequest(msgspec.Struct, kw_only=True):
    broadcast_id: Annotated[int, INT64] = 0
    before_seq: Annotated[int, msgspec.Meta(ge=1, le=9223372036854775807)] | None = None
    after_seq: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20
    desc: bool | None = None
    num: Annotated[int, msgspec.Meta(ge=1, le=100)] | None = None
    begin: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] | None = None
    end: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] | None = None
    lastid: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] | None = None


class ChatBroadcastRecallRequest(msgspec.Struct, kw_only=True):
    msg_id: Annotated[int, INT64]
    broadcast_id: Annotated[int, INT64] = 0


class PushDeviceRegisterRequest(msgspec.Struct, kw_only=True):
    kind: Literal['webpush', 'unifiedpush', 'gateway']
    endpoint: Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]
    p256dh: Annotated[str, msgspec.Meta(max_length=200)] = ""
    auth: Annotated[str, msgspec.Meta(max_length=100)] = ""
    pushkey: Annotated[str, msgspec.Meta(max_length=512)] = ""
    app_id: Annotated[str, msgspec.Meta(max_length=128)] = ""


class PushDeviceUnregisterRequest(msgspec.Struct, kw_only=True):
    device_id: Annotated[int, INT64]


class PushDeviceListRequest(msgspec.Struct, kw_only=True):
    pass


class PushSettingsSetRequest(msgspec.Struct, kw_only=True):
    dnd: bool | None = None
    groups: Literal['all', 'mentions', 'none'] | None = None
    previews: bool | None = None


class ChatRoomSendRequest(msgspec.Struct, kw_only=True):
    room_id: Annotated[int, INT64]
    content: ClientContent
    client_msg_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    quote_id: Annotated[int, INT64] | None = None
    mentions: Annotated[list[Annotated[int, INT64]], msgspec.Meta(max_length=100)] = msgspec.field(default_factory=list)


class ChatRoomHistoryRequest(msgspec.Struct, kw_only=True):
    room_id: Annotated[int, INT64]
    before_seq: Annotated[int, msgspec.Meta(ge=1, le=9223372036854775807)] | None = None
    after_seq: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20
    desc: bool | None = None
    num: Annotated[int, msgspec.Meta(ge=1, le=100)] | None = None
    begin: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] | None = None
    end: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] | None = None
    lastid: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] | None = None


class ChatRoomSearchRequest(msgspec.Struct, kw_only=True):
    query: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    room_id: Annotated[int, INT64] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=50)] = 20
    before_id: Annotated[int, INT64] | None = None


class ChatRoomConversationsRequest(msgspec.Struct, kw_only=True):
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 50
    unread_only: bool = False


class ChatRoomMarkReadRequest(msgspec.Struct, kw_only=True):
    room_id: Annotated[int, INT64]
    seq: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] | None = None


class ChatRoomMuteSetRequest(msgspec.Struct, kw_only=True):
    room_id: Annotated[int, INT64]
    muted: bool


class ChatRoomPinSetRequest(msgspec.Struct, kw_only=True):
    room_id: Annotated[int, INT64]
    pinned: bool


class ChatRoomTypingRequest(msgspec.Struct, kw_only=True):
    room_id: Annotated[int, INT64]
    typing: bool = True


class ChatRoomControlRequest(msgspec.Struct, kw_only=True):
    room_id: Annotated[int, INT64]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    data: Any | None = None


class ChatRoomEditRequest(msgspec.Struct, kw_only=True):
    room_id: Annotated[int, INT64]
    msg_id: Annotated[int, INT64]
    content: ClientContent


class ChatRoomRecallRequest(msgspec.Struct, kw_only=True):
    room_id: Annotated[int, INT64]
    msg_id: Annotated[int, INT64]


class ChatRoomRecallBatchRequest(msgspec.Struct, kw_only=True):
    room_id: Annotated[int, INT64]
    msg_ids: Annotated[list[Annotated[int, INT64]], msgspec.Meta(min_length=1, max_length=1000)]


class ChatRoomDeleteRequest(msgspec.Struct, kw_only=True):
    room_id: Annotated[int, INT64]
    msg_ids: Annotated[list[Annotated[int, INT64]], msgspec.Meta(min_length=1, max_length=100)]


class ChatRoomReactRequest(msgspec.Struct, kw_only=True):
    room_id: Annotated[int, INT64]
    msg_id: Annotated[int, INT64]
    emoji: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    remove: bool = False


class ChatGroupSendRequest(msgspec.Struct, kw_only=True):
    group_id: Annotated[int, INT64]
    content: ClientContent
    client_msg_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    quote_id: Annotated[int, INT64] | None = None
    mentions: Annotated[list[Annotated[int, INT64]], msgspec.Meta(max_length=100)] = msgspec.field(default_factory=list)


class ChatGroupJoinRequest(msgspec.Struct, kw_only=True):
    group_id: Annotated[int, INT64] | None = None
    invite_code: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    message: Annotated[str, msgspec.Meta(max_length=500)] = ""


class ChatGroupHistoryRequest(msgspec.Struct, kw_only=True):
    group_id: Annotated[int, INT64]
    before_seq: Annotated[int, msgspec.Meta(ge=1, le=9223372036854775807)] | None = None
    after_seq: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20
    desc: bool | None = None
    num: Annotated[int, msgspec.Meta(ge=1, le=100)] | None = None
    begin: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] | None = None
    end: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] | None = None
    lastid: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] | None = None


class ChatGroupSearchRequest(msgspec.Struct, kw_only=True):
    query: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    group_id: Annotated[int, INT64] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=50)] = 20
    before_id: Annotated[int, INT64] | None = None


class ChatGroupConversationsRequest(msgspec.Struct, kw_only=True):
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 50
    unread_only: bool = False


class ChatGroupMarkReadRequest(msgspec.Struct, kw_only=True):
    group_id: Annotated[int, INT64]
    seq: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] | None = None


class ChatGroupMuteSetRequest(msgspec.Struct, kw_only=True):
    group_id: Annotated[int, INT64]
    muted: bool


class ChatGroupPinSetRequest(msgspec.Struct, kw_only=True):
    group_id: Annotated[int, INT64]
    pinned: bool


class ChatGroupTypingRequest(msgspec.Struct, kw_only=True):
    group_id: Annotated[int, INT64]
    typing: bool = True


class ChatGroupControlRequest(msgspec.Struct, kw_only=True):
    group_id: Annotated[int, INT64]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    data: Any | None = None


class ChatGroupEditRequest(msgspec.Struct, kw_only=True):
    group_id: Annotated[int, INT64]
    msg_id: Annotated[int, INT64]
    content: ClientContent


class ChatGroupRecallRequest(msgspec.Struct, kw_only=True):
    group_id: Annotated[int, INT64]
    msg_id: Annotated[int, INT64]


class ChatGroupRecallBatchRequest(msgspec.Struct, kw_only=True):
    group_id: Annotated[int, INT64]
    msg_ids: Annotated[list[Annotated[int, INT64]], msgspec.Meta(min_length=1, max_length=1000)]


class ChatGroupDeleteRequest(msgspec.Struct, kw_only=True):
    group_id: Annotated[int, INT64]
    msg_ids: Annotated[list[Annotated[int, INT64]], msgspec.Meta(min_length=1, max_length=100)]


class ChatGroupReactRequest(msgspec.Struct, kw_only=True):
    group_id: Annotated[int, INT64]
    msg_id: Annotated[int, INT64]
    emoji: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    remove: bool = False


class ChatDMHandoverRequest(msgspec.Struct, kw_only=True):
    peer: Annotated[int, INT64]
    bot_id: Annotated[int, INT64]
    note: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class ChatDMReleaseRequest(msgspec.Struct, kw_only=True):
    peer: Annotated[int, INT64]
    bot_id: Annotated[int, INT64]
    note: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class UserSearchRequest(msgspec.Struct, kw_only=True):
    query: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    limit: Annotated[int, msgspec.Meta(ge=1, le=50)] = 20


class ChatButtonClickRequest(msgspec.Struct, kw_only=True):
    msg_id: Annotated[int, INT64]
    value: Annotated[str, msgspec.Meta(max_length=256)]


class ChatFormSubmitRequest(msgspec.Struct, kw_only=True):
    msg_id: Annotated[int, INT64]
    values: Any


class ChatBotCommandsSetRequest(msgspec.Struct, kw_only=True):
    commands: Annotated[list[Any], msgspec.Meta(max_length=100)]


class ChatBotCommandsListRequest(msgspec.Struct, kw_only=True):
    peer: Annotated[int, INT64] | None = None
    group_id: Annotated[int, INT64] | None = None
    room_id: Annotated[int, INT64] | None = None
    channel_id: Annotated[int, INT64] | None = None


class ChatBotCommandRequest(msgspec.Struct, kw_only=True):
    bot_id: Annotated[int, INT64]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    peer: Annotated[int, INT64] | None = None
    group_id: Annotated[int, INT64] | None = None
    room_id: Annotated[int, INT64] | None = None
    channel_id: Annotated[int, INT64] | None = None
    args: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    client_msg_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None


class ChatStreamBeginRequest(msgspec.Struct, kw_only=True):
    text: Annotated[str, msgspec.Meta(min_length=1)]
    peer: Annotated[int, INT64] | None = None
    group_id: Annotated[int, INT64] | None = None
    room_id: Annotated[int, INT64] | None = None
    channel_id: Annotated[int, INT64] | None = None
    client_msg_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None


class ChatStreamAppendRequest(msgspec.Struct, kw_only=True):
    stream_id: Annotated[int, INT64]
    seq: Annotated[int, msgspec.Meta(ge=1, le=9223372036854775807)]
    offset: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)]
    text: Annotated[str, msgspec.Meta(min_length=1)]


class ChatStreamEndRequest(msgspec.Struct, kw_only=True):
    stream_id: Annotated[int, INT64]
    error: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    length: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] | None = None


class ChatStreamCancelRequestRequest(msgspec.Struct, kw_only=True):
    stream_id: Annotated[int, INT64]


class RoomJoinRequest(msgspec.Struct, kw_only=True):
    room_id: Annotated[int, INT64]


class RoomExitRequest(msgspec.Struct, kw_only=True):
    room_id: Annotated[int, INT64]


class ChatRoomCreateRequest(msgspec.Struct, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    avatar: Annotated[str, msgspec.Meta(max_length=2048)] = ""
    description: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class ChatRoomListRequest(msgspec.Struct, kw_only=True):
    query: Annotated[str, msgspec.Meta(max_length=64)] = ""
    mine: bool = False
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 50
    offset: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] = 0


class ChatRoomUpdateRequest(msgspec.Struct, kw_only=True):
    room_id: Annotated[int, INT64]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    avatar: Annotated[str, msgspec.Meta(max_length=2048)] | None = None
    description: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class ChatRoomDisbandRequest(msgspec.Struct, kw_only=True):
    room_id: Annotated[int, INT64]


class GroupJoinRequest(msgspec.Struct, kw_only=True):
    group_id: Annotated[int, INT64] | None = None
    invite_code: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    message: Annotated[str, msgspec.Meta(max_length=500)] = ""


class GroupExitRequest(msgspec.Struct, kw_only=True):
    group_id: Annotated[int, INT64]


class RTCCallInviteRequest(msgspec.Struct, kw_only=True):
    peer: Annotated[int, INT64]
    media: Literal['audio', 'video'] = "audio"


class RTCCallAcceptRequest(msgspec.Struct, kw_only=True):
    call_id: Annotated[int, INT64]


class RTCCallRejectRequest(msgspec.Struct, kw_only=True):
    call_id: Annotated[int, INT64]


class RTCCallHangupRequest(msgspec.Struct, kw_only=True):
    call_id: Annotated[int, INT64]


class RTCCallStateRequest(msgspec.Struct, kw_only=True):
    call_id: Annotated[int, INT64] | None = None


class RTCOfferRequest(msgspec.Struct, kw_only=True):
    call_id: Annotated[int, INT64]
    sdp: Annotated[str, msgspec.Meta(min_length=1)]


class RTCAnswerRequest(msgspec.Struct, kw_only=True):
    call_id: Annotated[int, INT64]
    sdp: Annotated[str, msgspec.Meta(min_length=1)]


class RTCICECandidateRequest(msgspec.Struct, kw_only=True):
    call_id: Annotated[int, INT64]
    candidate: Annotated[str, msgspec.Meta(max_length=2048)]
    sdp_mid: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    sdp_mline_index: Annotated[int, msgspec.Meta(ge=0, le=1024)] | None = None


class RTCMultiJoinRequest(msgspec.Struct, kw_only=True):
    group_id: Annotated[int, INT64] | None = None
    channel_id: Annotated[int, INT64] | None = None


class RTCMultiSignalRequest(msgspec.Struct, kw_only=True):
    conv_id: Annotated[int, INT64]
    to_device: Annotated[str, msgspec.Meta(max_length=32)]
    type: Literal['offer', 'answer', 'candidate']
    sdp: str | None = None
    candidate: Annotated[str, msgspec.Meta(max_length=2048)] | None = None
    sdp_mid: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    sdp_mline_index: Annotated[int, msgspec.Meta(ge=0, le=1024)] | None = None


class RTCMultiLeaveRequest(msgspec.Struct, kw_only=True):
    conv_id: Annotated[int, INT64]


class ChatFriendListRequest(msgspec.Struct, kw_only=True):
    limit: Annotated[int, msgspec.Meta(ge=1, le=200)] = 50
    offset: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] = 0


class ChatFriendAddRequest(msgspec.Struct, kw_only=True):
    user_id: Annotated[int, INT64]
    message: Annotated[str, msgspec.Meta(max_length=200)] = ""


class ChatFriendRemoveRequest(msgspec.Struct, kw_only=True):
    user_id: Annotated[int, INT64]


class ChatFriendRemarkSetRequest(msgspec.Struct, kw_only=True):
    user_id: Annotated[int, INT64]
    remark: Annotated[str, msgspec.Meta(max_length=64)]


class ChatFriendRequestListRequest(msgspec.Struct, kw_only=True):
    direction: Literal['incoming', 'outgoing'] = "incoming"
    limit: Annotated[int, msgspec.Meta(ge=1, le=200)] = 50
    offset: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] = 0


class ChatFriendAcceptRequest(msgspec.Struct, kw_only=True):
    user_id: Annotated[int, INT64]


class ChatFriendRejectRequest(msgspec.Struct, kw_only=True):
    user_id: Annotated[int, INT64]


class ChatBlockAddRequest(msgspec.Struct, kw_only=True):
    user_id: Annotated[int, INT64]


class ChatBlockRemoveRequest(msgspec.Struct, kw_only=True):
    user_id: Annotated[int, INT64]


class ChatBlockListRequest(msgspec.Struct, kw_only=True):
    limit: Annotated[int, msgspec.Meta(ge=1, le=200)] = 50
    offset: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] = 0


class ChatDMWhitelistAddRequest(msgspec.Struct, kw_only=True):
    user_id: Annotated[int, INT64]


class ChatDMWhitelistRemoveRequest(msgspec.Struct, kw_only=True):
    user_id: Annotated[int, INT64]


class ChatDMWhitelistListRequest(msgspec.Struct, kw_only=True):
    limit: Annotated[int, msgspec.Meta(ge=1, le=200)] = 50
    offset: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] = 0


class ChatDMPrivacyGetRequest(msgspec.Struct, kw_only=True):
    pass


class ChatDMPrivacySetRequest(msgspec.Struct, kw_only=True):
    policy: Literal['everyone', 'friends', 'whitelist', 'department'] | None = None
    friend_requests: bool | None = None


class EnterpriseDepartmentCreateRequest(msgspec.Struct, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    parent_id: Annotated[int, INT64] | None = None


class EnterpriseDepartmentUpdateRequest(msgspec.Struct, kw_only=True):
    department_id: Annotated[int, INT64]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None
    parent_id: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] | None = None


class EnterpriseDepartmentDeleteRequest(msgspec.Struct, kw_only=True):
    department_id: Annotated[int, INT64]
    move_members_up: bool = False


class EnterpriseDepartmentListRequest(msgspec.Struct, kw_only=True):
    department_id: Annotated[int, INT64] | None = None


class EnterpriseMemberUpsertRequest(msgspec.Struct, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    user_id: Annotated[int, INT64] | None = None
    username: Annotated[str, msgspec.Meta(pattern='^[A-Za-z0-9][A-Za-z0-9._@-]*$', min_length=1, max_length=64)] | None = None
    title: Annotated[str, msgspec.Meta(max_length=100)] = ""
    department_ids: Annotated[list[Annotated[int, INT64]], msgspec.Meta(max_length=50)] = msgspec.field(default_factory=list)
    primary_department_id: Annotated[int, INT64] | None = None
    email: Annotated[str, msgspec.Meta(max_length=254)] = ""
    phone: Annotated[str, msgspec.Meta(max_length=40)] = ""
    employee_no: Annotated[str, msgspec.Meta(max_length=64)] = ""
    manager_id: Annotated[int, INT64] | None = None


class EnterpriseMemberRemoveRequest(msgspec.Struct, kw_only=True):
    user_id: Annotated[int, INT64]
    deactivate: bool = False


class EnterpriseMemberListRequest(msgspec.Struct, kw_only=True):
    department_id: Annotated[int, INT64]
    recursive: bool = False
    limit: Annotated[int, msgspec.Meta(ge=1, le=200)] = 50
    offset: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] = 0


class EnterpriseMemberSearchRequest(msgspec.Struct, kw_only=True):
    query: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    department_id: Annotated[int, INT64] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=50)] = 20


class ChatRoomMembersRequest(msgspec.Struct, kw_only=True):
    room_id: Annotated[int, INT64]
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 100
    offset: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] = 0


class ChatRoomMemberKickRequest(msgspec.Struct, kw_only=True):
    room_id: Annotated[int, INT64]
    user_id: Annotated[int, INT64]


class ChatRoomMemberMuteSetRequest(msgspec.Struct, kw_only=True):
    room_id: Annotated[int, INT64]
    user_id: Annotated[int, INT64]
    duration_ms: Annotated[int, msgspec.Meta(ge=0, le=31536000000)] | None = None
    until: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] | None = None


class ChatRoomMemberRoleSetRequest(msgspec.Struct, kw_only=True):
    room_id: Annotated[int, INT64]
    user_id: Annotated[int, INT64]
    role: Literal['owner', 'admin', 'member']


class ChatGroupCreateRequest(msgspec.Struct, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    avatar: Annotated[str, msgspec.Meta(max_length=2048)] = ""
    description: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    members: Annotated[list[Annotated[int, INT64]], msgspec.Meta(max_length=10000)] = msgspec.field(default_factory=list)
    join_by_id: bool = False
    approval: bool = False


class ChatGroupUpdateRequest(msgspec.Struct, kw_only=True):
    group_id: Annotated[int, INT64]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    avatar: Annotated[str, msgspec.Meta(max_length=2048)] | None = None
    description: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    join_by_id: bool | None = None
    invite_code: bool | None = None


class ChatGroupInviteRequest(msgspec.Struct, kw_only=True):
    group_id: Annotated[int, INT64]
    user_ids: Annotated[list[Annotated[int, INT64]], msgspec.Meta(min_length=1, max_length=100)]
    message: Annotated[str, msgspec.Meta(max_length=500)] = ""


class ChatGroupInviteApprovalSetRequest(msgspec.Struct, kw_only=True):
    group_id: Annotated[int, INT64]
    approval: bool


class ChatGroupMembersRequest(msgspec.Struct, kw_only=True):
    group_id: Annotated[int, INT64]
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 50
    offset: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] = 0


class ChatGroupReadCountsRequest(msgspec.Struct, kw_only=True):
    group_id: Annotated[int, INT64]
    after_seq: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] = 0
    upto_seq: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] | None = None


class ChatGroupInfoRequest(msgspec.Struct, kw_only=True):
    group_id: Annotated[int, INT64]


class ChatGroupMemberKickRequest(msgspec.Struct, kw_only=True):
    group_id: Annotated[int, INT64]
    user_id: Annotated[int, INT64]


class ChatGroupMemberMuteSetRequest(msgspec.Struct, kw_only=True):
    group_id: Annotated[int, INT64]
    user_id: Annotated[int, INT64]
    duration_ms: Annotated[int, msgspec.Meta(ge=0, le=31536000000)] | None = None
    until: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] | None = None


class ChatGroupListRequest(msgspec.Struct, kw_only=True):
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 100
    offset: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] = 0


class ChatGroupLeaveRequest(msgspec.Struct, kw_only=True):
    group_id: Annotated[int, INT64]


class ChatGroupRequestsRequest(msgspec.Struct, kw_only=True):
    group_id: Annotated[int, INT64] | None = None
    status: Literal['pending', 'approved', 'rejected', 'cancelled', 'all'] = "pending"
    limit: Annotated[int, msgspec.Meta(ge=1, le=200)] = 50
    offset: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] = 0


class ChatGroupRequestDecideRequest(msgspec.Struct, kw_only=True):
    request_id: Annotated[int, INT64]
    approve: bool


class ChatGroupMemberRoleSetRequest(msgspec.Struct, kw_only=True):
    group_id: Annotated[int, INT64]
    user_id: Annotated[int, INT64]
    role: Literal['owner', 'admin', 'member']


class CommunityCreateRequest(msgspec.Struct, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    description: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    icon: Annotated[str, msgspec.Meta(max_length=2048)] = ""
    public: bool = False
    join_mode: Literal['open', 'invite', 'request'] = "invite"


class CommunityUpdateRequest(msgspec.Struct, kw_only=True):
    community_id: Annotated[int, INT64]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None
    description: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    icon: Annotated[str, msgspec.Meta(max_length=2048)] | None = None
    public: bool | None = None
    join_mode: Literal['open', 'invite', 'request'] | None = None


class CommunityDisbandRequest(msgspec.Struct, kw_only=True):
    community_id: Annotated[int, INT64]


class CommunityJoinRequest(msgspec.Struct, kw_only=True):
    community_id: Annotated[int, INT64] | None = None
    invite_code: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    message: Annotated[str, msgspec.Meta(max_length=500)] = ""


class CommunityLeaveRequest(msgspec.Struct, kw_only=True):
    community_id: Annotated[int, INT64]


class CommunityMembersRequest(msgspec.Struct, kw_only=True):
    community_id: Annotated[int, INT64]
    limit: Annotated[int, msgspec.Meta(ge=1, le=200)] = 50
    offset: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] = 0


class CommunityInfoRequest(msgspec.Struct, kw_only=True):
    community_id: Annotated[int, INT64]


class CommunityMemberKickRequest(msgspec.Struct, kw_only=True):
    community_id: Annotated[int, INT64]
    user_id: Annotated[int, INT64]


class CommunityMemberMuteSetRequest(msgspec.Struct, kw_only=True):
    community_id: Annotated[int, INT64]
    user_id: Annotated[int, INT64]
    duration_ms: Annotated[int, msgspec.Meta(ge=0, le=2419200000)]


class CommunityRoleSetRequest(msgspec.Struct, kw_only=True):
    community_id: Annotated[int, INT64]
    user_id: Annotated[int, INT64]
    add: Annotated[list[Annotated[int, INT64]], msgspec.Meta(max_length=50)] = msgspec.field(default_factory=list)
    remove: Annotated[list[Annotated[int, INT64]], msgspec.Meta(max_length=50)] = msgspec.field(default_factory=list)


class CommunityRoleListRequest(msgspec.Struct, kw_only=True):
    community_id: Annotated[int, INT64]


class CommunityRoleCreateRequest(msgspec.Struct, kw_only=True):
    community_id: Annotated[int, INT64]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    allow: Annotated[list[Literal['view_channel', 'send', 'read_history', 'mention_everyone', 'manage_messages', 'manage_channels', 'manage_roles', 'kick', 'mute', 'invite', 'manage_community', 'administrator']], msgspec.Meta(max_length=16)] = msgspec.field(default_factory=list)
    position: Annotated[int, INT64] | None = None


class CommunityRoleUpdateRequest(msgspec.Struct, kw_only=True):
    community_id: Annotated[int, INT64]
    role_id: Annotated[int, INT64]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None
    allow: Annotated[list[Literal['view_channel', 'send', 'read_history', 'mention_everyone', 'manage_messages', 'manage_channels', 'manage_roles', 'kick', 'mute', 'invite', 'manage_community', 'administrator']], msgspec.Meta(max_length=16)] | None = None
    position: Annotated[int, INT64] | None = None


class CommunityRoleReorderRequest(msgspec.Struct, kw_only=True):
    community_id: Annotated[int, INT64]
    role_ids: Annotated[list[Annotated[int, INT64]], msgspec.Meta(max_length=250)]


class CommunityRoleDeleteRequest(msgspec.Struct, kw_only=True):
    community_id: Annotated[int, INT64]
    role_id: Annotated[int, INT64]


class CommunityOwnerTransferRequest(msgspec.Struct, kw_only=True):
    community_id: Annotated[int, INT64]
    user_id: Annotated[int, INT64]


class CommunityDiscoverRequest(msgspec.Struct, kw_only=True):
    query: Annotated[str, msgspec.Meta(max_length=100)] = ""
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20
    offset: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] = 0


class CommunityChannelCreateRequest(msgspec.Struct, kw_only=True):
    community_id: Annotated[int, INT64]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    category_id: Annotated[int, INT64] | None = None
    topic: Annotated[str, msgspec.Meta(max_length=1024)] = ""
    position: Annotated[int, INT64] | None = None


class CommunityChannelUpdateRequest(msgspec.Struct, kw_only=True):
    community_id: Annotated[int, INT64]
    channel_id: Annotated[int, INT64]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None
    topic: Annotated[str, msgspec.Meta(max_length=1024)] | None = None
    category_id: Annotated[int, INT64] | None = None
    position: Annotated[int, INT64] | None = None
    synced: bool | None = None


class CommunityChannelDeleteRequest(msgspec.Struct, kw_only=True):
    community_id: Annotated[int, INT64]
    channel_id: Annotated[int, INT64]


class CommunityChannelListRequest(msgspec.Struct, kw_only=True):
    community_id: Annotated[int, INT64]


class CommunityCategoryCreateRequest(msgspec.Struct, kw_only=True):
    community_id: Annotated[int, INT64]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    position: Annotated[int, INT64] | None = None


class CommunityCategoryUpdateRequest(msgspec.Struct, kw_only=True):
    community_id: Annotated[int, INT64]
    category_id: Annotated[int, INT64]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None
    position: Annotated[int, INT64] | None = None


class CommunityCategoryDeleteRequest(msgspec.Struct, kw_only=True):
    community_id: Annotated[int, INT64]
    category_id: Annotated[int, INT64]


class CommunityInviteCreateRequest(msgspec.Struct, kw_only=True):
    community_id: Annotated[int, INT64]
    max_uses: Annotated[int, msgspec.Meta(ge=0, le=100000)] = 0
    expires_in_ms: Annotated[int, msgspec.Meta(ge=0, le=31536000000)] = 604800000


class CommunityPermissionsRequest(msgspec.Struct, kw_only=True):
    community_id: Annotated[int, INT64]
    user_id: Annotated[int, INT64]
    channel_id: Annotated[int, INT64] | None = None


class CommunityRequestListRequest(msgspec.Struct, kw_only=True):
    community_id: Annotated[int, INT64]
    limit: Annotated[int, msgspec.Meta(ge=1, le=200)] = 50
    offset: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] = 0


class CommunityRequestDecideRequest(msgspec.Struct, kw_only=True):
    community_id: Annotated[int, INT64]
    user_id: Annotated[int, INT64]
    approve: bool


class CommunitySendRequest(msgspec.Struct, kw_only=True):
    channel_id: Annotated[int, INT64]
    content: ClientContent
    client_msg_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    quote_id: Annotated[int, INT64] | None = None
    mentions: Annotated[list[Annotated[int, INT64]], msgspec.Meta(max_length=100)] = msgspec.field(default_factory=list)


class CommunityHistoryRequest(msgspec.Struct, kw_only=True):
    channel_id: Annotated[int, INT64]
    before_seq: Annotated[int, msgspec.Meta(ge=1, le=9223372036854775807)] | None = None
    after_seq: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20
    desc: bool | None = None
    num: Annotated[int, msgspec.Meta(ge=1, le=100)] | None = None
    begin: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] | None = None
    end: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] | None = None
    lastid: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] | None = None


class CommunitySearchRequest(msgspec.Struct, kw_only=True):
    query: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    channel_id: Annotated[int, INT64]
    limit: Annotated[int, msgspec.Meta(ge=1, le=50)] = 20
    before_id: Annotated[int, INT64] | None = None


class CommunityTypingRequest(msgspec.Struct, kw_only=True):
    channel_id: Annotated[int, INT64]
    typing: bool = True


class CommunityControlRequest(msgspec.Struct, kw_only=True):
    channel_id: Annotated[int, INT64]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    data: Any | None = None


class CommunityEditRequest(msgspec.Struct, kw_only=True):
    channel_id: Annotated[int, INT64]
    msg_id: Annotated[int, INT64]
    content: ClientContent


class CommunityRecallRequest(msgspec.Struct, kw_only=True):
    channel_id: Annotated[int, INT64]
    msg_id: Annotated[int, INT64]


class CommunityRecallBatchRequest(msgspec.Struct, kw_only=True):
    channel_id: Annotated[int, INT64]
    msg_ids: Annotated[list[Annotated[int, INT64]], msgspec.Meta(min_length=1, max_length=1000)]


class CommunityDeleteRequest(msgspec.Struct, kw_only=True):
    channel_id: Annotated[int, INT64]
    msg_ids: Annotated[list[Annotated[int, INT64]], msgspec.Meta(min_length=1, max_length=100)]


class CommunityReactRequest(msgspec.Struct, kw_only=True):
    channel_id: Annotated[int, INT64]
    msg_id: Annotated[int, INT64]
    emoji: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    remove: bool = False


class CommunityMarkReadRequest(msgspec.Struct, kw_only=True):
    channel_id: Annotated[int, INT64]
    seq: Annotated[int, msgspec.Meta(ge=0, le=9223372036854775807)] | None = None


class CommunityMuteSetRequest(msgspec.Struct, kw_only=True):
    channel_id: Annotated[int, INT64]
    muted: bool


class CommunityPinSetRequest(msgspec.Struct, kw_only=True):
    channel_id: Annotated[int, INT64]
    pinned: bool


class CommunityConversationsRequest(msgspec.Struct, kw_only=True):
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 50
    unread_only: bool = False


class CommunityOverwriteSetRequest(msgspec.Struct, kw_only=True):
    community_id: Annotated[int, INT64]
    place: Literal['category', 'channel']
    place_id: Annotated[int, INT64]
    target: Literal['role', 'member']
    target_id: Annotated[int, INT64]
    allow: Annotated[list[Literal['view_channel', 'send', 'read_history', 'mention_everyone', 'manage_messages', 'manage_channels', 'manage_roles', 'kick', 'mute', 'invite', 'manage_community', 'administrator']], msgspec.Meta(max_length=16)] = msgspec.field(default_factory=list)
    deny: Annotated[list[Literal['view_channel', 'send', 'read_history', 'mention_everyone', 'manage_messages', 'manage_channels', 'manage_roles', 'kick', 'mute', 'invite', 'manage_community', 'administrator']], msgspec.Meta(max_length=16)] = msgspec.field(default_factory=list)


REQUESTS: dict[str, type[msgspec.Struct]] = {
    "login": LoginRequest,
    "heartbeat": HeartbeatRequest,
    "ping": PingRequest,
    "chat_dm_send": ChatDMSendRequest,
    "chat_dm_history": ChatDMHistoryRequest,
    "chat_dm_search": ChatDMSearchRequest,
    "chat_dm_conversations": ChatDMConversationsRequest,
    "chat_dm_mark_read": ChatDMMarkReadRequest,
    "chat_dm_pin_set": ChatDMPinSetRequest,
    "chat_dm_typing": ChatDMTypingRequest,
    "chat_dm_control": ChatDMControlRequest,
    "chat_dm_edit": ChatDMEditRequest,
    "chat_dm_recall": ChatDMRecallRequest,
    "chat_dm_recall_batch": ChatDMRecallBatchRequest,
    "chat_dm_delete": ChatDMDeleteRequest,
    "chat_dm_react": ChatDMReactRequest,
    "chat_message_edits": ChatMessageEditsRequest,
    "chat_message_get": ChatMessageGetRequest,
    "chat_message_around": ChatMessageAroundRequest,
    "chat_message_forward": ChatMessageForwardRequest,
    "chat_conversations": ChatConversationsRequest,
    "chat_conversations_unread": ChatConversationsUnreadRequest,
    "chat_conversation_sort_set": ChatConversationSortSetRequest,
    "chat_conversation_remove": ChatConversationRemoveRequest,
    "chat_conversation_dismiss": ChatConversationDismissRequest,
    "chat_translation_language_set": ChatTranslationLanguageSetRequest,
    "chat_translation_language_get": ChatTranslationLanguageGetRequest,
    "chat_broadcast_send": ChatBroadcastSendRequest,
    "chat_broadcast_history": ChatBroadcastHistoryRequest,
    "chat_broadcast_recall": ChatBroadcastRecallRequest,
    "push_device_register": PushDeviceRegisterRequest,
    "push_device_unregister": PushDeviceUnregisterRequest,
    "push_device_list": PushDeviceListRequest,
    "push_settings_set": PushSettingsSetRequest,
    "chat_room_send": ChatRoomSendRequest,
    "chat_room_history": ChatRoomHistoryRequest,
    "chat_room_search": ChatRoomSearchRequest,
    "chat_room_conversations": ChatRoomConversationsRequest,
    "chat_room_mark_read": ChatRoomMarkReadRequest,
    "chat_room_mute_set": ChatRoomMuteSetRequest,
    "chat_room_pin_set": ChatRoomPinSetRequest,
    "chat_room_typing": ChatRoomTypingRequest,
    "chat_room_control": ChatRoomControlRequest,
    "chat_room_edit": ChatRoomEditRequest,
    "chat_room_recall": ChatRoomRecallRequest,
    "chat_room_recall_batch": ChatRoomRecallBatchRequest,
    "chat_room_delete": ChatRoomDeleteRequest,
    "chat_room_react": ChatRoomReactRequest,
    "chat_group_send": ChatGroupSendRequest,
    "chat_group_join": ChatGroupJoinRequest,
    "chat_group_history": ChatGroupHistoryRequest,
    "chat_group_search": ChatGroupSearchRequest,
    "chat_group_conversations": ChatGroupConversationsRequest,
    "chat_group_mark_read": ChatGroupMarkReadRequest,
    "chat_group_mute_set": ChatGroupMuteSetRequest,
    "chat_group_pin_set": ChatGroupPinSetRequest,
    "chat_group_typing": ChatGroupTypingRequest,
    "chat_group_control": ChatGroupControlRequest,
    "chat_group_edit": ChatGroupEditRequest,
    "chat_group_recall": ChatGroupRecallRequest,
    "chat_group_recall_batch": ChatGroupRecallBatchRequest,
    "chat_group_delete": ChatGroupDeleteRequest,
    "chat_group_react": ChatGroupReactRequest,
    "chat_dm_handover": ChatDMHandoverRequest,
    "chat_dm_release": ChatDMReleaseRequest,
    "user_search": UserSearchRequest,
    "chat_button_click": ChatButtonClickRequest,
    "chat_form_submit": ChatFormSubmitRequest,
    "chat_bot_commands_set": ChatBotCommandsSetRequest,
    "chat_bot_commands_list": ChatBotCommandsListRequest,
    "chat_bot_command": ChatBotCommandRequest,
    "chat_stream_begin": ChatStreamBeginRequest,
    "chat_stream_append": ChatStreamAppendRequest,
    "chat_stream_end": ChatStreamEndRequest,
    "chat_stream_cancel": ChatStreamCancelRequestRequest,
    "room_join": RoomJoinRequest,
    "room_exit": RoomExitRequest,
    "chat_room_create": ChatRoomCreateRequest,
    "chat_room_list": ChatRoomListRequest,
    "chat_room_update": ChatRoomUpdateRequest,
    "chat_room_disband": ChatRoomDisbandRequest,
    "group_join": GroupJoinRequest,
    "group_exit": GroupExitRequest,
    "rtc_call_invite": RTCCallInviteRequest,
    "rtc_call_accept": RTCCallAcceptRequest,
    "rtc_call_reject": RTCCallRejectRequest,
    "rtc_call_hangup": RTCCallHangupRequest,
    "rtc_call_state": RTCCallStateRequest,
    "rtc_offer": RTCOfferRequest,
    "rtc_answer": RTCAnswerRequest,
    "rtc_ice_candidate": RTCICECandidateRequest,
    "rtc_multi_join": RTCMultiJoinRequest,
    "rtc_multi_signal": RTCMultiSignalRequest,
    "rtc_multi_leave": RTCMultiLeaveRequest,
    "chat_friend_list": ChatFriendListRequest,
    "chat_friend_add": ChatFriendAddRequest,
    "chat_friend_remove": ChatFriendRemoveRequest,
    "chat_friend_remark_set": ChatFriendRemarkSetRequest,
    "chat_friend_request_list": ChatFriendRequestListRequest,
    "chat_friend_accept": ChatFriendAcceptRequest,
    "chat_friend_reject": ChatFriendRejectRequest,
    "chat_block_add": ChatBlockAddRequest,
    "chat_block_remove": ChatBlockRemoveRequest,
    "chat_block_list": ChatBlockListRequest,
    "chat_dm_whitelist_add": ChatDMWhitelistAddRequest,
    "chat_dm_whitelist_remove": ChatDMWhitelistRemoveRequest,
    "chat_dm_whitelist_list": ChatDMWhitelistListRequest,
    "chat_dm_privacy_get": ChatDMPrivacyGetRequest,
    "chat_dm_privacy_set": ChatDMPrivacySetRequest,
    "enterprise_department_create": EnterpriseDepartmentCreateRequest,
    "enterprise_department_update": EnterpriseDepartmentUpdateRequest,
    "enterprise_department_delete": EnterpriseDepartmentDeleteRequest,
    "enterprise_department_list": EnterpriseDepartmentListRequest,
    "enterprise_member_upsert": EnterpriseMemberUpsertRequest,
    "enterprise_member_remove": EnterpriseMemberRemoveRequest,
    "enterprise_member_list": EnterpriseMemberListRequest,
    "enterprise_member_search": EnterpriseMemberSearchRequest,
    "chat_room_members": ChatRoomMembersRequest,
    "chat_room_member_kick": ChatRoomMemberKickRequest,
    "chat_room_member_mute_set": ChatRoomMemberMuteSetRequest,
    "chat_room_member_role_set": ChatRoomMemberRoleSetRequest,
    "chat_group_create": ChatGroupCreateRequest,
    "chat_group_update": ChatGroupUpdateRequest,
    "chat_group_invite": ChatGroupInviteRequest,
    "chat_group_invite_approval_set": ChatGroupInviteApprovalSetRequest,
    "chat_group_members": ChatGroupMembersRequest,
    "chat_group_read_counts": ChatGroupReadCountsRequest,
    "chat_group_info": ChatGroupInfoRequest,
    "chat_group_member_kick": ChatGroupMemberKickRequest,
    "chat_group_member_mute_set": ChatGroupMemberMuteSetRequest,
    "chat_group_list": ChatGroupListRequest,
    "chat_group_leave": ChatGroupLeaveRequest,
    "chat_group_requests": ChatGroupRequestsRequest,
    "chat_group_request_decide": ChatGroupRequestDecideRequest,
    "chat_group_member_role_set": ChatGroupMemberRoleSetRequest,
    "community_create": CommunityCreateRequest,
    "community_update": CommunityUpdateRequest,
    "community_disband": CommunityDisbandRequest,
    "community_join": CommunityJoinRequest,
    "community_leave": CommunityLeaveRequest,
    "community_members": CommunityMembersRequest,
    "community_info": CommunityInfoRequest,
    "community_member_kick": CommunityMemberKickRequest,
    "community_member_mute_set": CommunityMemberMuteSetRequest,
    "community_role_set": CommunityRoleSetRequest,
    "community_role_list": CommunityRoleListRequest,
    "community_role_create": CommunityRoleCreateRequest,
    "community_role_update": CommunityRoleUpdateRequest,
    "community_role_reorder": CommunityRoleReorderRequest,
    "community_role_delete": CommunityRoleDeleteRequest,
    "community_owner_transfer": CommunityOwnerTransferRequest,
    "community_discover": CommunityDiscoverRequest,
    "community_channel_create": CommunityChannelCreateRequest,
    "community_channel_update": CommunityChannelUpdateRequest,
    "community_channel_delete": CommunityChannelDeleteRequest,
    "community_channel_list": CommunityChannelListRequest,
    "community_category_create": CommunityCategoryCreateRequest,
    "community_category_update": CommunityCategoryUpdateRequest,
    "community_category_delete": CommunityCategoryDeleteRequest,
    "community_invite_create": CommunityInviteCreateRequest,
    "community_permissions": CommunityPermissionsRequest,
    "community_request_list": CommunityRequestListRequest,
    "community_request_decide": CommunityRequestDecideRequest,
    "community_send": CommunitySendRequest,
    "community_history": CommunityHistoryRequest,
    "community_search": CommunitySearchRequest,
    "community_typing": CommunityTypingRequest,
    "community_control": CommunityControlRequest,
    "community_edit": CommunityEditRequest,
    "community_recall": CommunityRecallRequest,
    "community_recall_batch": CommunityRecallBatchRequest,
    "community_delete": CommunityDeleteRequest,
    "community_react": CommunityReactRequest,
    "community_mark_read": CommunityMarkReadRequest,
    "community_mute_set": CommunityMuteSetRequest,
    "community_pin_set": CommunityPinSetRequest,
    "community_conversations": CommunityConversationsRequest,
    "community_overwrite_set": CommunityOverwriteSetRequest,
}

COSTS: dict[str, int] = {
    "login": 0,
    "heartbeat": 0,
    "ping": 0,
    "chat_dm_send": 1,
    "chat_dm_history": 0,
    "chat_dm_search": 0,
    "chat_dm_conversations": 0,
    "chat_dm_mark_read": 1,
    "chat_dm_pin_set": 1,
    "chat_dm_typing": 1,
    "chat_dm_control": 0,
    "chat_dm_edit": 1,
    "chat_dm_recall": 1,
    "chat_dm_recall_batch": 2,
    "chat_dm_delete": 1,
    "chat_dm_react": 1,
    "chat_message_edits": 0,
    "chat_message_get": 0,
    "chat_message_around": 0,
    "chat_message_forward": 2,
    "chat_conversations": 0,
    "chat_conversations_unread": 1,
    "chat_conversation_sort_set": 1,
    "chat_conversation_remove": 1,
    "chat_conversation_dismiss": 1,
    "chat_translation_language_set": 1,
    "chat_translation_language_get": 0,
    "chat_broadcast_send": 1,
    "chat_broadcast_history": 0,
    "chat_broadcast_recall": 1,
    "push_device_register": 1,
    "push_device_unregister": 1,
    "push_device_list": 0,
    "push_settings_set": 1,
    "chat_room_send": 1,
    "chat_room_history": 0,
    "chat_room_search": 0,
    "chat_room_conversations": 0,
    "chat_room_mark_read": 1,
    "chat_room_mute_set": 1,
    "chat_room_pin_set": 1,
    "chat_room_typing": 1,
    "chat_room_control": 0,
    "chat_room_edit": 1,
    "chat_room_recall": 1,
    "chat_room_recall_batch": 2,
    "chat_room_delete": 1,
    "chat_room_react": 1,
    "chat_group_send": 1,
    "chat_group_join": 5,
    "chat_group_history": 0,
    "chat_group_search": 0,
    "chat_group_conversations": 0,
    "chat_group_mark_read": 1,
    "chat_group_mute_set": 1,
    "chat_group_pin_set": 1,
    "chat_group_typing": 1,
    "chat_group_control": 0,
    "chat_group_edit": 1,
    "chat_group_recall": 1,
    "chat_group_recall_batch": 2,
    "chat_group_delete": 1,
    "chat_group_react": 1,
    "chat_dm_handover": 1,
    "chat_dm_release": 1,
    "user_search": 0,
    "chat_button_click": 0,
    "chat_form_submit": 0,
    "chat_bot_commands_set": 1,
    "chat_bot_commands_list": 0,
    "chat_bot_command": 1,
    "chat_stream_begin": 1,
    "chat_stream_append": 0,
    "chat_stream_end": 1,
    "chat_stream_cancel": 0,
    "room_join": 2,
    "room_exit": 1,
    "chat_room_create": 10,
    "chat_room_list": 0,
    "chat_room_update": 2,
    "chat_room_disband": 5,
    "group_join": 5,
    "group_exit": 1,
    "rtc_call_invite": 2,
    "rtc_call_accept": 0,
    "rtc_call_reject": 0,
    "rtc_call_hangup": 0,
    "rtc_call_state": 0,
    "rtc_offer": 0,
    "rtc_answer": 0,
    "rtc_ice_candidate": 0,
    "rtc_multi_join": 1,
    "rtc_multi_signal": 0,
    "rtc_multi_leave": 0,
    "chat_friend_list": 0,
    "chat_friend_add": 2,
    "chat_friend_remove": 2,
    "chat_friend_remark_set": 1,
    "chat_friend_request_list": 0,
    "chat_friend_accept": 2,
    "chat_friend_reject": 1,
    "chat_block_add": 2,
    "chat_block_remove": 1,
    "chat_block_list": 0,
    "chat_dm_whitelist_add": 1,
    "chat_dm_whitelist_remove": 1,
    "chat_dm_whitelist_list": 0,
    "chat_dm_privacy_get": 0,
    "chat_dm_privacy_set": 1,
    "enterprise_department_create": 1,
    "enterprise_department_update": 1,
    "enterprise_department_delete": 2,
    "enterprise_department_list": 0,
    "enterprise_member_upsert": 2,
    "enterprise_member_remove": 2,
    "enterprise_member_list": 0,
    "enterprise_member_search": 0,
    "chat_room_members": 0,
    "chat_room_member_kick": 2,
    "chat_room_member_mute_set": 2,
    "chat_room_member_role_set": 2,
    "chat_group_create": 10,
    "chat_group_update": 2,
    "chat_group_invite": 5,
    "chat_group_invite_approval_set": 2,
    "chat_group_members": 0,
    "chat_group_read_counts": 0,
    "chat_group_info": 0,
    "chat_group_member_kick": 2,
    "chat_group_member_mute_set": 2,
    "chat_group_list": 0,
    "chat_group_leave": 1,
    "chat_group_requests": 0,
    "chat_group_request_decide": 2,
    "chat_group_member_role_set": 2,
    "community_create": 10,
    "community_update": 2,
    "community_disband": 10,
    "community_join": 5,
    "community_leave": 2,
    "community_members": 0,
    "community_info": 0,
    "community_member_kick": 2,
    "community_member_mute_set": 2,
    "community_role_set": 2,
    "community_role_list": 0,
    "community_role_create": 2,
    "community_role_update": 2,
    "community_role_reorder": 2,
    "community_role_delete": 2,
    "community_owner_transfer": 5,
    "community_discover": 0,
    "community_channel_create": 5,
    "community_channel_update": 2,
    "community_channel_delete": 5,
    "community_channel_list": 0,
    "community_category_create": 2,
    "community_category_update": 2,
    "community_category_delete": 2,
    "community_invite_create": 2,
    "community_permissions": 0,
    "community_request_list": 0,
    "community_request_decide": 2,
    "community_send": 1,
    "community_history": 0,
    "community_search": 0,
    "community_typing": 1,
    "community_control": 0,
    "community_edit": 1,
    "community_recall": 1,
    "community_recall_batch": 2,
    "community_delete": 1,
    "community_react": 1,
    "community_mark_read": 1,
    "community_mute_set": 1,
    "community_pin_set": 1,
    "community_conversations": 0,
    "community_overwrite_set": 2,
}

# Optional fields of which at least one (False), or exactly one (True), must be given.
ONE_OF: dict[str, tuple[bool, tuple[str, ...]]] = {
    "push_settings_set": (False, ('dnd', 'groups', 'previews')),
    "chat_group_join": (False, ('group_id', 'invite_code')),
    "chat_bot_commands_list": (True, ('peer', 'group_id', 'room_id', 'channel_id')),
    "chat_bot_command": (True, ('peer', 'group_id', 'room_id', 'channel_id')),
    "chat_stream_begin": (True, ('peer', 'group_id', 'room_id', 'channel_id')),
    "group_join": (False, ('group_id', 'invite_code')),
    "rtc_multi_join": (True, ('group_id', 'channel_id')),
    "enterprise_department_update": (False, ('name', 'parent_id')),
    "enterprise_member_upsert": (True, ('user_id', 'username')),
    "chat_room_member_mute_set": (False, ('duration_ms', 'until')),
    "chat_group_member_mute_set": (False, ('duration_ms', 'until')),
    "community_join": (False, ('community_id', 'invite_code')),
}

UNIMPLEMENTED: frozenset[str] = frozenset(
    ()
)
