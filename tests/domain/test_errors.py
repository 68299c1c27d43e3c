"""A refusal kept for a later answer holds none of the frames it was raised through."""

from __future__ import annotations

import gc
import weakref

from server.domain.errors import Code, CommandError


class Frame:
    """Stands for what a frame refers to (a request, a transport)."""


def _refuse(kept: list[CommandError], held: Frame) -> None:
    try:
        try:
            raise ValueError(f"client content {id(held)}")
        except ValueError:
            raise CommandError(Code.MALFORMED, "content not accepted") from None
    except CommandError as error:
        kept.append(error.detached())


def test_a_detached_refusal_keeps_no_traceback_context_or_cause() -> None:
    kept: list[CommandError] = []
    _refuse(kept, Frame())
    (error,) = kept
    assert error.__traceback__ is None
    assert error.__context__ is None
    assert error.__cause__ is None
    assert error.to_json() == {"code": "malformed", "message": "content not accepted"}


def test_what_the_raising_frames_referred_to_is_freed_without_a_full_collection() -> None:
    kept: list[CommandError] = []
    held = Frame()
    alive = weakref.ref(held)
    was_enabled = gc.isenabled()
    gc.disable()  # only reference counting: a cycle would keep ``held`` alive
    try:
        _refuse(kept, held)
        del held
        assert alive() is None
    finally:
        if was_enabled:
            gc.enable()
    assert kept[0].code == Code.MALFORMED
