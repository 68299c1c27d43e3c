"""Janus as a child process: a generated configuration folder, start, wait until it answers, stop.

Debian's ``janus`` package is installed with its service stopped; the node runs it itself with
``janus -F CONFDIR -o -N -L LOGFILE``. The configuration is written into a private temporary
folder each start, so nothing of ``/etc/janus`` applies: only the HTTP transport (on 127.0.0.1,
admin API off, an API secret) and only the VideoRoom plugin are loaded.

Janus writes its ``.mjr`` recordings through stdio (``fopen``/``fwrite``, never ``fflush``), so a
SIGKILL of Janus loses what sits in each file's buffer: 4 KiB (the file system's block size), which
at a low bitrate is seconds of video and of Opus. Where a C compiler is installed, Janus is started
with a tiny ``LD_PRELOAD`` library (:data:`UNBUFFERED_C`) that makes every ``.mjr`` stream
unbuffered: each packet reaches the kernel when Janus writes it and survives the process.

libnice gathers ICE candidates on every interface but loopback ones. ``interfaces`` (Janus's
``ice_enforce_list``) names the interfaces or addresses it may use; on a test machine that is a
veth inside a private network namespace that carries 127.0.0.2 (see ``tests/janus``).
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import logging
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

logger = logging.getLogger(__name__)

START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0
VIDEOROOM = "libjanus_videoroom.so"
HTTP_TRANSPORT = "libjanus_http.so"
# Janus refuses a rec_dir under these. /var is left out on purpose: the node's data directory
# may well be /var/lib/evalroom.
PROTECTED = ("/bin", "/boot", "/dev", "/etc", "/lib", "/proc", "/sbin", "/sys", "/usr")


# An fopen() that leaves .mjr files unbuffered (see the module docstring); only Janus loads it.
UNBUFFERED_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

typedef FILE *(*opener)(const char *, const char *);

static FILE *unbuffered(FILE *file, const char *path) {
    if (file != NULL && path != NULL && strstr(path, ".mjr") != NULL)
        setvbuf(file, NULL, _IONBF, 0);
    return file;
}

FILE *fopen(const char *path, const char *mode) {
    opener next = (opener)dlsym(RTLD_NEXT, "fopen");
    return unbuffered(next(path, mode), path);
}

FILE *fopen64(const char *path, const char *mode) {
    opener next = (opener)dlsym(RTLD_NEXT, "fopen64");
    return unbuffered(next(path, mode), path);
}
"""
BUILD_TIMEOUT_S = 30.0


class JanusNotInstalled(RuntimeError):
    """The ``janus`` binary or its plugin folders are not there (scripts/install-media.sh)."""


class JanusStartError(RuntimeError):
    """Janus exited or did not answer ``/janus/info`` in time."""


@dataclass(frozen=True, slots=True)
class Folders:
    """Where Debian's package put the plugins and transports."""

    plugins: Path
    transports: Path


def find_folders() -> Folders:
    """The plugin and transport folders of the installed ``janus`` package.

    Asks ``dpkg -L janus`` (the multiarch path differs per architecture); a system without dpkg
    falls back to the usual multiarch locations.
    """
    paths: list[str] = []
    dpkg = shutil.which("dpkg")
    if dpkg is not None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            listing = subprocess.run(  # noqa: S603 (fixed arguments, no shell)
                [dpkg, "-L", "janus"], capture_output=True, text=True, timeout=10, check=False
            )
            paths = listing.stdout.splitlines()
    paths += glob.glob("/usr/lib/*/janus/*") + glob.glob("/usr/lib/janus/*")
    plugins = next((p for p in paths if p.endswith("/janus/plugins")), None)
    transports = next((p for p in paths if p.endswith("/janus/transports")), None)
    if plugins is None or transports is None or shutil.which("janus") is None:
        raise JanusNotInstalled("janus is not installed (run scripts/install-media.sh)")
    return Folders(Path(plugins), Path(transports))


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _others(folder: Path, keep: str) -> str:
    """Every library of ``folder`` but ``keep``, as Janus's comma-separated ``disable`` value."""
    return ",".join(sorted(p.name for p in folder.glob("*.so") if p.name != keep))


