"""After fuzzing: an honest seat still enrols, signs in and gets its score committed."""

from __future__ import annotations

from tests.app.conftest import Room, create_session, load_lot
from tests.app.test_bad_input import scoring_room


async def honest_score(base: str) -> int:
    """A new session taken to ``scoring`` and one signed score: its committed ``seq``."""
    lot = load_lot()
    room = Room(base, await create_session(base, lot), lot)
    try:
        _sup, seat, _second = await scoring_room(room)
        ack = await seat.score(seat.codes[0], "T1", "5")
        return int(ack["seq"])
    finally:
        await room.close()
