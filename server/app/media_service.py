"""Live media on this node: the media rooms, their backend, and the narrow path into the log.

It owns the embedded worker's lifecycle, turns the worker's events into room updates, live
status for supervisors and log events, and on start (and after a worker crash) closes the
recordings a crash cut and logs every manifest not yet in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import socketio

from recordings.manifest import manifest_from_json
from recordings.recovery import mark_logged, recover, settled, unlogged
from server.app.committer import Committer
from server.app.config import Config
from server.domain.errors import Code, CommandError
from server.domain.media import MediaRecord
from server.domain.roles import Principal, Role
from server.domain.state import Phase
from signaling.embedded.backend import EmbeddedBackend
from signaling.janus.backend import JanusBackend
from signaling.janus.process import JanusProcess
from signaling.namespace import NAMESPACE, Admission, MediaNamespace
from signaling.policy import MediaPolicy
from signaling.room import Rooms

logger = logging.getLogger(__name__)

TICK_S = 0.5


class CommitterMediaLog:
    """:class:`signaling.room.MediaLog` through the committer, as the node's media service."""

    def __init__(self, committer: Committer, now_ms: Callable[[], int]) -> None:
        self._committer = committer
        self._now_ms = now_ms
        self._n = 0

    async def record(self, session: str, event_type: str, data: dict[str, Any]) -> bool:
        """Append the fact; False when the log could not take it now (worth trying again)."""
        if event_type == "recording.closed":  # a resend after a crash gets the first ack
            command_id = f"rec.{data['sha256'][:40]}"
        else:
            self._n += 1
            command_id = f"{event_type}.{self._now_ms()}.{self._n}"
        principal = Principal(Role.MEDIA, session, "node")
        try:
            await self._committer.submit(principal, command_id, MediaRecord(event_type, data))
        except CommandError as error:
            logger.warning("media %s for %s not logged: %s", event_type, session, error)
            # A fact the log refuses stays refused; a failed transaction may pass next time.
            return error.code is not Code.INTERNAL
        return True


class MediaService:
    """The media rooms of this node and what keeps them going."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        committer: Committer,
        grants: Admission,
        config: Config,
        now_ms: Callable[[], int],
    ) -> None:
        self._sio = sio
        self._committer = committer
        self._recordings = config.data_dir / "recordings"
        self._now_ms = now_ms
        self._dark_ms = config.media_dark_ms
        self.log = CommitterMediaLog(committer, now_ms)
        self.janus: JanusProcess | None = None
        self.backend: EmbeddedBackend | JanusBackend
        if config.media_backend == "janus":
            url = config.janus_url
            if url is None:  # the node runs its own Janus, on loopback only
                self.janus = JanusProcess(config.janus_port, config.media_addresses)
                url = self.janus.url
            secret = self.janus.api_secret if self.janus is not None else None
            self.backend = JanusBackend(self._recordings, self._on_worker_event, url, secret)
        else:
            self.backend = EmbeddedBackend(
                self._recordings, self._on_worker_event, config.media_addresses
            )
        self.rooms = Rooms(self.backend, self._send, self.log, self._policy)
        self.namespace = MediaNamespace(self.rooms, grants, config.ice, now_ms)
        sio.register_namespace(self.namespace)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ticker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Log what an earlier run left unlogged; start Janus if this node runs its own."""
        await self.catch_up_recordings()
        if self.janus is not None:
            await self.janus.start()
        self._ticker = asyncio.create_task(self._tick(), name="media-tick")

    async def stop(self) -> None:
        """Stop the worker (it closes its recordings) and log their manifests."""
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
        await self.backend.stop()
        if self.janus is not None:
            await self.janus.stop()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.catch_up_recordings()

    async def _policy(self, session: str) -> MediaPolicy:
        state = await self._committer.current_state(session)
        if state is None:
            return MediaPolicy(open=False)
        policy = MediaPolicy.from_lot(state.lot.raw)
        ended = state.phase is Phase.CLOSED or state.sealed is not None
        return replace(policy, open=False) if ended else policy

    async def end_session(self, session: str, timeout_s: float) -> bool:
        """End the session's media room; True once every recording of it is in the log.

        Members are told (``ended``) and leave, so their connections and recordings close; the
        manifests reach the log as the backend reports them. What the wait sees is the session's
        recordings directory: no file still being written, no manifest not yet logged.
        """
        await self.rooms.end(session, "session_closed")
        directory = self._recordings / session
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not await asyncio.to_thread(settled, directory):
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def _send(self, sid: str, event: str, data: dict[str, Any]) -> None:
        await self._sio.emit(event, data, to=sid, namespace=NAMESPACE)

    async def catch_up_recordings(self) -> None:
        """Close recordings a crash cut, and log every manifest the log does not hold yet."""
        if not self._recordings.is_dir():
            return
        for directory in sorted(p for p in self._recordings.iterdir() if p.is_dir()):
            await asyncio.to_thread(recover, directory, self._now_ms())
            for manifest in await asyncio.to_thread(unlogged, directory):
                await self._log_recording(directory, manifest.to_json())

    async def _log_recording(self, directory: Path, manifest: dict[str, Any]) -> None:
        data = {k: v for k, v in manifest.items() if k != "session"}
        if not await self.log.record(directory.name, "recording.closed", data):
            return  # not marked: the next catch-up (start, crash, stop) logs it again
        with contextlib.suppress(FileExistsError):
            mark_logged(directory, manifest_from_json(manifest))

    def _spawn(self, job: Any) -> None:
        task = asyncio.ensure_future(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_worker_event(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "state":
            self.rooms.observe_state(str(event["conn"]), str(event["state"]), self._now_ms())
        elif kind == "recording":
            session = str(event["session"])
            self._spawn(self._log_recording(self._recordings / session, event["manifest"]))
        elif kind == "status":
            self._spawn(self._status(event))
        elif kind == "published":  # Janus: the seat's connection is up, subscribe to it now
            seat_up = self.rooms.seat_up(str(event["session"]), str(event["seat"]), event["kinds"])
            self._spawn(seat_up)
        elif kind == "worker_lost":
            self._spawn(self._worker_lost())

    async def _status(self, event: dict[str, Any]) -> None:
        by_session: dict[str, list[dict[str, Any]]] = {}
        for track in event.get("tracks", []):
            self.rooms.saw_media(track["session"], track["seat"], track["kind"], track["last_ms"])
            by_session.setdefault(track["session"], []).append(track)
        for session, tracks in by_session.items():
            for sid in self.rooms.supervisors(session):
                status = {"at_ms": event.get("at_ms"), "tracks": tracks}
                if "loop" in event:  # how late the media backend's loop runs (embedded)
                    status["loop"] = event["loop"]
                await self._send(sid, "status", status)

    async def _worker_lost(self) -> None:
        logger.error("media worker died; recordings it held are closed as cut, restarting it")
        await self.catch_up_recordings()
        if self.janus is not None and not self.janus.alive:  # our own Janus died: a new one
            await self.janus.stop()
            await self.janus.start()
        await self.backend.restart()
        await self.rooms.backend_lost()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            try:
                await self.rooms.tick(self._now_ms(), self._dark_ms)
            except Exception:  # the tick must outlive one bad record
                logger.exception("media tick failed")
