# evalroom server image: SQLite in /data by default, PostgreSQL via EVALROOM_DATABASE_URL.
FROM python:3.11-slim
WORKDIR /app
# The evaluation report (PDF) embeds this CJK TrueType font (scripts/install-fonts.sh); Janus
# and janus-pp-rec serve EVALROOM_MEDIA_BACKEND=janus (scripts/install-media.sh). The embedded
# media backend (the default) needs nothing more than the Python packages.
# gcc and libc6-dev build the small preload that makes Janus write its recordings unbuffered
# (signaling/janus/process.py): without it a crash can lose ~4 KiB per track (a second of audio).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-wqy-microhei \
    janus janus-tools gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY server ./server
COPY signaling ./signaling
COPY recordings ./recordings
COPY client_web ./client_web
RUN pip install --no-cache-dir .
# A container is reached from outside its own loopback, so plain HTTP is allowed here for a TLS
# proxy in front; to serve HTTPS itself, mount the files of `evalroom tls init` and set
# EVALROOM_TLS_CERT / EVALROOM_TLS_KEY (docs/DEPLOY.md).
ENV EVALROOM_DATA_DIR=/data EVALROOM_HOST=0.0.0.0 EVALROOM_PORT=8080 \
    EVALROOM_CLIENT_DIR=/app/client_web EVALROOM_ALLOW_PLAIN_HTTP=1
VOLUME /data
EXPOSE 8080
CMD ["evalroom", "serve"]
