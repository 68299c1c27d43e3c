"""The ``evalroom`` command: serve, demo, session create, simulate, token, archive, verify."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import ssl
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, web

from server.app import heap_policy, log_limits
from server.app.acceptor import listening_sockets, start_site
from server.app.config import Config
from server.app.gc_policy import GcPolicy
from server.app.listen import ListenRefused, check_listen, ssl_context
from server.app.main import make_app
from server.app.serving import raise_fd_limit
from server.app.tls_init import trust_instructions, write_tls
from server.app.verify_cli import add_verify_parser

DEMO_LOT = Path(__file__).with_name("demo-lot.json")
ACCEPT_BACKLOG = 4096
MAX_TOKEN_DAYS = 3650


def print_credentials(config: Config, created: dict[str, Any], out: Any = sys.stdout) -> None:
    """Seat URLs with their one-time codes, and a URL per other role (zh-CN first)."""
    base = config.public_url
    session = created["session"]
    print(f"评标会话 Session {session}", file=out)
    print("专家席位 Expert seats (URL, 一次性登记码 one-time enrolment code):", file=out)
    for seat in created["seats"]:
        print(f"  {seat:10} {base}/seat/{session}/{seat}   {created['codes'][seat]}", file=out)
    for n, token in enumerate(created["supervisor"], start=1):
        print(f"监督 Supervisor {n}: {base}/supervisor/{session}#token={token}", file=out)
    print(f"审计 Auditor:      {base}/auditor/{session}#token={created['auditor']}", file=out)
    print(f"大屏 Public:       {base}/public/{session}#token={created['public']}", file=out)
    for venue, token in created.get("venues", {}).items():  # each venue's share of the draw
        print(f"专家抽取 Draw ({venue}): {base}/draw/{session}#token={token}", file=out)


def write_demo_draw(data_dir: Path) -> tuple[Path, Path]:
    """An invented expert pool and the sample lot's draw rules in the data dir, for the home
    page's expert draw in the demo (no real person in it)."""
    from server.client.expert_pool import sample_pool, sample_rules

    pool, rules = data_dir / "demo-expert-pool.json", data_dir / "demo-draw-rules.json"
    pool.write_text(json.dumps(sample_pool(2000), ensure_ascii=False, indent=1), "utf-8")
    rules.write_text(json.dumps(sample_rules(), ensure_ascii=False, indent=1), "utf-8")
    return pool, rules


def save_credentials(config: Config, created: dict[str, Any]) -> Path:
    """Keep a session's codes and tokens in the data dir (0600) for ``simulate --session``."""
    folder = config.data_dir / "sessions"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{created['session']}.credentials.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(created, handle, ensure_ascii=False, indent=1)
    return path


def _self_ssl(config: Config) -> ssl.SSLContext | bool:
    """How the CLI reaches its own node: over TLS it trusts the node's own chain file."""
    if config.tls_cert is None:
        return True
    context = ssl.create_default_context(cafile=str(config.tls_cert))
    context.check_hostname = config.host not in ("0.0.0.0", "::")  # noqa: S104 - a comparison
    return context


async def _create_via_http(config: Config, lot: Any) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {config.admin_token.reveal()}"}
    url = f"{config.public_url}/api/sessions"
    async with (
        ClientSession() as http,
        http.post(url, json=lot, headers=headers, ssl=_self_ssl(config)) as response,
    ):
        answer: dict[str, Any] = await response.json()
    if not answer.get("ok"):
        raise SystemExit(f"session create failed: {answer.get('error')}")
    return answer


async def _serve(config: Config, seed_lot: dict[str, Any] | None) -> None:
    warning = check_listen(config)
    if warning is not None:
        logging.getLogger("evalroom").warning(warning)
    raise_fd_limit()
    heap_policy.install()  # large blocks mapped apart, not fragmenting the heap (heap_policy.py)
    runner = web.AppRunner(make_app(config), **config.limits.handler_args())
    await runner.setup()
    # A deep accept queue: under a connection flood a short one drops SYNs, and a seat's new
    # connection then waits for its SYN to be sent again (1 s, 3 s, …). The site takes from it
    # a batch at a time (gate_process.py, or acceptor.py), so its depth costs nothing.
    sockets = listening_sockets(config.host, config.port, ACCEPT_BACKLOG)
    await start_site(runner, config.limits, sockets, ssl_context(config), gate=config.head_gate)
    print(f"evalroom serving on {config.public_url} (data: {config.data_dir})", flush=True)
    # full collections on the policy's clock, as they pause the loop; each hands freed heap pages
    policy = GcPolicy(after_full=heap_policy.trim)  # back (gc_policy.py, heap_policy.py)
    policy.install()
    collector = asyncio.create_task(policy.run(), name="gc-policy")
    if seed_lot is not None:
        created = await _create_via_http(config, seed_lot)
        save_credentials(config, created)
        print_credentials(config, created)
        pool, rules = write_demo_draw(config.data_dir)
        print(f"演示专家库 Demo expert pool: {pool}  抽取规则 rules: {rules}", flush=True)
        sys.stdout.flush()
    try:
        await asyncio.Event().wait()
    finally:
        collector.cancel()
        await runner.cleanup()


