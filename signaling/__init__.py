"""WebRTC signaling (rooms per venue, offer/answer/ICE relay): not built yet."""
