// The seat page's service worker: served at /seat/sw.js (server/app/sw_http.py), scope /seat/.
// It keeps the app shell (seat.html and the files it loads) so that a seat page reloaded while
// the server is unreachable still opens; seat.js then shows the sheet from the view it stored
// and keeps its signed commands queued until the server answers again.
//
// Policy:
// - only the shell is cached: SHELL below (a test keeps it equal to seat.html's <script src> and
//   stylesheet) and, for any /seat/{session}/{seat} navigation, seat.html under SHELL_PAGE;
// - network first, revalidating (cache: "no-cache"), so a new deploy is what an online page
//   gets; each good (200) answer replaces the cached copy;
// - the cached copy is used when the network fails, answers 5xx (a proxy whose node is down), or
//   has not answered within NETWORK_WAIT_MS (a network that drops packets); its answer, when it
//   comes, still refreshes the cache;
// - everything else (/api/*, /socket.io/*, the report PDF, other pages) is never answered from
//   here nor cached: the browser sends it as if there were no worker;
// - CACHE is versioned: activating a worker deletes the other evalroom-seat-* caches and any
//   entry of its own that is no longer in the shell. Bump the version when what a cached entry
//   means changes; a changed SHELL list alone needs no bump (the new worker installs it).
"use strict";

const CACHE = "evalroom-seat-v4"; // v4: media_tiles.js and media_peer.js split out of media.js
const CACHE_PREFIX = "evalroom-seat-";
const SHELL_PAGE = "/client/seat.html";
const SHELL = [
  SHELL_PAGE,
  "/client/style.css",
  "/client/vendor/socket.io.min.js",
  "/client/common.js",
  "/client/fold.js",
  "/client/errors.js",
  "/client/seat_store.js",
  "/client/seat_login.js",
  "/client/seat_report.js",
  "/client/seat_committee.js",
  "/client/seat_recusal.js",
  "/client/seat_clarification.js",
  "/client/seat_sheet.js",
  "/client/media_tiles.js",
  "/client/media_peer.js",
  "/client/media.js",
  "/client/seat.js",
];
const SEAT_PAGE = /^\/seat\/[^/]+\/[^/]+$/; // the server's /seat/{session}/{seat}
const NETWORK_WAIT_MS = 5000;

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(SHELL.map((path) => new Request(path, { cache: "no-cache" })));
      await self.skipWaiting(); // the shell is served network-first: an old page and a new worker agree
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith(CACHE_PREFIX) && name !== CACHE) await caches.delete(name);
      }
      const cache = await caches.open(CACHE);
      for (const request of await cache.keys()) {
        if (!SHELL.includes(new URL(request.url).pathname)) await cache.delete(request);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  let key = null;
  if (request.mode === "navigate" && SEAT_PAGE.test(url.pathname)) key = SHELL_PAGE;
  else if (request.mode !== "navigate" && !url.search && SHELL.includes(url.pathname)) key = url.pathname;
  if (!key) return; // not the shell: straight to the network, never cached
  event.respondWith(networkFirst(event, url.href, key));
});

// Resolves with the promise's value, or rejects after ms.
function within(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no answer in time")), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

async function networkFirst(event, href, key) {
  const cache = await caches.open(CACHE);
  const navigate = event.request.mode === "navigate";
  // a navigation keeps its redirects for the browser to follow (an opaque redirect is not cached)
  const network = fetch(href, { cache: "no-cache", credentials: "same-origin", redirect: navigate ? "manual" : "follow" }).then((response) => {
    if (response.status === 200 && response.type === "basic") {
      event.waitUntil(cache.put(key, response.clone()).catch(() => {}));
    }
    return response;
  });
  event.waitUntil(network.catch(() => {})); // a late answer still refreshes the cache
  const cached = await cache.match(key);
  if (!cached) return network; // nothing kept yet: exactly what the network says
  try {
    const response = await within(network, NETWORK_WAIT_MS);
    return response.status >= 500 ? cached : response;
  } catch (_e) {
    return cached;
  }
}
