"""A real Janus VideoRoom driven through JanusBackend by real aiortc peers, in a private network
namespace: a seat publishes, a supervisor decodes it, the close converts the recordings."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from recordings.files import sha256_file
from recordings.manifest import manifest_from_json
from recordings.recovery import recover, unlogged
from tests.janus.conftest import run_scenario

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(200),
    pytest.mark.usefixtures("janus_installed"),
]

SESSION, SEAT = "S1", "seat1"
PUB, SUB = f"p.{SESSION}.{SEAT}", f"s.sup.{SEAT}"


def test_publish_subscribe_record(tmp_path: Path) -> None:
    recordings = tmp_path / "recordings"
    result = run_scenario(tmp_path, "record", "--recordings", str(recordings), "--seconds", "3")

    assert result["published"] == ["audio", "video"]
    assert result["subscribed"] == ["audio", "video"]
    assert result["received"]["video"] >= 45
    assert result["received"]["audio"] > 0
    assert result["received"]["size"] == [320, 240]

    events = result["events"]
    states = [(e["conn"], e["state"]) for e in events if e["event"] == "state"]
    assert (PUB, "connected") in states
    assert (SUB, "connected") in states
    assert {e["conn"] for e in events if e["event"] == "closed"} == {PUB, SUB}
    published = [e for e in events if e["event"] == "published"]
    assert published == [
        {"event": "published", "session": SESSION, "seat": SEAT, "kinds": ["audio", "video"]}
    ]

    manifests = {
        e["manifest"]["track"]: manifest_from_json(e["manifest"])
        for e in events
        if e["event"] == "recording"
    }
    assert set(manifests) == {"audio", "video"}
    session_dir = recordings / SESSION
    for track, manifest in manifests.items():
        path = session_dir / manifest.file
        assert (manifest.session, manifest.seat, manifest.cut) == (SESSION, SEAT, False)
        assert path.suffix == (".webm" if track == "video" else ".opus")
        assert sha256_file(path) == (manifest.sha256, manifest.size)
        assert path.stat().st_mode & 0o777 == 0o400
        assert manifest.start_ms <= manifest.end_ms
    video = manifests["video"]
    # Everything the seat sent is in the file, and it all decodes at the size it was sent.
    # (The last frame or two the camera made may still be in the sender when it closes.)
    assert result["sent_video"] - 2 <= video.packets <= result["sent_video"]
    assert video.keyframes >= 1
    with av.open(str(session_dir / video.file)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == video.packets
    assert {(f.width, f.height) for f in frames} == {(320, 240)}
    with av.open(str(session_dir / manifests["audio"].file)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "opus"
        assert sum(1 for _ in container.decode(stream)) == manifests["audio"].packets

    live = {t["kind"]: t for t in result["status_live"]}
    assert set(live) == {"audio", "video"}
    # Counted from the .mjr Janus is writing: behind by its write buffer, never ahead.
    assert 0 < live["video"]["packets"] <= video.packets
    assert live["video"]["keyframes"] >= 1
    assert live["audio"]["bytes"] > 0
    assert all(t["last_ms"] > 0 for t in live.values())

    final = [t for e in events if e["event"] == "status" for t in e["tracks"] if t.get("final")]
    assert {t["kind"]: t["packets"] for t in final} == {
        "audio": manifests["audio"].packets,
        "video": video.packets,
    }
    assert all(t["lost"] == 0 for t in final)

    # The node's usual path takes the manifests into the log, and recovery leaves them alone.
    assert recover(session_dir, 0) == []
    assert sorted(m.file for m in unlogged(session_dir)) == sorted(
        m.file for m in manifests.values()
    )
    assert sorted(p.name for p in (session_dir / "janus").iterdir()) == sorted(
        p.name for p in (session_dir / "janus").glob("*.mjr.done")
    )
