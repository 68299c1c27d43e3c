"""Server defects the fuzzer found and the server does not handle yet (issue 10, item 10).

Each is one class of input, named by :func:`known_defect`. The CI test leaves these inputs out
(and says how many it left out); ``bench/fuzz.py`` sends them unless ``--skip-known``, so its
figures show the server as it is. Remove a class here once the server handles it; add one here
(with a predicate in :func:`known_defect`) when the fuzzer finds a new class not yet fixed.

None is known now: the classes found before (unknown and reserved event names, extra arguments,
integers past 100 digits, a bare number as CONNECT auth, packets the stock decoder refuses) are
answered by the socket.io guard (``server/app/sio_guard.py``).
"""

from __future__ import annotations

from tests.fuzz.inputs import FuzzInput

DEFECTS: dict[str, str] = {}


def known_defect(item: FuzzInput) -> str | None:
    """The :data:`DEFECTS` key of a class of inputs the server mishandles, else None."""
    return None