async def _simulate(
    config: Config, lot: dict[str, Any], created: dict[str, Any] | None, pace: float = 0.0
) -> dict[str, Any]:
    from server.client.simulate import run_session

    if created is None:
        created = await _create_via_http(config, lot)
        save_credentials(config, created)
        if pace > 0:  # a watched rehearsal: the links to open first
            print_credentials(config, created)
    return await run_session(
        config.public_url,
        created,
        lot,
        progress=lambda line: print(line, flush=True),
        pace=pace,
    )


def _pace(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 3600:  # also refuses nan
        raise argparse.ArgumentTypeError(f"--pace takes 0..3600 seconds, not {text}")
    return value


def _days(text: str) -> int:
    value = int(text)
    if not 1 <= value <= MAX_TOKEN_DAYS:
        raise argparse.ArgumentTypeError(f"--days takes 1..{MAX_TOKEN_DAYS}, not {text}")
    return value


async def auditor_link(config: Config, session: str, days: int) -> tuple[str, int]:
    """A new auditor link for a stored session (closed or not) and its expiry (unix seconds).

    Minted offline with the node's token key, in the generation the log holds for the auditor
    (a revocation is honoured), like the token ``POST /api/sessions`` hands out; any node that
    shares the key accepts it. ``LookupError`` when the database has no such session.
    """
    from server.app.tokens import TokenMinter
    from server.domain.access import token_generation
    from server.domain.roles import Principal, Role
    from server.store.engine import migrate, open_engine
    from server.store.log import load_state_txn

    engine = open_engine(config.database_url)
    try:
        await migrate(engine)
        async with engine.connect() as conn:
            state = await load_state_txn(conn, session)
    finally:
        await engine.dispose()
    if state is None:
        raise LookupError(
            f"会话不存在 no session {session!r} in the database (data: {config.data_dir})"
        )
    principal = Principal(Role.AUDITOR, session, "auditor")
    generation = token_generation(state, str(Role.AUDITOR), principal.subject)
    now = int(time.time())
    token = TokenMinter(config.token_key).issue(principal, now, days * 86400, generation)
    return f"{config.public_url}/auditor/{session}#token={token}", now + days * 86400


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(prog="evalroom", description="远程异地评标 evaluation server")
    parser.add_argument("--data-dir", help="data directory (EVALROOM_DATA_DIR)")
    parser.add_argument("--host", help="listen address (EVALROOM_HOST)")
    parser.add_argument("--port", help="listen port (EVALROOM_PORT)")
    parser.add_argument("--tls-cert", help="certificate chain PEM: serve HTTPS (EVALROOM_TLS_CERT)")
    parser.add_argument("--tls-key", help="its private key PEM (EVALROOM_TLS_KEY)")
    parser.add_argument(
        "--allowed-origins",
        help="comma-separated browser origins allowed to connect and POST "
        "(EVALROOM_ALLOWED_ORIGINS; default: the server's own)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the server")
    commands.add_parser("demo", help="run the server with the sample lot seeded")
    session = commands.add_parser("session", help="manage sessions").add_subparsers(
        dest="action", required=True
    )
    create = session.add_parser("create", help="create a session from a lot (server running)")
    create.add_argument("lot", type=Path)
    simulate = commands.add_parser("simulate", help="drive a whole session with headless seats")
    simulate.add_argument("--session", help="a session created earlier (credentials in data dir)")
    simulate.add_argument("--lot", default=str(DEMO_LOT), help="lot JSON (default: sample lot)")
    simulate.add_argument(
        "--pace",
        type=_pace,
        default=0.0,
        metavar="SECONDS",
        help="pause after every step, to watch a rehearsal in the browsers (default 0)",
    )
    token = commands.add_parser("token", help="issue a token (server need not run)")
    kinds = token.add_subparsers(dest="action", required=True)
    auditor = kinds.add_parser(
        "auditor",
        help="a new auditor link for a session, closed or not "
        "(same data dir, database and EVALROOM_TOKEN_KEY as the server)",
    )
    auditor.add_argument("session")
    auditor.add_argument(
        "--days", type=_days, default=7, help=f"valid for N days, 1..{MAX_TOKEN_DAYS} (default 7)"
    )
    archive = commands.add_parser("archive", help="export a session archive (电子档案) zip")
    archive.add_argument("session")
    archive.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.zip")
    tls = commands.add_parser("tls", help="TLS for a venue").add_subparsers(
        dest="action", required=True
    )
    init = tls.add_parser("init", help="make a venue CA and a server certificate (LAN)")
    init.add_argument("--name", required=True, help="the server's host name seats will open")
    init.add_argument("--ip", action="append", default=[], help="an address of the server")
    init.add_argument("--out", type=Path, help="folder (default: DATA/tls)")
    add_verify_parser(commands)
    return parser


async def _archive(config: Config, session: str, out: Path) -> None:
    from server.app.archive_export import export_archive
    from server.app.main import wall_ms
    from server.app.notary import Notary, load_or_create_key
    from server.store.engine import migrate, open_engine

    engine = open_engine(config.database_url)
    try:
        await migrate(engine)
        notary = Notary(config.node_name, load_or_create_key(config.data_dir / "node.key"))

        def progress(done: int, total: int) -> None:
            print(f"\rarchiving {done:,}/{total:,} events", end="", file=sys.stderr, flush=True)

        info = await export_archive(
            engine,
            notary,
            list(config.witness_keys),
            config.data_dir,
            session,
            out,
            wall_ms(),
            progress,
        )
    finally:
        await engine.dispose()
    print(file=sys.stderr)
    print(f"archived {info.events} events, {len(info.checkpoints)} checkpoints to {out}")


def _tls_init(config: Config, name: str, ips: list[str], out: Path) -> None:
    try:
        files = write_tls(out, name, ips, dt.datetime.now(dt.UTC))
    except ValueError as error:
        raise SystemExit(f"evalroom tls init: {error}") from error
    print(trust_instructions(files, f"https://{name}:{config.port}/"))


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``evalroom`` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "verify":  # offline: no configuration, no data directory
        sys.exit(args.func(args))
    overrides = {
        key: str(value)
        for key, value in {
            "EVALROOM_DATA_DIR": args.data_dir,
            "EVALROOM_HOST": args.host,
            "EVALROOM_PORT": args.port,
            "EVALROOM_TLS_CERT": args.tls_cert,
            "EVALROOM_TLS_KEY": args.tls_key,
            "EVALROOM_ALLOWED_ORIGINS": args.allowed_origins,
        }.items()
        if value is not None
    }
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        config = Config.from_env(None, **overrides)
    except ValueError as error:
        raise SystemExit(f"evalroom: {error}") from error
    log_limits.install(config.limits.log_lines_per_min)
    if args.command == "tls":
        _tls_init(config, args.name, args.ip, args.out or config.data_dir / "tls")
    elif args.command in ("serve", "demo"):
        seed = json.loads(DEMO_LOT.read_text("utf-8")) if args.command == "demo" else None
        try:
            with contextlib.suppress(KeyboardInterrupt):
                asyncio.run(_serve(config, seed))
        except ListenRefused as error:
            raise SystemExit(f"evalroom: {error}") from error
    elif args.command == "session":
        created = asyncio.run(_create_via_http(config, json.loads(args.lot.read_text("utf-8"))))
        path = save_credentials(config, created)
        print_credentials(config, created)
        print(f"credentials saved to {path}")
    elif args.command == "simulate":
        lot = json.loads(Path(args.lot).read_text("utf-8"))
        created = None
        if args.session:
            path = config.data_dir / "sessions" / f"{args.session}.credentials.json"
            created = json.loads(path.read_text("utf-8"))
        summary = asyncio.run(_simulate(config, lot, created, args.pace))
        print(json.dumps(summary))
    elif args.command == "token":
        try:
            link, expires = asyncio.run(auditor_link(config, args.session, args.days))
        except LookupError as error:
            raise SystemExit(f"evalroom token auditor: {error}") from error
        until = dt.datetime.fromtimestamp(expires, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        print(f"审计 Auditor: {link}")
        print(f"有效期至 valid until {until} ({args.days} 天 days)")
    elif args.command == "archive":
        try:
            asyncio.run(_archive(config, args.session, args.output))
        except LookupError as error:
            raise SystemExit(f"evalroom archive: {error}") from error


if __name__ == "__main__":
    main()
