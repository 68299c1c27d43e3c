// The auditor's cryptography, in the browser with WebCrypto: RFC 6962 leaf and node hashes and
// inclusion proofs (server/auditlog/merkle.py), C2SP signed notes, checkpoints and cosignatures
// (server/auditlog/note.py), and an expert's signature inside an event (server/auditlog/verify.py
// check_signed). Nothing here trusts the server: every check is recomputed from bytes.
"use strict";

window.EvalroomCrypto = (function () {
  const E = window.Evalroom;
  const utf8 = new TextEncoder();
  const EM_DASH_PREFIX = "\u2014 ";
  // Fields an event copies verbatim from what the expert signed (verify.py BOUND_FIELDS).
  const BOUND_FIELDS = [
    "bidder", "code", "criterion", "value", "comment", "pledge", "text", "candidate", "ground",
    "reason", "vote", "report", "dissent", "question",
  ];

  class CheckError extends Error {}

  function hex(bytes) {
    let out = "";
    for (let i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    return out;
  }

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  // Standard padded base64 that re-encodes to exactly the text (note.py b64decode_canonical).
  function b64decode(text, what) {
    let raw;
    try {
      raw = atob(text);
    } catch (_e) {
      throw new CheckError(`${what} is not valid base64`);
    }
    const bytes = Uint8Array.from(raw, (c) => c.charCodeAt(0));
    if (E.bytesToBase64(bytes) !== text) throw new CheckError(`${what} is not canonical base64`);
    return bytes;
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  const LEAF = Uint8Array.of(0);
  const NODE = Uint8Array.of(1);
  const leafHash = (raw) => sha256(concat(LEAF, raw));
  const nodeHash = (left, right) => sha256(concat(NODE, left, right));

  function bitLength(n) {
    return n === 0 ? 0 : 32 - Math.clz32(n);
  }

  function popcount(n) {
    let count = 0;
    for (; n; n &= n - 1) count++;
    return count;
  }

  // RFC 9162 2.1.3.2: the root an inclusion proof gives for `leaf` at `index` in a tree of `size`.
  async function rootFromInclusion(leaf, index, size, proof) {
    if (!(index >= 0 && index < size)) throw new CheckError(`leaf index ${index} is outside a tree of size ${size}`);
    if (size > 0x7fffffff) throw new CheckError("trees over 2^31 leaves are not supported here");
    const inner = bitLength(index ^ (size - 1));
    const border = popcount(index >>> inner);
    if (proof.length !== inner + border) {
      throw new CheckError(`inclusion proof has ${proof.length} hashes, want ${inner + border}`);
    }
    let seed = leaf;
    for (let level = 0; level < proof.length; level++) {
      const sibling = proof[level];
      if (sibling.length !== 32) throw new CheckError(`proof hash ${level} is ${sibling.length} bytes`);
      const right = level < inner && ((index >>> level) & 1) === 0;
      seed = right ? await nodeHash(seed, sibling) : await nodeHash(sibling, seed);
    }
    return seed;
  }

  // Every level of the tree over `leaves` (level 0 = the leaves, a lone last node promoted):
  // the same tree as RFC 6962's split at the largest power of two, so a proof is O(log n) lookups.
  async function treeLevels(leaves, progress) {
    const levels = [leaves];
    let done = 0;
    while (levels[levels.length - 1].length > 1) {
      const below = levels[levels.length - 1];
      const above = new Array(Math.ceil(below.length / 2));
      for (let i = 0; i + 1 < below.length; i += 512) {
        const jobs = [];
        for (let j = i; j + 1 < below.length && j < i + 512; j += 2) jobs.push(nodeHash(below[j], below[j + 1]).then((h) => (above[j / 2] = h)));
        await Promise.all(jobs);
        done += jobs.length;
        if (progress) progress(done, leaves.length);
      }
      if (below.length % 2) above[above.length - 1] = below[below.length - 1];
      levels.push(above);
    }
    return levels;
  }

  // The root of the first `size` leaves from the levels of a tree over at least as many: one
  // perfect subtree per set bit of the size (each complete in the larger tree), hashed right to
  // left as merkle.py compact_root does.
  async function rootFromLevels(levels, size) {
    if (size === 0) return sha256(new Uint8Array(0));
    const parts = [];
    let start = 0;
    for (let level = levels.length - 1; level >= 0; level--) {
      if (size & (2 ** level)) {
        parts.push(levels[level][start / 2 ** level]);
        start += 2 ** level;
      }
    }
    let root = parts[parts.length - 1];
    for (let i = parts.length - 2; i >= 0; i--) root = await nodeHash(parts[i], root);
    return root;
  }

  // PATH(index, size) from the levels of a tree of exactly `size` leaves (merkle.py _path).
  function proofFromLevels(levels, index) {
    const proof = [];
    let node = index;
    for (let level = 0; level < levels.length - 1; level++) {
      const sibling = node ^ 1;
      if (sibling < levels[level].length) proof.push(levels[level][sibling]);
      node >>>= 1;
    }
    return proof;
  }

  // A C2SP verifier key "name+keyid+base64(type || key)", its id checked; imports the key.
  async function parseVerifierKey(text) {
    if (typeof text !== "string") throw new CheckError("no verifier key");
    const first = text.indexOf("+");
    const second = text.indexOf("+", first + 1);
    if (first <= 0 || second < 0) throw new CheckError("a verifier key is name+keyid+key");
    const name = text.slice(0, first);
    const id = text.slice(first + 1, second);
    const material = b64decode(text.slice(second + 1), "verifier key");
    if (!/^[0-9a-f]{8}$/.test(id)) throw new CheckError("verifier key id must be 8 lowercase hex digits");
    if (material.length !== 33 || (material[0] !== 1 && material[0] !== 4)) {
      throw new CheckError("verifier key is not an Ed25519 (0x01) or cosignature/v1 (0x04) key");
    }
    const wanted = (await sha256(concat(utf8.encode(name + "\n"), material))).subarray(0, 4);
    if (hex(wanted) !== id) throw new CheckError("verifier key id does not match its name and key");
    const key = await crypto.subtle.importKey("raw", material.subarray(1), { name: "Ed25519" }, false, ["verify"]);
    return { name, type: material[0], id, text, key };
  }

  function ed25519(key, signature, message) {
    return crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
  }

  // A signed note split into its body and signature lines (note.py open_note); nothing verified.
  function openNote(text) {
    const split = text.lastIndexOf("\n\n");
    if (split < 0) throw new CheckError("note has no blank line before its signatures");
    const body = text.slice(0, split + 1);
    const block = text.slice(split + 2);
    if (!block.endsWith("\n")) throw new CheckError("note signatures must end with a newline");
    const lines = block.slice(0, -1).split("\n").map((line) => {
      if (!line.startsWith(EM_DASH_PREFIX)) throw new CheckError("signature line does not start with an em dash");
      const parts = line.slice(EM_DASH_PREFIX.length).split(" ");
      if (parts.length !== 2) throw new CheckError("signature line is not '— name signature'");
      const raw = b64decode(parts[1], `signature of ${parts[0]}`);
      if (raw.length < 5) throw new CheckError(`signature of ${parts[0]} is too short`);
      return { name: parts[0], id: hex(raw.subarray(0, 4)), payload: raw.subarray(4) };
    });
    return { body, lines };
  }

  function parseCheckpoint(body) {
    const lines = body.slice(0, -1).split("\n");
    if (!body.endsWith("\n") || lines.length < 3 || lines.some((l) => !l)) {
      throw new CheckError("checkpoint needs origin, size and root on non-empty lines");
    }
    if (!/^(0|[1-9][0-9]*)$/.test(lines[1])) throw new CheckError(`checkpoint size ${lines[1]} is not a decimal`);
    const root = b64decode(lines[2], "checkpoint root");
    if (root.length !== 32) throw new CheckError(`checkpoint root is ${root.length} bytes, want 32`);
    return { origin: lines[0], size: Number(lines[1]), root };
  }

  // A checkpoint note: the node's signature (every line of its key must verify, at least one),
  // then each witness cosignature/v1 by a known witness key. Returns the parsed checkpoint.
  async function verifyCheckpoint(note, node, witnesses) {
    const { body, lines } = openNote(note);
    const message = utf8.encode(body);
    let found = false;
    let cosigned = 0;
    for (const line of lines) {
      if (line.name === node.name && line.id === node.id) {
        if (!(await ed25519(node.key, line.payload, message))) throw new CheckError(`signature by ${node.name} does not verify`);
        found = true;
        continue;
      }
      const witness = (witnesses || []).find((w) => w.name === line.name && w.id === line.id && w.type === 4);
      if (!witness) continue;
      if (line.payload.length !== 72) throw new CheckError(`cosignature by ${line.name} is not timestamp + signature`);
      const time = new DataView(line.payload.buffer, line.payload.byteOffset, 8).getBigUint64(0);
      const signed = utf8.encode(`cosignature/v1\ntime ${time}\n${body}`);
      if (!(await ed25519(witness.key, line.payload.subarray(8), signed))) throw new CheckError(`cosignature by ${line.name} does not verify`);
      cosigned += 1;
    }
    if (!found) throw new CheckError(`no signature by ${node.name}+${node.id}`);
    return { ...parseCheckpoint(body), body, cosigned };
  }

  // What is wrong with an expert's signature inside an event's data ("" when it holds).
  // keyOf(seat) is the CryptoKey of the seat's latest earlier enrolment, or null.
  async function checkSigned(session, kind, data, keyOf) {
    const signed = data.signed;
    const sigText = data.sig;
    const seat = data.seat;
    if (typeof signed !== "string" || typeof sigText !== "string") return "'signed' and 'sig' must be strings";
    const key = typeof seat === "string" ? keyOf(seat) : null;
    if (!key) return `seat ${JSON.stringify(seat)} has no enrolled key before this event`;
    let payload;
    let sig;
    try {
      payload = JSON.parse(signed);
      if (E.canonical(payload) !== signed) throw new CheckError("JSON is not in canonical form");
      sig = b64decode(sigText, "signature");
    } catch (e) {
      return `signed payload or signature is malformed: ${e.message}`;
    }
    if (!payload || typeof payload !== "object" || Array.isArray(payload) || payload.session !== session) {
      return "signed payload names another session";
    }
    if (payload.seat !== seat) return "signed payload names another seat";
    const command = payload.type;
    if (typeof command !== "string" || command.split(".")[0] !== String(kind).split(".")[0]) {
      return `signed command ${JSON.stringify(command)} does not produce a ${JSON.stringify(kind)} event`;
    }
    for (const name of BOUND_FIELDS) {
      if (name in data && name in payload && E.canonical(data[name]) !== E.canonical(payload[name])) {
        return `event ${name} differs from the signed ${name}`;
      }
    }
    if (!(await ed25519(key, sig, utf8.encode(signed)))) return `signature does not verify with the key of ${seat}`;
    return "";
  }

  // An enrolled seat key ({"scheme": "ed25519", "public": base64}) as a CryptoKey.
  async function importSeatKey(key) {
    const text = key && typeof key === "object" ? key.public : key;
    if (key && typeof key === "object" && key.scheme !== "ed25519") throw new CheckError(`key scheme ${key.scheme} is not ed25519`);
    if (typeof text !== "string") throw new CheckError("key must be a base64 string");
    const raw = b64decode(text, "key");
    if (raw.length !== 32) throw new CheckError(`an Ed25519 key is 32 bytes, got ${raw.length}`);
    return crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
  }

  function fromHex(text) {
    if (typeof text !== "string" || !/^[0-9a-f]{64}$/.test(text)) return null;
    const out = new Uint8Array(32);
    for (let i = 0; i < 32; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
    return out;
  }

  return {
    CheckError, hex, fromHex, equal, b64decode, sha256, leafHash, nodeHash, rootFromInclusion,
    treeLevels, rootFromLevels, proofFromLevels, parseVerifierKey, openNote, parseCheckpoint,
    verifyCheckpoint, checkSigned, importSeatKey, utf8,
  };
})();
