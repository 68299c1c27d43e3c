"""Checkpoints and proofs over HTTP and socket.io, checked the way an outsider would."""

from __future__ import annotations

import asyncio
import base64
import itertools
from typing import Any

import aiohttp

from server.auditlog.merkle import verify_consistency, verify_inclusion
from server.auditlog.note import parse_checkpoint, parse_verifier_key, verify_note
from server.client.simulate import run_session
from tests.app.conftest import Room, advance


def _b64(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


async def _get(http: aiohttp.ClientSession, url: str, **params: Any) -> tuple[int, Any]:
    async with http.get(url, params={k: str(v) for k, v in params.items()}) as response:
        return response.status, await response.json()


async def test_closed_session_is_provable_from_its_checkpoints(room: Room) -> None:
    live: list[dict[str, Any]] = []
    sup = await room.supervisor(1)
    sup.sio.on("checkpoint", lambda data: live.append(data))
    summary = await run_session(room.base, room.created, room.lot_json)
    api = f"{room.base}/api/sessions/{room.session}"
    async with aiohttp.ClientSession() as http:
        _, node = await _get(http, f"{room.base}/api/node")
        verifier = parse_verifier_key(node["verifier_key"])
        async with http.get(f"{room.base}/api/node/key.pem") as response:
            assert (await response.text()).startswith("-----BEGIN PUBLIC KEY-----")
        async with http.get(
            f"{api}/events",
            headers={"Authorization": f"Bearer {room.created['auditor']}"},
            params={"after": "0"},
        ) as response:
            events = (await response.json())["events"]
        head = events[-1]["seq"]
        assert head >= summary["head"]
        _, latest = await _get(http, f"{api}/checkpoint")
        _, listed = await _get(http, f"{api}/checkpoints")
        checkpoints = listed["checkpoints"]
        assert latest["checkpoint"]["size"] == head  # signed when it closed
        assert checkpoints[-1] == latest["checkpoint"]
        roots = {}
        for item in checkpoints:
            body = verify_note(item["note"], verifier)
            parsed = parse_checkpoint(body)
            assert parsed.origin == f"evalroom.local/{room.session}"
            assert (parsed.size, parsed.root) == (item["size"], _b64(item["root"]))
            roots[parsed.size] = parsed.root
        for a, b in itertools.pairwise(sorted(roots)):
            _, answer = await _get(http, f"{api}/proof/consistency", **{"from": a, "to": b})
            proof = [_b64(h) for h in answer["proof"]]
            verify_consistency(a, b, proof, roots[a], roots[b])
        for event in events[:: max(1, head // 25)] + events[-1:]:
            _, answer = await _get(http, f"{api}/proof/inclusion", seq=event["seq"])
            assert answer["size"] == head
            assert _b64(answer["leaf_hash"]) == bytes.fromhex(event["hash"])
            proof = [_b64(h) for h in answer["proof"]]
            verify_inclusion(_b64(answer["leaf_hash"]), event["seq"] - 1, head, proof, roots[head])
        for bad in ({"seq": 0}, {"seq": head + 1}, {"seq": "x"}, {"seq": 2, "size": 1}):
            status, answer = await _get(http, f"{api}/proof/inclusion", **bad)
            assert (status, answer["error"]["code"]) == (400, "malformed"), bad
        for a, b in ((0, 5), (5, 4), (1, head + 1)):
            status, answer = await _get(http, f"{api}/proof/consistency", **{"from": a, "to": b})
            assert (status, answer["error"]["code"]) == (400, "malformed"), (a, b)
        status, answer = await _get(http, f"{room.base}/api/sessions/nope/checkpoint")
        assert status == 404
    # Supervisors saw checkpoints arrive live, the closing one included.
    for _ in range(50):
        if live and live[-1]["size"] == head:
            break
        await asyncio.sleep(0.1)
    assert live
    assert live[-1]["size"] == head
    assert {c["size"] for c in live} <= set(roots)


async def test_socketio_checkpoint_and_proofs(room: Room) -> None:
    sup = await room.supervisor(0)
    await advance(sup, "sign_in")
    seat = await room.seat(room.created["seats"][0])
    answer = await seat.sio.call("checkpoint", {}, timeout=10)
    assert answer["ok"], answer
    size = answer["checkpoint"]["size"]
    inclusion = await seat.sio.call("proof", {"kind": "inclusion", "seq": 1}, timeout=10)
    assert inclusion["ok"], inclusion
    assert inclusion["size"] == size
    verify_inclusion(
        _b64(inclusion["leaf_hash"]),
        0,
        size,
        [_b64(h) for h in inclusion["proof"]],
        _b64(answer["checkpoint"]["root"]),
    )
    consistency = await seat.sio.call("proof", {"kind": "consistency", "from": 1, "to": size})
    assert consistency["ok"], consistency
    assert consistency["from"] == 1
    wrong = await seat.sio.call("proof", {"kind": "other"}, timeout=10)
    assert wrong["error"]["code"] == "malformed"


async def test_cosignature_from_an_unknown_witness_is_refused(room: Room) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from server.app.notary import Notary

    stranger = Notary("stranger.test", Ed25519PrivateKey.generate())
    api = f"{room.base}/api/sessions/{room.session}"
    async with aiohttp.ClientSession() as http:
        _, latest = await _get(http, f"{api}/checkpoint")
        note = latest["checkpoint"]["note"]
        body = note.split("\n\n", 1)[0] + "\n"
        line = stranger.cosign(body, 1_700_000_000)
        size = latest["checkpoint"]["size"]
        async with http.post(f"{api}/checkpoints/{size}/cosignatures", json={"line": line}) as r:
            assert r.status == 403
            assert (await r.json())["error"]["code"] == "forbidden"
        async with http.post(f"{api}/checkpoints/{size}/cosignatures", json=[1]) as r:
            assert r.status == 400
