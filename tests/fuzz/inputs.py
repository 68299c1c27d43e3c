"""Fuzz inputs for every HTTP endpoint and socket.io event, as every role (issue 10, item 10).

Inputs are plain data drawn with Hypothesis strategies; this module does no IO. What exists only
once a server runs (a session id, a token, a seat's key, a blind code) appears as a :class:`Ref`
or as a :class:`Signed` / :class:`SignedLogin` recipe, which the runner (``tests/fuzz/target.py``)
resolves against the live server: a real signed score with one field mutated is drawn here as
"score.set, mutate ``value`` to X before signing" and signed there with the enrolled seat's key.

Why a drawn list rather than an async ``@given`` test: the server and its socket.io clients live
on one event loop, and Hypothesis calls a test synchronously, many times, from inside its own
engine. :func:`draw_inputs` runs ``@given`` over a collecting function (generate phase only, no
database, a fixed ``@seed``), so the same seed always gives the same inputs, and the pytest test
and ``bench/fuzz.py`` replay them on their own loop, concurrently. The price is no shrinking: a
failing input is reported whole (every input has a readable ``repr``), which for a fuzzer of a
server is what one wants anyway (the server's log names the handler).
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from functools import cache
from typing import Any

from hypothesis import strategies as st

# Who sends: every role a token stands for, and tokens that must be refused.
ROLES = ("expert", "supervisor", "auditor", "public", "admin", "venue", "bidder")
BAD_TOKENS = ("none", "expired", "tampered", "other_session", "revoked", "garbage")
SENDERS = ROLES + BAD_TOKENS

SOCKET_EVENTS = (
    "join",
    "sync",
    "state",
    "results",
    "presence",
    "command",
    "checkpoint",
    "proof",
)
SERVER_EVENTS = ("events", "auth_error", "connect", "disconnect", "message", "connect_error")
MEDIA_EVENTS = (
    "join",
    "publish",
    "subscribe_answer",
    "candidate",
    "restart",
    "mute",
    "state",
    "leave",
)
MEDIA_SERVER_EVENTS = ("offer", "unpublished", "status", "connect", "disconnect", "message")
SIGNED_KINDS = (
    "expert.sign_in",
    "score.set",
    "sheet.submit",
    "flag.explain",
    "blind.close",
    "chair.vote",
    "rejection.propose",
    "rejection.vote",
    "time.request",
    "report.sign",
    "rollback.request",
    "recusal.declare",
    "clarification.draft",
)
STAFF_KINDS = (
    "phase.advance",
    "rejection.approve",
    "rejection.decline",
    "blind.close",
    "enrolment.reset",
    "report.issue",
    "tokens.revoked",
    "media.joined",
    "recording.closed",
    "session.pause",
    "session.resume",
    "session.seal",
    "phase.rollback",
    "rollback.approve",
    "rollback.decline",
    "seat.recover",
    "misconduct.record",
    "expert.rate",
    "draw.commit",
    "draw.reveal",
    "recusal.approve",
    "recusal.decline",
    "clarification.approve",
    "clarification.decline",
)
PHASES = ("prepared", "sign_in", "scoring", "review", "closed")


@dataclass(frozen=True)
class Ref:
    """A value of the running server: ``session``, ``other_session``, ``seat``, ``other_seat``,
    ``code`` (the fuzzing seat's first blind code), ``enrol_code``, ``public_key``, ``head``."""

    name: str


@dataclass(frozen=True)
class Mutation:
    """One change to a valid object: ``set`` a key to ``value``, ``delete`` it, or ``add`` it."""

    op: str
    key: str
    value: Any = None


@dataclass(frozen=True)
class Signed:
    """A signed command of the fuzzing seat; ``stage`` says where ``mutation`` applies: the
    signed ``payload`` (then signed), the ``envelope`` or the ``sig`` after signing, or ``key``
    (signed by a key that is not the seat's)."""

    kind: str
    fields: dict[str, Any]
    mutation: Mutation | None
    stage: str


@dataclass(frozen=True)
class SignedLogin:
    """A signed ``seat.login`` of the fuzzing seat, mutated as :class:`Signed` is."""

    mutation: Mutation | None
    stage: str


@dataclass(frozen=True)
class HttpInput:
    """One HTTP request; ``path`` parts are sent as they are (already quoted) or resolved."""

    sender: str
    method: str
    path: tuple[str | Ref, ...]
    query: str
    body: Any  # a JSON value (maybe with refs), bytes sent as they are, or None
    content_type: str | None
    auth: str  # "bearer", "raw" (no scheme), "basic", "query" (?token=)


@dataclass(frozen=True)
class SocketInput:
    """One socket.io call with an ack through a real python-socketio client."""

    sender: str
    namespace: str
    event: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class FrameInput:
    """A raw socket.io packet (after engine.io's ``4``) on an admitted websocket; ``ack`` is the
    id the server must answer when the packet is an event it can parse, else None."""

    sender: str
    namespace: str
    text: str
    ack: int | None


@dataclass(frozen=True)
class ConnectInput:
    """A socket.io CONNECT with any ``auth``: it must connect or be refused, never hang."""

    namespace: str
    auth: Any


FuzzInput = HttpInput | SocketInput | FrameInput | ConnectInput

# ---------------------------------------------------------------------------------------------
# JSON values of every shape

EDGE_INTS = (0, -1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64, 10**100)
EDGE_FLOATS = (float("nan"), float("inf"), float("-inf"), -0.0, 1e308, 5e-324, 0.5)
LONG_SIZES = (64, 1025, 4097, 16_385, 65_537)


@cache
def _strange_text() -> st.SearchStrategy[str]:
    surrogate = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
    odd = st.sampled_from(["\x00", "\ufeff", "\u202e", "\U0001f600", "评标", "\r\n", "..", "/"])
    piece = st.one_of(st.text(max_size=12), surrogate, odd)
    return st.lists(piece, max_size=5).map("".join)


@cache
def texts() -> st.SearchStrategy[str]:
    """Short, strange, and long text (NUL, lone surrogates, BOM, bidi, CJK)."""
    long = st.tuples(st.sampled_from(LONG_SIZES), st.sampled_from("a\x00é评")).map(
        lambda pair: pair[1] * pair[0]
    )
    return st.one_of(_strange_text(), long)


@cache
def scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-10, max_value=300),
        st.sampled_from(EDGE_INTS),
        st.integers(),
        st.sampled_from(EDGE_FLOATS),
        st.floats(),
        texts(),
    )