def janus_jcfg(
    confdir: Path,
    folders: Folders,
    empty: Path,
    *,
    api_secret: str,
    interfaces: Sequence[str],
    rtp_ports: tuple[int, int],
    debug_level: int = 4,
) -> str:
    """The text of ``janus.jcfg``: only VideoRoom and HTTP load, no event handlers or loggers."""
    protected = ", ".join(_quote(p) for p in PROTECTED)
    nat = '\tnice_debug = false\n\tice_ignore_list = "vmnet"\n'
    if interfaces:
        nat += f"\tice_enforce_list = {_quote(','.join(interfaces))}\n"
    return (
        "general: {\n"
        f"\tconfigs_folder = {_quote(str(confdir))}\n"
        f"\tplugins_folder = {_quote(str(folders.plugins))}\n"
        f"\ttransports_folder = {_quote(str(folders.transports))}\n"
        f"\tevents_folder = {_quote(str(empty))}\n"
        f"\tloggers_folder = {_quote(str(empty))}\n"
        f"\tdebug_level = {debug_level}\n"
        f"\tapi_secret = {_quote(api_secret)}\n"
        "\tsession_timeout = 60\n"
        '\trecordings_tmp_ext = "part"\n'  # .mjr.part until closed: see recording.py
        '\tserver_name = "evalroom"\n'
        f"\tprotected_folders = [{protected}]\n"
        "}\n"
        "certificates: {\n}\n"
        f'media: {{\n\trtp_port_range = "{rtp_ports[0]}-{rtp_ports[1]}"\n}}\n'
        f"nat: {{\n{nat}}}\n"
        f"plugins: {{\n\tdisable = {_quote(_others(folders.plugins, VIDEOROOM))}\n}}\n"
        f"transports: {{\n\tdisable = {_quote(_others(folders.transports, HTTP_TRANSPORT))}\n}}\n"
        "loggers: {\n}\n"
        "events: {\n\tbroadcast = false\n}\n"
    )


def http_jcfg(host: str, port: int) -> str:
    """The HTTP transport: plain HTTP on ``host:port`` only, no HTTPS, no admin API."""
    return (
        "general: {\n"
        '\tjson = "compact"\n'
        '\tbase_path = "/janus"\n'
        "\thttp = true\n"
        f"\tport = {port}\n"
        f"\tip = {_quote(host)}\n"
        "\thttps = false\n"
        "}\n"
        "admin: {\n\tadmin_http = false\n\tadmin_https = false\n}\n"
        "cors: {\n}\n"
        "certificates: {\n}\n"
    )


def videoroom_jcfg() -> str:
    """VideoRoom with string room and publisher ids (a room is named after its session)."""
    return "general: {\n\tstring_ids = true\n\tlock_rtp_forward = true\n}\n"


