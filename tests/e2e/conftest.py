"""The browser tests share the real-server fixture of the protocol tests."""

from tests.app.conftest import server as server