def nested(depth: int) -> Any:
    """A list nested ``depth`` deep, with a dict at every other level."""
    value: Any = "x"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


@cache
def json_values() -> st.SearchStrategy[Any]:
    """JSON values of every shape python-socketio and ``json.dumps`` can still encode."""
    tree = st.recursive(
        scalars(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(st.one_of(st.text(max_size=8), _strange_text()), inner, max_size=4),
        ),
        max_leaves=12,
    )
    deep = st.sampled_from((31, 32, 33, 40, 200)).map(nested)
    return st.one_of(tree, deep)


# ---------------------------------------------------------------------------------------------
# Valid-looking objects with one field mutated

PLAUSIBLE = (
    Ref("session"),
    Ref("other_session"),
    Ref("seat"),
    Ref("other_seat"),
    Ref("code"),
    Ref("head"),
    "B1",
    "B6",
    "T1",
    "C3",
    "P1",
    "5",
    "7.5",
    "10.5",
    "0.25",
    "-1",
    "1e1",
    "yes",
    "R1",
    "pub",
    "video",
    "unsigned_unsealed",
    *PHASES,
)


@cache
def field_values() -> st.SearchStrategy[Any]:
    """A replacement value: plausible for some field of the protocol, or any JSON value."""
    return st.one_of(st.sampled_from(PLAUSIBLE), json_values())


@cache
def mutations(keys: tuple[str, ...]) -> st.SearchStrategy[Mutation | None]:
    """None (leave it valid), or one key set, deleted or added."""
    key = st.one_of(st.sampled_from(keys), st.sampled_from(keys), _strange_text())
    return st.one_of(
        st.none(),
        st.builds(Mutation, st.just("set"), key, field_values()),
        st.builds(Mutation, st.just("delete"), st.sampled_from(keys)),
        st.builds(Mutation, st.just("add"), _strange_text(), field_values()),
    )


def apply_mutation(obj: dict[str, Any], mutation: Mutation | None) -> dict[str, Any]:
    """``obj`` with ``mutation`` applied (a new dict)."""
    changed = dict(obj)
    if mutation is None:
        return changed
    if mutation.op == "delete":
        changed.pop(mutation.key, None)
    else:
        changed[mutation.key] = mutation.value
    return changed


_MUTATED: dict[str, st.SearchStrategy[Any]] = {}


def mutated(template: dict[str, Any]) -> st.SearchStrategy[Any]:
    """``template`` with one field mutated, or now and then replaced by any JSON value."""
    name = repr(template)
    if name not in _MUTATED:
        _MUTATED[name] = _mutated(template)
    return _MUTATED[name]


def _mutated(template: dict[str, Any]) -> st.SearchStrategy[Any]:
    keys = tuple(template) or ("x",)
    one = mutations(keys).map(lambda m: apply_mutation(template, m))
    return st.one_of(one, one, one, json_values())


