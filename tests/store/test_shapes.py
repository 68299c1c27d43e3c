"""IN lists are padded to few lengths, so a query runs as few SQL texts (server/store/shapes.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from server.store.log import find_acks_txn
from server.store.shapes import padded


def test_a_list_is_padded_to_a_power_of_two_with_its_last_value() -> None:
    assert padded([7]) == [7]
    assert padded([1, 2, 3]) == [1, 2, 3, 3]
    assert padded(range(5)) == [0, 1, 2, 3, 4, 4, 4, 4]
    assert padded([1, 2, 3, 4]) == [1, 2, 3, 4]
    assert {len(padded(range(n))) for n in range(1, 1025)} == {2**k for k in range(11)}
    with pytest.raises(ValueError, match="at least one"):
        padded([])


async def test_acks_for_every_batch_size_up_to_64_run_as_seven_texts(engine: AsyncEngine) -> None:
    texts: set[str] = set()

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        texts.add(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    async with engine.connect() as conn:
        for n in range(1, 65):
            keys = [(f"expert:S{i}", f"c{i}") for i in range(n)]
            assert await find_acks_txn(conn, "s-none", keys) == {}
    assert len(texts) == 7  # 1, 2, 4, …, 64 pairs (was 64 texts, one per batch size)
