"""HTTP fuzz inputs: every route of docs/PROTOCOL.md, wrong methods, odd paths and bodies."""

from __future__ import annotations

import json
from functools import cache
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from server.client.expert_pool import sample_pool, sample_rules
from tests.app.conftest import load_lot
from tests.fuzz.inputs import (
    SENDERS,
    HttpInput,
    Ref,
    SignedLogin,
    _strange_text,
    json_values,
    mutated,
    mutations,
    texts,
)

S = Ref("session")
ROUTES: tuple[tuple[str, tuple[str | Ref, ...]], ...] = (
    ("GET", ("/healthz",)),
    ("POST", ("/api/sessions",)),
    ("POST", ("/api/sessions/", S, "/enrol")),
    ("POST", ("/api/sessions/", S, "/login")),
    ("POST", ("/api/sessions/", S, "/tokens/revoke")),
    ("GET", ("/api/sessions/", S, "/events")),
    ("GET", ("/api/sessions/", S, "/state")),
    ("GET", ("/api/sessions/", S, "/results")),
    ("GET", ("/api/node",)),
    ("GET", ("/api/node/key.pem",)),
    ("GET", ("/api/sessions/", S, "/checkpoint")),
    ("GET", ("/api/sessions/", S, "/checkpoints")),
    ("POST", ("/api/sessions/", S, "/checkpoints/", Ref("head"), "/cosignatures")),
    ("GET", ("/api/sessions/", S, "/proof/inclusion")),
    ("GET", ("/api/sessions/", S, "/proof/consistency")),
    ("GET", ("/api/witness/feed",)),
    ("GET", ("/api/witness",)),
    ("GET", ("/api/sessions/", S, "/archive")),
    ("GET", ("/api/sessions/", S, "/report")),
    ("GET", ("/api/sessions/", S, "/report.pdf")),
    ("GET", ("/api/sessions/", S, "/report/signed.pdf")),
    ("GET", ("/api/sessions/", S, "/recordings")),
    ("GET", ("/api/sessions/", S, "/recordings/host-1-video-1795000000000.webm")),
    ("POST", ("/api/sessions/", S, "/draw")),
    ("POST", ("/api/sessions/", S, "/draw/make")),
    ("GET", ("/api/sessions/", S, "/draw/notice")),
    ("GET", ("/api/sessions/", S, "/clarification")),
    ("POST", ("/api/sessions/", S, "/clarification/answer")),
    ("GET", ("/api/sessions/", S, "/fees.csv")),
    ("GET", ("/api/sessions/", S, "/fees/", Ref("seat"), ".pdf")),
    ("GET", ("/api/sessions/", S, "/ocds.json")),
    ("GET", ("/draw/", S)),
    ("GET", ("/bidder/", S)),
    ("GET", ("/seat/", S, "/", Ref("seat"))),
    ("GET", ("/supervisor/", S)),
    ("GET", ("/public/", S)),
    ("GET", ("/auditor/", S)),
    ("GET", ("/client/seat.js",)),
    ("GET", ("/nope",)),
)
QUERIES = {
    "/events": ("after=0", "after=1"),
    "/checkpoints": ("after=0",),
    "/proof/inclusion": ("seq=1", "seq=1&size=1"),
    "/proof/consistency": ("from=1&to=1",),
}
QUERY_VALUES = (
    "",
    "-1",
    "+5",
    "1e3",
    "%00",
    "%ff",
    "%D9%A5",
    str(2**63 - 1),
    str(2**63),
    "9" * 100,
    "1&after=2",
    "%F0%9F%98%80",
)
CONTENT_TYPES = (
    "application/json",
    "application/json",
    None,
    "text/plain",
    "application/json; charset=latin-1",
    "application/json; charset=nope",
    "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded",
)
RAW_BODIES = (
    b"",
    b"not json",
    b"{",
    b"\xff\xfe{}",
    b"\xef\xbb\xbf{}",
    b"NaN",
    b'{"seat": 1e400}',
    b'{"seat": 1' + b"0" * 5000 + b"}",
    b'"\\ud800"',
    b'{"a":1,"a":2}',
    b"[" * 100_000 + b"]" * 100_000,
    b"[" * 33 + b"]" * 33,
    b" " * (300 * 1024),
    b'{"x":"' + b"a" * (2 * 1024 * 1024) + b'"}',
    b"\x00" * 64,
)
LOGIN_KEYS = ("seat", "signed", "sig", "type", "session", "t")