SIGNED_FIELDS: dict[str, dict[str, Any]] = {
    "expert.sign_in": {"pledge": "evalroom-pledge-v1"},
    "score.set": {"code": Ref("code"), "criterion": "T1", "value": "5"},
    "sheet.submit": {},
    "flag.explain": {"bidder": "B1", "criterion": "C1", "text": "说明"},
    "blind.close": {},
    "chair.vote": {"round": 1, "candidate": Ref("other_seat")},
    "rejection.propose": {"bidder": "B2", "ground": "unqualified", "reason": "资质不符"},
    "rejection.vote": {"proposal": "R1", "vote": "yes"},
    "time.request": {"reason": "more time"},
    "report.sign": {"report": "0" * 64},
    "rollback.request": {"what": "sheet", "reason": "误填"},
    "recusal.declare": {"reason": "曾为投标人提供咨询"},
    "clarification.draft": {"bidder": "B2", "question": "请说明工期"},
}
_SIGNED_KEYS = ("type", "session", "seat", "cmd", "t", "id", "signed", "sig")


@cache
def signed_commands() -> st.SearchStrategy[Signed]:
    """A real signed command of the fuzzing seat, one field mutated somewhere (or none)."""

    def build(kind: str) -> st.SearchStrategy[Signed]:
        keys = tuple(SIGNED_FIELDS[kind]) + _SIGNED_KEYS
        stage = st.sampled_from(("payload", "payload", "envelope", "sig", "key"))
        return st.builds(
            Signed, st.just(kind), st.just(SIGNED_FIELDS[kind]), mutations(keys), stage
        )

    kind = st.sampled_from((*SIGNED_KINDS, "score.set", "score.set", "nope.x"))
    return kind.flatmap(lambda k: build(k) if k in SIGNED_FIELDS else build("score.set"))


STAFF_TEMPLATES: dict[str, dict[str, Any]] = {
    "phase.advance": {"to": "review"},
    "rejection.approve": {"proposal": "R1"},
    "rejection.decline": {"proposal": "R1", "reason": "理由"},
    "blind.close": {},
    "enrolment.reset": {"seat": Ref("other_seat"), "reason": "电话核实"},
    "report.issue": {},
    "tokens.revoked": {"role": "supervisor", "subject": "sup-1"},
    "media.joined": {"member": "expert:host-1", "publishes": True},
    "recording.closed": {"seat": "host-1", "track": "video", "file": "x.webm"},
    "session.pause": {"reason": "网络中断", "fault": True},
    "session.resume": {},
    "session.seal": {"reason": "招标人决定"},
    "phase.rollback": {"reason": "复核", "seats": [Ref("other_seat")]},
    "rollback.approve": {"rollback": "RB1"},
    "rollback.decline": {"rollback": "RB1", "reason": "理由"},
    "seat.recover": {"seat": Ref("other_seat"), "reason": "设备故障"},
    "misconduct.record": {"seat": Ref("seat"), "category": "other", "note": "x", "evidence": {}},
    "expert.rate": {"seat": Ref("seat"), "rating": "good"},
    "draw.commit": {"commitment": "0f" * 32},
    "draw.reveal": {"share": "0f" * 32},
    "recusal.approve": {"recusal": "RC1", "venue": "guest-2"},
    "recusal.decline": {"recusal": "RC1", "reason": "理由"},
    "clarification.approve": {"clarification": "CL1"},
    "clarification.decline": {"clarification": "CL1", "reason": "理由"},
}


@cache
def command_payloads() -> st.SearchStrategy[Any]:
    """What a ``command`` event carries: signed, staff, unknown, or any JSON value."""
    staff = st.sampled_from(STAFF_KINDS).flatmap(
        lambda kind: mutated({"id": "fz", "type": kind, **STAFF_TEMPLATES[kind]})
    )
    return st.one_of(signed_commands(), signed_commands(), staff, json_values())


# ---------------------------------------------------------------------------------------------
# socket.io events

DEFAULT_TEMPLATES: dict[str, dict[str, Any]] = {
    "join": {"after": 0},
    "sync": {"after": 1},
    "state": {},
    "results": {},
    "presence": {},
    "checkpoint": {},
}
PROOFS = (
    {"kind": "inclusion", "seq": 1, "size": Ref("head")},
    {"kind": "consistency", "from": 1, "to": Ref("head")},
)
MEDIA_TEMPLATES: dict[str, dict[str, Any]] = {
    "join": {},
    "publish": {"sdp": "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\n", "restart": False},
    "subscribe_answer": {"conn": "s.x.host-2", "sdp": "v=0\r\n"},
    "candidate": {
        "conn": "pub",
        "candidate": "candidate:1 1 udp 2122260223 127.0.0.1 53421 typ host",
        "sdpMid": "0",
        "sdpMLineIndex": 0,
    },
    "restart": {"conn": "pub"},
    "mute": {"kind": "audio", "muted": True},
    "state": {"conn": "pub", "state": "connected"},
    "leave": {},
}


