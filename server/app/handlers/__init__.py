"""Handlers, one per concept (as Synapse's handlers): each parses and authorizes what it is asked,
then asks the committer or the store. HTTP routes and socket.io handlers call them through
:class:`server.app.service.Service`; neither decides anything itself."""
