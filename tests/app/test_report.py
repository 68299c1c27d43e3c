"""The evaluation report through the server: issued from the log, signed from the seats.

The lot here has no blind criteria (the blind review has its own tests), so the seats score
bidders by id and the test stays about the report.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from server.app.report_desk import reports_folder
from server.auditlog.archive import verify_archive
from server.client.seat import ClientError, SeatClient
from tests.app.conftest import Room, advance, create_session, load_lot, signed_up_to

pypdf = pytest.importorskip("pypdf")

DISSENT = "对 B2 的技术评分有保留意见"


def _text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "".join("".join((page.extract_text() or "").split()) for page in reader.pages)


async def _get(url: str, token: str) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        return response.status, await response.read()


async def reviewed_room(server: str) -> tuple[Room, Any, list[SeatClient]]:
    lot = load_lot()
    for criterion in lot["criteria"]:
        criterion.pop("blind", None)
    room = Room(server, await create_session(server, lot), lot)
    sup = await room.supervisor(0)
    seats = [await room.seat(s) for s in room.created["seats"]]
    await advance(sup, "sign_in")
    await asyncio.gather(*(seat.sign_in() for seat in seats))
    await advance(sup, "scoring")
    lot_model = room.lot

    async def fill(n: int, seat: SeatClient) -> None:
        for bidder, criterion_id in lot_model.typed_cells():
            criterion = lot_model.criterion(criterion_id)
            assert criterion is not None
            assert criterion.step is not None
            if criterion.kind == "objective":
                value = criterion.max
            else:  # a little spread between seats and bidders, always on step
                steps = int((criterion.max - criterion.min) / criterion.step)
                value = criterion.min + criterion.step * (steps - (n + int(bidder[1:])) % 3)
            await seat.score(bidder, criterion_id, format(Decimal(value).normalize(), "f"))
        await seat.submit()

    await asyncio.gather(*(fill(n, seat) for n, seat in enumerate(seats)))
    await advance(sup, "review")
    return room, sup, seats


async def test_report_is_issued_signed_dissented_and_archived(server: str, tmp_path: Path) -> None:
    room, sup, seats = await reviewed_room(server)
    try:
        api = f"{room.base}/api/sessions/{room.session}"
        with pytest.raises(ClientError) as info:
            await seats[0].command({"id": "x", "type": "report.issue"})
        assert info.value.code == "forbidden"
        ack = await sup.command({"id": "report-1", "type": "report.issue"})
        digest = ack["report"]
        status, pdf = await _get(f"{api}/report.pdf", seats[0].token or "")
        assert status == 200
        assert hashlib.sha256(pdf).hexdigest() == digest  # members sign the bytes they read
        text = _text(pdf)
        assert "评标报告" in text
        assert room.lot.project_code in text
        assert "中标人" not in text
        status, _ = await _get(f"{api}/report.pdf", room.created["public"])
        assert status == 403

        def sign(seat: SeatClient, report: str, **extra: Any) -> Any:
            cmd = seat.next_id()
            return seat.command(seat.signed("report.sign", cmd, report=report, **extra))

        with pytest.raises(ClientError) as info:
            await sign(seats[0], "0" * 64)
        assert info.value.code == "stale_report"
        for seat in seats[:5]:
            await sign(seat, digest)
        last = await sign(seats[5], digest, dissent=DISSENT)  # seats[6] neither signs nor dissents
        with pytest.raises(ClientError) as info:
            await sign(seats[0], digest)
        assert info.value.code == "already_signed"

        status, body = await _get(f"{api}/report", room.created["auditor"])
        assert status == 200
        state = json.loads(body)["report"]
        assert state["hash"] == digest
        assert state["signatures"][seats[5].seat]["dissent"] == DISSENT
        assert seats[6].seat not in state["signatures"]
        assert len(state["signatures"]) == 6
        status, signed_pdf = await _get(f"{api}/report/signed.pdf", room.created["auditor"])
        assert status == 200
        signed_text = _text(signed_pdf)
        assert "".join(DISSENT.split()) in signed_text
        assert seats[6].seat in signed_text
        assert "未签署" in signed_text  # the member who did neither is shown as such
        assert digest in signed_text

        await signed_up_to(room, last["seq"])  # the archive ends at the newest checkpoint
        status, archive = await _get(f"{api}/archive", room.created["auditor"])
        assert status == 200
        with zipfile.ZipFile(io.BytesIO(archive)) as zf:
            assert "report/report.pdf" not in zf.namelist()  # no event holds its hash
            assert zf.read(f"report/{digest}.pdf") == pdf  # the very bytes the members signed
            listing = json.loads(zf.read("report/report.json"))
            assert listing["report_sha256"] == digest
            archived = [json.loads(line) for line in zf.read("events.jsonl").splitlines()]
            signed = {e["data"]["seat"] for e in archived if e["type"] == "report.signed"}
            assert signed  # the archive ends at its newest checkpoint: up to all six signatures
            assert set(listing["signatures"]) == signed
            members = {name: zf.read(name) for name in zf.namelist()}
        path = tmp_path / "archive.zip"
        path.write_bytes(archive)
        verdict = verify_archive(path, allow_open=True)  # exported in review, before the close
        assert verdict.ok, verdict.problems
        assert verdict.counts["issued reports"] == 1
        # Swap the signed PDF for another one: the verifier names the file.
        members[f"report/{digest}.pdf"] = signed_pdf
        forged = tmp_path / "forged.zip"
        with zipfile.ZipFile(forged, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)
        problems = {(p.kind, p.item) for p in verify_archive(forged, allow_open=True).problems}
        assert ("report", f"report/{digest}.pdf") in problems
    finally:
        await room.close()


async def test_issuing_again_neither_wipes_signatures_nor_renders_a_resend(
    server: str, tmp_path: Path
) -> None:
    room, sup, seats = await reviewed_room(server)
    try:
        ack = await sup.command({"id": "report-1", "type": "report.issue"})
        digest = ack["report"]
        cmd = seats[0].next_id()
        await seats[0].command(seats[0].signed("report.sign", cmd, report=digest))
        # a resend of the same command id gets the same answer, rendered once
        again = await sup.command({"id": "report-1", "type": "report.issue"})
        assert (again["seq"], again["report"]) == (ack["seq"], digest)
        # issuing anew with nothing changed keeps the report and its signature
        unchanged = await sup.command({"id": "report-2", "type": "report.issue"})
        assert unchanged["unchanged"] is True
        assert (unchanged["seq"], unchanged["report"]) == (ack["seq"], digest)
        status, body = await _get(
            f"{room.base}/api/sessions/{room.session}/report", room.created["auditor"]
        )
        assert status == 200
        assert list(json.loads(body)["report"]["signatures"]) == [seats[0].seat]
        events = (await sup.sio.call("sync", {"after": 0}))["events"]
        assert [e["seq"] for e in events if e["type"] == "report.issued"] == [ack["seq"]]
        # one unsigned rendering only (each rendering is named by its own SHA-256)
        folder = reports_folder(tmp_path, room.session)
        assert sorted(p.name for p in folder.glob("*.pdf")) == sorted(
            [f"{digest}.pdf", "report.pdf"]
        )
    finally:
        await room.close()
