"""Seat recordings: one WebM file per seat and track, muxed from the encoded frames, and manifests.

The media worker hands every received VP8 frame and Opus packet to a
:class:`recordings.track_writer.TrackWriter`, which writes them as they are (no re-encoding) with
250 ms clusters, so a killed worker loses about a cluster and leaves a file that still decodes.
Closing a file produces a :class:`recordings.manifest.Manifest` (hash, size, packet counts, wall
time of the first and last frame through the RTCP sender reports) that the server appends to the
session's signed log as ``recording.closed``.

- ``manifest.py`` (pure): the manifest, sender reports, pts → wall time, VP8 header parsing.
- ``part.py`` (pure): the ``.part.json`` sidecar of a file being written.
- ``files.py``: exclusive 0600 creation, atomic replacement, fsync, SHA-256, the fd PyAV writes to.
- ``track_writer.py``: the writer of one file.
- ``recovery.py``: closing files a crash cut (``cut=True``), and the hand-over of manifests to the
  log (``unlogged`` / ``mark_logged``).

Files live in ``<data dir>/recordings/<session>/``: ``<seat>-<track>-<created ms>.webm`` (0400
once closed), ``<file>.manifest.json`` (0400), ``<file>.part.json`` while writing and
``<file>.logged`` once the manifest is in the log.
"""