@cache
def paths() -> st.SearchStrategy[tuple[str, tuple[str | Ref, ...]]]:
    """A route, its session swapped for another, an unknown or a strange one now and then."""
    odd_session = st.one_of(
        st.sampled_from((Ref("other_session"), "s-000000000000", "%2e%2e", "s%2Fx", "s%00x")),
        _strange_text().map(lambda text: quote(text, safe="", errors="surrogatepass")),
    )

    def swap(route: tuple[str, tuple[str | Ref, ...]]) -> st.SearchStrategy[Any]:
        method, parts = route
        replaced = odd_session.map(lambda s: (method, tuple(s if p == S else p for p in parts)))
        methods = st.sampled_from(("PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"))
        wrong = methods.map(lambda m: (m, parts))
        return st.one_of(st.just(route), st.just(route), st.just(route), replaced, wrong)

    return st.sampled_from(ROUTES).flatmap(swap)


def queries(parts: tuple[str | Ref, ...]) -> st.SearchStrategy[str]:
    last = parts[-1] if isinstance(parts[-1], str) else ""
    valid = QUERIES.get(last, ("",))
    key = st.sampled_from(("after", "seq", "size", "from", "to", "token", "x"))
    junk = st.builds(lambda k, v: f"{k}={v}", key, st.sampled_from(QUERY_VALUES))
    return st.one_of(st.sampled_from(valid), st.sampled_from(valid), junk)


@cache
def bodies(parts: tuple[str | Ref, ...]) -> st.SearchStrategy[Any]:
    """A valid-looking body for the route with one field mutated, any JSON, or raw bytes."""
    last = parts[-1] if isinstance(parts[-1], str) else ""
    templates: dict[str, st.SearchStrategy[Any]] = {
        "/api/sessions": mutated(load_lot()),
        "/enrol": mutated(
            {"seat": Ref("seat"), "code": Ref("enrol_code"), "public_key": Ref("public_key")}
        ),
        "/login": st.builds(
            SignedLogin,
            mutations(LOGIN_KEYS),
            st.sampled_from(("payload", "envelope", "sig", "key")),
        ),
        "/tokens/revoke": mutated({"role": "public", "subject": "screen", "reason": "fuzz"}),
        "/cosignatures": mutated({"line": "— guest.example AAAA\n"}),
        "/draw": mutated({"pool": sample_pool(12), "rules": sample_rules()}),
        "/answer": mutated({"id": "answer-CL1", "answer": "见投标文件"}),
    }
    valid = templates.get(last, json_values())
    return st.one_of(valid, valid, valid, json_values(), st.sampled_from(RAW_BODIES))


@st.composite
def http_inputs(draw: st.DrawFn) -> HttpInput:
    """One request: any route, as any sender, with any body, content type and query."""
    method, parts = draw(paths())
    sender = draw(st.sampled_from(SENDERS))
    body = draw(bodies(parts)) if method in ("POST", "PUT", "PATCH") else None
    if isinstance(body, str | int | float | bool | list | dict) and draw(st.integers(0, 9)) == 0:
        body = (
            texts()
            .map(lambda text: json.dumps(body, default=repr) + text)
            .map(lambda text: text.encode("utf-8", "surrogatepass"))
        )
        body = draw(body)
    return HttpInput(
        sender=sender,
        method=method,
        path=parts,
        query=draw(queries(parts)),
        body=body,
        content_type=draw(st.sampled_from(CONTENT_TYPES)),
        auth=draw(st.sampled_from(("bearer", "bearer", "bearer", "raw", "basic", "query"))),
    )
