"""Drawing a deterministic list of fuzz inputs with Hypothesis (see tests/fuzz/inputs.py)."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from tests.fuzz.http_inputs import http_inputs
from tests.fuzz.inputs import FuzzInput, connect_inputs, frame_inputs, socket_inputs

BATCH = 500  # inputs per Hypothesis run: its memory of a run grows with the run


def fuzz_inputs() -> st.SearchStrategy[FuzzInput]:
    """Every kind of input, weighted: socket.io events and HTTP requests most of all."""
    return st.one_of(
        socket_inputs(),
        socket_inputs(),
        socket_inputs(),
        http_inputs(),
        http_inputs(),
        http_inputs(),
        frame_inputs(),
        connect_inputs(),
    )


def draw_batch(count: int, run_seed: int) -> list[FuzzInput]:
    """``count`` inputs (fewer if Hypothesis runs out of distinct ones), the same for a seed."""
    drawn: list[FuzzInput] = []

    @seed(run_seed)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(fuzz_inputs())
    def collect(value: FuzzInput) -> None:
        drawn.append(value)

    collect()
    return drawn


def draw_inputs(count: int, run_seed: int = 0) -> list[FuzzInput]:
    """``count`` inputs drawn in batches of :data:`BATCH`, each batch with its own seed."""
    inputs: list[FuzzInput] = []
    batch = 0
    while len(inputs) < count:
        inputs += draw_batch(min(BATCH, count - len(inputs)), run_seed * 1_000_003 + batch)
        batch += 1
    return inputs[:count]
