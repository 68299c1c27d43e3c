"""The embedded media backend: an aiortc worker process forwarding encoded packets (no decoding)."""
