"""The Janus backend as the room sees it: the embedded backend's methods and events, served by a
Janus VideoRoom over Janus's HTTP API.

One VideoRoom room per evaluation session (recording on, ``rec_dir`` =
``<recordings>/<session>/janus/``), one publisher handle per seat's publishing connection, one
subscriber handle per connection down to a member. Janus offers on subscriber handles and answers
on publisher handles, the same fixed directions as the embedded worker.

Events (the embedded worker's shapes): ``state`` from Janus's ``webrtcup`` (connected) and
``hangup`` (closed, or failed when ICE failed); ``recording`` once a publisher's ``.mjr`` files
are closed and converted (:mod:`signaling.janus.closing`); ``status`` every second, counted
from the recordings as Janus writes them (see :meth:`JanusBackend.status`), and a final one per
closed publisher with the exact counts; ``closed``; ``worker_lost`` when Janus or
its session is gone.

One event the embedded worker has no need for: ``published`` (session, seat, kinds) once a
publisher's connection is up. VideoRoom refuses subscribers to a publisher before that, so
:meth:`JanusBackend.subscribe` returns no offer for such a seat (after waiting ``feed_wait_s``),
and the room has to subscribe its members again on this event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from signaling.janus import videoroom as vr
from signaling.janus.api import JanusClient, JanusError
from signaling.janus.closing import convert_leftovers, finish_recordings
from signaling.janus.conn import Conn, live_tracks, poll_tails, wall_ms
from signaling.janus.recording import JANUS_DIR

logger = logging.getLogger(__name__)

OnEvent = Callable[[dict[str, Any]], None]
STATUS_EVERY_S = 1.0


class JanusBackend:
    """Media through a Janus VideoRoom reached at ``janus_url`` (``http://127.0.0.1:8088/janus``)."""

    name = "janus"

    def __init__(
        self,
        recordings: Path,
        on_event: OnEvent,
        janus_url: str,
        api_secret: str | None = None,
        feed_wait_s: float = 0.0,
    ) -> None:
        self._recordings = recordings
        self._on_event = on_event
        self._url = janus_url
        self._secret = api_secret
        self._feed_wait_s = feed_wait_s
        self._client: JanusClient | None = None
        self._lock = asyncio.Lock()
        self._rooms: dict[str, str] = {}  # session -> room secret
        self._conns: dict[str, Conn] = {}
        self._by_handle: dict[int, Conn] = {}
        self._feeds: dict[tuple[str, str], Conn] = {}  # (session, seat) -> publisher
        self._ticker: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.generation = 0

    # -- the room's interface ---------------------------------------------------------------

    async def publish(self, conn: str, session: str, seat: str, sdp: str) -> dict[str, Any]:
        """A seat's offer on its publishing connection; answers with Janus's SDP."""
        client = await self._ensure()
        await self._drop(conn)
        await self._room(client, session)
        c = Conn(conn, session, seat, "pub", await client.attach(vr.PLUGIN))
        self._register(c)
        try:
            joined, _ = await client.message(c.handle, vr.join_publisher(session, seat))
            c.feed = str(joined["id"])
            c.mids = vr.offered_mids(sdp)
            c.base = f"{seat}~{wall_ms()}"
            offer = {"type": "offer", "sdp": sdp}
            _, jsep = await client.message(c.handle, vr.configure_publisher(c.base), offer)
            if jsep is None:
                raise JanusError(0, "janus answered the offer without an SDP")
        except BaseException:
            await self._drop(conn)
            raise
        c.kinds = vr.accepted_kinds(str(jsep["sdp"]), c.mids)
        old = self._feeds.get((session, seat))
        self._feeds[(session, seat)] = c
        if old is not None:
            logger.info("seat %s republished", seat)
        return {"sdp": jsep["sdp"], "kinds": c.kinds}

    async def subscribe(
        self, conn: str, session: str, source: str, kinds: Sequence[str]
    ) -> dict[str, Any]:
        """A connection sending ``kinds`` of ``source`` down to a member: Janus offers."""
        client = await self._ensure()
        await self._drop(conn)
        pub = self._feeds.get((session, source))
        wanted = [k for k in vr.KINDS if k in kinds and pub is not None and k in pub.kinds]
        if pub is None or pub.feed is None or not wanted:
            return {"sdp": None, "kinds": []}
        if not pub.up.is_set():
            # VideoRoom refuses a subscriber ("No such feed") until the publisher's connection
            # is up; the room subscribes again on the ``published`` event.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(pub.up.wait(), self._feed_wait_s)
            if not pub.up.is_set():
                return {"sdp": None, "kinds": []}
        c = Conn(conn, session, source, "sub", await client.attach(vr.PLUGIN))
        self._register(c)
        try:
            mids = [pub.mids[k] for k in wanted]
            _, jsep = await client.message(c.handle, vr.join_subscriber(session, pub.feed, mids))
            if jsep is None:
                raise JanusError(0, "janus attached a subscriber without an offer")
        except BaseException:
            await self._drop(conn)
            raise
        c.kinds = wanted
        return {"sdp": jsep["sdp"], "kinds": wanted}

    async def answer(self, conn: str, sdp: str) -> None:
        """The member's answer on a connection Janus offered."""
        c = self._conns[conn]
        await self._client_or_fail().message(c.handle, vr.START, {"type": "answer", "sdp": sdp})

    async def candidate(self, conn: str, candidate: dict[str, Any]) -> None:
        """A trickled remote candidate (an empty one: the end of candidates)."""
        c = self._conns.get(conn)
        if c is not None:
            await self._client_or_fail().trickle(c.handle, candidate)

    async def close(self, conn: str) -> None:
        """Close a connection; a publisher's recordings are converted and reported."""
        await self._drop(conn)

    async def status(self) -> dict[str, Any]:
        """Every publisher's tracks and every connection's direction.

        Janus's HTTP API gives no packet counters (only its admin API and event handlers do,
        both off), so ``packets``, ``bytes``, ``keyframes`` and ``lost`` are read from the
        ``.mjr`` each track is recorded to (:mod:`signaling.janus.tail`; it lags by Janus's
        write buffer, and the ``final`` status after a close is exact). ``last_ms`` is also
        "now" while Janus's ``media`` events say the track is being received: they say so
        again within a second of media stopping, sooner than the buffered file shows it.
        """
        publishers = [c for c in self._conns.values() if c.direction == "pub"]
        await asyncio.to_thread(poll_tails, self._recordings, publishers)
        now = wall_ms()
        conns = {c.id: c.direction for c in self._conns.values()}
        return {"tracks": live_tracks(publishers, now), "conns": conns, "at_ms": now}

    async def stop(self) -> None:
        """Close every connection (converting recordings), destroy the rooms and the session."""
        async with self._lock:
            client, self._client = self._client, None
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
            self._ticker = None
        if client is None:
            return
        for conn in list(self._conns):
            await self._drop(conn, client)
        for session, secret in list(self._rooms.items()):
            with contextlib.suppress(JanusError, OSError, TimeoutError):
                await self._destroy_room(client, session, secret)
        await client.close()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def restart(self) -> None:
        """After Janus or its session was lost: forget every connection, convert what the
        recordings of the lost connections left, and start a new session."""
        async with self._lock:
            client, self._client = self._client, None
        if client is not None:
            await client.close()
        self._conns.clear()
        self._by_handle.clear()
        self._feeds.clear()
        self._rooms.clear()
        await self._ensure()

    # -- inside ------------------------------------------------------------------------------

    async def _ensure(self) -> JanusClient:
        async with self._lock:
            if self._client is None:
                # Converted off the loop, reported on it: ``on_event`` schedules loop work.
                for event in await asyncio.to_thread(convert_leftovers, self._recordings):
                    self._on_event(event)
                client = JanusClient(self._url, self._janus_event, self._lost, self._secret)
                await client.start()
                self._client = client
                self.generation += 1
                if self._ticker is None:
                    self._ticker = asyncio.create_task(self._status_loop(), name="janus-status")
            return self._client

    def _client_or_fail(self) -> JanusClient:
        if self._client is None:
            raise JanusError(0, "janus backend is not running")
        return self._client

    def _register(self, c: Conn) -> None:
        self._conns[c.id] = c
        self._by_handle[c.handle] = c

    async def _room(self, client: JanusClient, session: str) -> None:
        if session in self._rooms:
            return
        rec_dir = self._recordings / session / JANUS_DIR
        rec_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(18)
        handle = await client.attach(vr.PLUGIN)
        try:
            await client.message(handle, vr.create_room(session, secret, str(rec_dir)))
        except JanusError as exc:
            if exc.code != vr.ERROR_ROOM_EXISTS:
                raise
            logger.warning("janus room %s already existed; its secret is not ours", session)
        finally:
            await client.detach(handle)
        self._rooms[session] = secret

    async def _destroy_room(self, client: JanusClient, session: str, secret: str) -> None:
        self._rooms.pop(session, None)
        handle = await client.attach(vr.PLUGIN)
        try:
            await client.message(handle, vr.destroy_room(session, secret))
        except JanusError as exc:
            if exc.code != vr.ERROR_NO_SUCH_ROOM:
                logger.warning("destroying janus room %s: %s", session, exc)
        finally:
            await client.detach(handle)

    async def _drop(self, conn_id: str, client: JanusClient | None = None) -> None:
        c = self._conns.pop(conn_id, None)
        if c is None:
            return
        self._by_handle.pop(c.handle, None)
        client = client or self._client
        if c.direction == "pub" and self._feeds.get((c.session, c.seat)) is c:
            del self._feeds[(c.session, c.seat)]
        if client is not None:
            with contextlib.suppress(JanusError, OSError, TimeoutError):
                if c.direction == "pub":
                    await client.message(c.handle, vr.UNPUBLISH)
            with contextlib.suppress(JanusError, OSError, TimeoutError):
                await client.detach(c.handle)
        if c.direction == "pub" and c.base is not None:
            await finish_recordings(self._recordings, c, self._on_event)
        self._on_event({"event": "closed", "conn": conn_id})
        if client is not None and not any(x.session == c.session for x in self._conns.values()):
            secret = self._rooms.get(c.session)
            if secret is not None:
                with contextlib.suppress(JanusError, OSError, TimeoutError):
                    await self._destroy_room(client, c.session, secret)

    def _janus_event(self, handle: int, event: dict[str, Any]) -> None:
        c = self._by_handle.get(handle)
        if c is None:
            return
        state = vr.connection_state(event)
        kind = event.get("janus")
        if state is not None:
            self._on_event({"event": "state", "conn": c.id, "state": state})
            if state == "connected":
                c.up.set()
                if c.direction == "pub":
                    ready = {"session": c.session, "seat": c.seat, "kinds": c.kinds}
                    self._on_event({"event": "published", **ready})
            if kind == "hangup" and self._conns.get(c.id) is c:
                self._spawn(self._drop(c.id))
        elif kind == "media":
            media = vr.media_kind(event)
            if media is not None:
                c.receiving[media] = bool(event.get("receiving"))
                c.last_ms[media] = wall_ms()
        elif kind == "slowlink":
            media = vr.media_kind(event)
            if media is not None and event.get("uplink", True):
                c.lost[media] = c.lost.get(media, 0) + int(event.get("lost", 0))

    def _lost(self, why: str) -> None:
        logger.error("janus lost: %s", why)
        self._on_event({"event": "worker_lost", "generation": self.generation})

    def _spawn(self, job: Any) -> None:
        task = asyncio.ensure_future(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _status_loop(self) -> None:
        while True:
            await asyncio.sleep(STATUS_EVERY_S)
            status = await self.status()
            if status["tracks"]:
                self._on_event(
                    {"event": "status", "tracks": status["tracks"], "at_ms": status["at_ms"]}
                )
