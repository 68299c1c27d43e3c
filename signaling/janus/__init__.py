"""Media through Janus VideoRoom (Debian's ``janus``), behind the same interface as the embedded
backend: for production and large rooms."""
