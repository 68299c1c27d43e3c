"""Live media: signaling over socket.io ``/media``, rooms per session, and media backends.

- Pure: ``policy`` (who publishes, who receives what), ``messages`` (client messages, checked),
  ``turn`` and ``ice`` (ICE servers from configuration, coturn credentials), ``debounce``.
- ``room`` (the media rooms and what goes to the log), ``namespace`` (the socket.io edge).
- ``embedded/``: the aiortc pass-through worker (default); ``janus/``: the Janus VideoRoom backend.
"""