@cache
def event_names(known: tuple[str, ...], server_side: tuple[str, ...]) -> st.SearchStrategy[str]:
    """Mostly the namespace's own events; now and then a server's event name or any text."""
    unknown = st.one_of(st.sampled_from(server_side), _strange_text())
    # one flat sampled_from: Hypothesis's one_of does not keep the weights branches suggest
    return st.sampled_from((*known * 5, "")).flatmap(
        lambda name: st.just(name) if name else unknown
    )


def default_payload(event: str) -> st.SearchStrategy[Any]:
    if event == "command":
        return command_payloads()
    if event == "proof":
        return st.sampled_from(PROOFS).flatmap(mutated)
    if event in DEFAULT_TEMPLATES:
        return mutated(DEFAULT_TEMPLATES[event])
    return json_values()


def media_payload(event: str) -> st.SearchStrategy[Any]:
    if event in MEDIA_TEMPLATES:
        return mutated(MEDIA_TEMPLATES[event])
    return json_values()


@st.composite
def socket_inputs(draw: st.DrawFn) -> SocketInput:
    """An event on either namespace (commands most of all), with one payload, none, or several."""
    sender = draw(
        st.sampled_from(("expert", "expert", "expert", "supervisor", "auditor", "public"))
    )
    if draw(st.sampled_from((True, True, False))):
        weighted = ("command",) * 6 + SOCKET_EVENTS
        namespace, event = "/", draw(event_names(weighted, SERVER_EVENTS))
        payload = default_payload(event)
    else:
        namespace, event = "/media", draw(event_names(MEDIA_EVENTS, MEDIA_SERVER_EVENTS))
        payload = media_payload(event)
    count = draw(st.sampled_from((1, 1, 1, 1, 1, 1, 1, 1, 0, 2)))
    args = tuple(draw(payload) for _ in range(count))
    return SocketInput(sender, namespace, event, args)


@cache
def connect_inputs() -> st.SearchStrategy[ConnectInput]:
    auth = st.one_of(
        st.sampled_from(SENDERS).map(lambda sender: {"token": Ref(f"token:{sender}")}),
        st.builds(lambda v: {"token": v}, json_values()),
        json_values(),
    )
    return st.builds(ConnectInput, st.sampled_from(("/", "/media", "/nope")), auth)


RAW_JSON = (
    "NaN",
    "Infinity",
    "1e400",
    "-0",
    "1" + "0" * 5000,
    '"\\ud800"',
    '"a\\u0000b"',
    '{"after":1,"after":2}',
    '{"after":' + "9" * 30 + "}",
    "[" * 2000 + "]" * 2000,
    '{"k":' * 1500 + "1" + "}" * 1500,
)
BROKEN_JSON = ('{"after":', "[1,2", "{'a':1}", "\udc80", "\x00", '"\\x41"', "")


@st.composite
def frame_inputs(draw: st.DrawFn) -> FrameInput:
    """A raw packet: an event with raw JSON text (answered), or junk (never answered)."""
    sender = draw(st.sampled_from(("expert", "supervisor", "public")))
    namespace = draw(st.sampled_from(("/", "/media")))
    prefix = "" if namespace == "/" else "/media,"
    events = SOCKET_EVENTS if namespace == "/" else MEDIA_EVENTS
    event = draw(st.one_of(st.sampled_from(events), st.sampled_from(SERVER_EVENTS)))
    ack = draw(st.integers(min_value=0, max_value=2**31))
    if draw(st.integers(0, 3)) > 0:
        value = draw(st.one_of(st.sampled_from(RAW_JSON), json_values().map(_dumps)))
        return FrameInput(sender, namespace, f"2{prefix}{ack}[{json.dumps(event)},{value}]", ack)
    junk = draw(
        st.one_of(
            st.sampled_from(BROKEN_JSON).map(lambda j: f"2{prefix}{ack}[{json.dumps(event)},{j}]"),
            st.sampled_from(("0", "1", "3", "4", "5", "6", "7", "9", "")).map(
                lambda kind: f"{kind}{prefix}{ack}[]"
            ),
            st.text(alphabet=string.printable, max_size=40),
            st.just(f"51-{prefix}{ack}[{json.dumps(event)},{{}}]"),
        )
    )
    return FrameInput(sender, namespace, junk, None)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