def build_unbuffered(folder: Path) -> Path | None:
    """Compile :data:`UNBUFFERED_C` into ``folder``; None (logged) without a C compiler."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        logger.warning("no C compiler: a crash of Janus may cut up to 4 KiB of each recording")
        return None
    source, library = folder / "unbuffered.c", folder / "unbuffered.so"
    source.write_text(UNBUFFERED_C, "utf-8")
    args = [compiler, "-shared", "-fPIC", "-O2", "-o", str(library), str(source), "-ldl"]
    try:
        subprocess.run(  # noqa: S603 (fixed arguments, no shell)
            args, capture_output=True, timeout=BUILD_TIMEOUT_S, check=True
        )
    except (OSError, subprocess.SubprocessError) as exc:
        logger.warning("building %s failed, recordings stay buffered: %s", library, exc)
        return None
    return library


def preload_env(library: Path | None) -> dict[str, str] | None:
    """Janus's environment: this process's, with ``library`` preloaded (None: unchanged)."""
    if library is None:
        return None
    env = dict(os.environ)
    env["LD_PRELOAD"] = ":".join(p for p in (str(library), env.get("LD_PRELOAD")) if p)
    return env


@dataclass
class JanusProcess:
    """One ``janus`` child process listening on ``http://host:port/janus``."""

    port: int
    interfaces: Sequence[str] = ()
    host: str = "127.0.0.1"
    rtp_ports: tuple[int, int] = (20000, 40000)
    api_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    debug_level: int = 4
    workdir: Path | None = None
    unbuffered: bool = True  # preload UNBUFFERED_C when a compiler is there
    recordings_unbuffered: bool = field(default=False, init=False)  # as last started
    _proc: asyncio.subprocess.Process | None = field(default=None, repr=False)
    _tmp: Path | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/janus"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def alive(self) -> bool:
        """Whether the Janus this object started is still running."""
        return self._proc is not None and self._proc.returncode is None

    @property
    def log_file(self) -> Path:
        return self._folder() / "janus.log"

    def _folder(self) -> Path:
        if self._tmp is None:
            self._tmp = self.workdir or Path(tempfile.mkdtemp(prefix="evalroom-janus-"))
        return self._tmp

    def write_config(self) -> Path:
        """Generate the configuration folder; return it."""
        folders = find_folders()
        confdir = self._folder() / "conf"
        empty = self._folder() / "none"
        confdir.mkdir(mode=0o700, exist_ok=True)
        empty.mkdir(mode=0o700, exist_ok=True)
        files = {
            "janus.jcfg": janus_jcfg(
                confdir,
                folders,
                empty,
                api_secret=self.api_secret,
                interfaces=self.interfaces,
                rtp_ports=self.rtp_ports,
                debug_level=self.debug_level,
            ),
            "janus.transport.http.jcfg": http_jcfg(self.host, self.port),
            "janus.plugin.videoroom.jcfg": videoroom_jcfg(),
        }
        for name, text in files.items():
            path = confdir / name
            path.write_text(text, "utf-8")
            path.chmod(0o600)  # holds the API secret
        return confdir

    async def start(self) -> None:
        """Start Janus and wait until ``GET /janus/info`` answers."""
        confdir = self.write_config()
        janus = shutil.which("janus")
        if janus is None:
            raise JanusNotInstalled("janus is not installed (run scripts/install-media.sh)")
        args = [janus, "-F", str(confdir), "-C", str(confdir / "janus.jcfg")]
        args += ["-o", "-N", "-L", str(self.log_file)]
        library = None
        if self.unbuffered:
            library = await asyncio.to_thread(build_unbuffered, self._folder())
        self.recordings_unbuffered = library is not None
        self._proc = await asyncio.create_subprocess_exec(
            *args,
            env=preload_env(library),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,  # a ^C to the node is the node's to forward, not Janus's
        )
        try:
            await self._wait_ready()
        except BaseException:
            await self.stop()
            raise
        logger.info("janus %d answers on %s", self._proc.pid, self.url)

    async def _wait_ready(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT_S
        timeout = aiohttp.ClientTimeout(total=1)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while loop.time() < deadline:
                if self._proc is None or self._proc.returncode is not None:
                    raise JanusStartError(f"janus exited at start:\n{self.log_tail()}")
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with http.get(f"{self.url}/info") as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.1)
        raise JanusStartError(f"janus did not answer in {START_TIMEOUT_S} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        """The end of Janus's log (for error messages)."""
        try:
            return "\n".join(self.log_file.read_text("utf-8", "replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    async def stop(self) -> None:
        """SIGTERM by PID, SIGKILL after :data:`STOP_TIMEOUT_S`; the temp folder goes."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                logger.warning("janus %d ignored SIGTERM; killing it", proc.pid)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
                await proc.wait()
        if self._tmp is not None and self.workdir is None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


def cpu_ticks(pid: int) -> int:
    """User + system CPU time of ``pid`` in clock ticks, from ``/proc/<pid>/stat``."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
