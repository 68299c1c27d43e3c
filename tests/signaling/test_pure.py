"""The pure signaling modules import no IO, no clock, no randomness and no media stack."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.test_architecture import IO_MODULES

SIGNALING = Path(__file__).resolve().parents[2] / "signaling"
FORBIDDEN = IO_MODULES | {"aiortc", "av"}  # and no media stack
PURE = ["policy.py", "turn.py", "ice.py", "messages.py", "debounce.py"]


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            names.add(".")  # relative imports would hide what is imported: the package uses none
    return names


@pytest.mark.parametrize("name", PURE)
def test_pure_signaling_module_does_no_io_and_reads_no_clock(name: str) -> None:
    imported = _imports(SIGNALING / name)
    assert imported & (FORBIDDEN | {"."}) == set()


def test_pure_modules_import_only_each_other_and_the_pure_domain() -> None:
    # A pure module importing an impure one of the project would bring its IO in transitively.
    for name in PURE:
        project = {n for n in _imports(SIGNALING / name) if n in {"server", "signaling"}}
        tree = ast.parse((SIGNALING / name).read_text("utf-8"))
        modules = {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.split(".")[0] in project
        }
        allowed = {f"signaling.{p.removesuffix('.py')}" for p in PURE}
        assert all(m in allowed or m.startswith("server.domain.") for m in modules), (name, modules)
