"""client_web/fold.js in Chromium against the domain's views, for every event of a whole day.

The pure core's ``full_day`` (tests/domain/test_session_flow.py) holds every event type: the
draw, recusal and replacement, clarification, roll-backs, conduct, inspection, the fees and the
seal among them. For each role of ``VIEWERS`` (a supervisor, the public screen, a venue, the
chair host-1 and guest-2-1), and for the recused seat guest-1-2 and the reserve's new seat
guest-2-2, the events go to the page as ``event_view`` shows them to that role; the page folds
them one by one with ``Evalroom.applyView`` (as common.js ``Stream`` does, with the role read
from the token), and after every event the SHA-256 of the canonical JSON of its view must equal
that of ``state_view`` of the domain's state at that seq: the check of
test_verify_action_for_every_event, in the browser. An event that tells experts to resync is
folded, then the view is replaced by the state view, as ``Stream.refetch`` does.

The page starts from ``{seq: 0, session}``: a page knows which session it joined, and the public
screen's ``session.created`` does not name it.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

import pytest

from server.auditlog.canonical import canonical_bytes
from server.domain.folding import apply_event
from server.domain.roles import Role
from server.domain.state import new_state
from server.domain.views import Viewer, event_view, state_view
from tests.app.conftest import create_session, load_lot
from tests.domain.days import full_day
from tests.domain.test_session_flow import VIEWERS
from tests.e2e.browser import chromium_page, until

if TYPE_CHECKING:
    from server.domain.events import Event

pytestmark = pytest.mark.browser

# The domain's viewers, and both seats of the recusal: the recused one (its view loses its seat)
# and the reserve's new seat (its own seat appears, seen as its own from the start).
ROLES = [*VIEWERS, Viewer(Role.EXPERT, "guest-1-2"), Viewer(Role.EXPERT, "guest-2-2")]

# Folds ``steps`` in order; the index of the first step whose view differs, with that view.
FOLD = """async ({ steps, seat, role, session }) => {
  const hex = (b) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, "0")).join("");
  const utf8 = new TextEncoder();
  let view = { seq: 0, session };
  for (let i = 0; i < steps.length; i++) {
    const { event, want, state } = steps[i];
    Evalroom.applyView(view, event, seat, role);
    if (state) view = state; // the event said resync: the page asks for the state
    const got = hex(await crypto.subtle.digest("SHA-256", utf8.encode(Evalroom.canonical(view))));
    if (got !== want) return { at: i, view };
  }
  return null;
}"""


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _digest(view: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(view)).hexdigest()


def _steps(events: list[Event], viewer: Viewer) -> tuple[list[dict[str, Any]], list[Any]]:
    """Each event as ``viewer`` sees it with the digest of its state view after it (and that
    view where the event says resync); the state views, to explain a difference."""
    state = new_state(events[0])
    steps: list[dict[str, Any]] = []
    views: list[Any] = []
    for n, event in enumerate(events):
        if n:
            apply_event(state, event)
        seen = _plain(event_view(event, viewer, state.revealed))
        want = _plain(state_view(state, viewer))
        step = {"event": seen, "want": _digest(want)}
        if seen.get("resync"):
            step["state"] = want
        steps.append(step)
        views.append(want)
    return steps, views


def _difference(got: dict[str, Any], want: dict[str, Any]) -> dict[str, Any]:
    keys = sorted(got.keys() | want.keys())
    return {k: (got.get(k), want.get(k)) for k in keys if got.get(k) != want.get(k)}


async def test_fold_js_equals_the_state_view_after_every_event_for_every_role(
    server: str, lot_json: dict[str, Any]
) -> None:
    session = full_day(lot_json)
    events = session.events
    kinds = {e.type for e in events}
    assert {"seat.replaced", "clarification.answered", "fees.computed"} <= kinds
    errors: list[str] = []
    async with chromium_page(errors, enforce_csp=True) as page:
        await page.goto(f"{server}/auditor")  # a page that loads common.js and fold.js
        await until(page, "!!(window.Evalroom && window.Evalroom.applyView)")
        for viewer in ROLES:
            steps, views = _steps(events, viewer)
            argument = {
                "steps": steps,
                "seat": viewer.seat,
                "role": str(viewer.role),
                "session": events[0].session,
            }
            wrong = await page.evaluate(FOLD, argument)
            if wrong is not None:
                at = wrong["at"]
                seen = steps[at]["event"]
                difference = _difference(wrong["view"], views[at])
                pytest.fail(f"{viewer}: after #{seen['seq']} {seen['type']}: {difference}")
    assert errors == []


async def test_a_stream_folds_as_the_role_its_token_names(server: str) -> None:
    """common.js ``Stream`` passes the role read from its token to the fold."""
    created = await create_session(server, load_lot())
    tokens = {
        "supervisor": created["supervisor"][0],
        "auditor": created["auditor"],
        "public": created["public"],
        "venue": created["venues"]["guest-1"],
    }
    errors: list[str] = []
    async with chromium_page(errors, enforce_csp=True) as page:
        await page.goto(f"{server}/auditor")
        await until(page, "!!(window.Evalroom && window.Evalroom.tokenRole)")
        for role, token in tokens.items():
            assert await page.evaluate("(t) => Evalroom.tokenRole(t)", token) == role
        assert await page.evaluate("Evalroom.tokenRole('not-a-token')") is None
    assert errors == []
