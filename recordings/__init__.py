"""Seat recordings and their manifests hashed into the event log: not built yet."""
