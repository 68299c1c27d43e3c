// Reading a zip in the browser (the auditor opens an evalroom-archive/1 file; nothing is uploaded).
// The central directory is parsed here (ZIP64 too: the archive writer streams events.jsonl with
// force_zip64) and members are inflated with DecompressionStream("deflate-raw"); each member's
// CRC-32 is checked, as Python's zipfile does when `evalroom verify` reads it.
"use strict";

window.EvalroomZip = (function () {
  const EOCD = 0x06054b50;
  const ZIP64_LOCATOR = 0x07064b50;
  const ZIP64_EOCD = 0x06064b50;
  const CENTRAL = 0x02014b50;
  const LOCAL = 0x04034b50;
  const MAX32 = 0xffffffff;

  class ZipError extends Error {}

  let crcTable = null;
  function crc32(bytes) {
    if (!crcTable) {
      crcTable = new Uint32Array(256);
      for (let n = 0; n < 256; n++) {
        let c = n;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
        crcTable[n] = c >>> 0;
      }
    }
    let crc = 0xffffffff;
    for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
    return (crc ^ 0xffffffff) >>> 0;
  }

  function u64(view, at) {
    const value = view.getBigUint64(at, true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError("a ZIP64 size beyond 2^53");
    return Number(value);
  }

  function findEnd(view) {
    const last = view.byteLength - 22;
    for (let at = last; at >= Math.max(0, last - 65535); at--) {
      if (view.getUint32(at, true) === EOCD) return at;
    }
    throw new ZipError("不是 zip 文件 not a zip file (no end of central directory)");
  }

  // {count, size, offset} of the central directory, from the ZIP64 record when there is one.
  function directory(view) {
    const end = findEnd(view);
    let count = view.getUint16(end + 10, true);
    let size = view.getUint32(end + 12, true);
    let offset = view.getUint32(end + 16, true);
    const locator = end - 20;
    if (locator >= 0 && view.getUint32(locator, true) === ZIP64_LOCATOR) {
      const record = u64(view, locator + 8);
      if (view.getUint32(record, true) !== ZIP64_EOCD) throw new ZipError("broken ZIP64 end record");
      count = u64(view, record + 32);
      size = u64(view, record + 40);
      offset = u64(view, record + 48);
    }
    if (offset + size > view.byteLength) throw new ZipError("central directory beyond the end of the file");
    return { count, offset };
  }

  // ZIP64 extra field (0x0001): the 64-bit values of the fields that hold 0xFFFFFFFF, in order.
  function zip64Extra(view, at, length, entry) {
    const stop = at + length;
    while (at + 4 <= stop) {
      const id = view.getUint16(at, true);
      const size = view.getUint16(at + 2, true);
      if (id === 0x0001) {
        let p = at + 4;
        for (const field of ["size", "compressed", "offset"]) {
          if (entry[field] === MAX32) {
            entry[field] = u64(view, p);
            p += 8;
          }
        }
      }
      at += 4 + size;
    }
  }

  function entries(view, bytes) {
    const { count, offset } = directory(view);
    const list = [];
    const utf8 = new TextDecoder("utf-8", { fatal: true });
    let at = offset;
    for (let i = 0; i < count; i++) {
      if (view.getUint32(at, true) !== CENTRAL) throw new ZipError(`central directory entry ${i + 1} is broken`);
      const flags = view.getUint16(at + 8, true);
      const nameLength = view.getUint16(at + 28, true);
      const extraLength = view.getUint16(at + 30, true);
      const commentLength = view.getUint16(at + 32, true);
      const entry = {
        method: view.getUint16(at + 10, true),
        crc: view.getUint32(at + 16, true),
        compressed: view.getUint32(at + 20, true),
        size: view.getUint32(at + 24, true),
        offset: view.getUint32(at + 42, true),
        encrypted: (flags & 1) === 1,
        name: utf8.decode(bytes.subarray(at + 46, at + 46 + nameLength)),
      };
      zip64Extra(view, at + 46 + nameLength, extraLength, entry);
      list.push(entry);
      at += 46 + nameLength + extraLength + commentLength;
    }
    return list;
  }

  async function inflate(data) {
    const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  // An opened archive: names in directory order, has(name), read(name) -> Promise<Uint8Array>.
  function open(buffer) {
    const bytes = new Uint8Array(buffer);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const list = entries(view, bytes);
    const byName = new Map();
    const duplicates = [];
    for (const entry of list) {
      if (byName.has(entry.name)) duplicates.push(entry.name);
      byName.set(entry.name, entry);
    }

    async function read(name) {
      const entry = byName.get(name);
      if (!entry) throw new ZipError(`${name}: 档案中没有此文件 not in the archive`);
      if (entry.encrypted) throw new ZipError(`${name}: encrypted members are not supported`);
      if (view.getUint32(entry.offset, true) !== LOCAL) throw new ZipError(`${name}: broken local header`);
      const start = entry.offset + 30 + view.getUint16(entry.offset + 26, true) + view.getUint16(entry.offset + 28, true);
      if (start + entry.compressed > bytes.length) throw new ZipError(`${name}: data beyond the end of the file`);
      const raw = bytes.subarray(start, start + entry.compressed);
      let data;
      if (entry.method === 0) data = raw;
      else if (entry.method === 8) {
        try {
          data = await inflate(raw);
        } catch (e) {
          throw new ZipError(`${name}: cannot be inflated (${e.message})`);
        }
      } else throw new ZipError(`${name}: compression method ${entry.method} is not supported`);
      if (data.length !== entry.size) throw new ZipError(`${name}: ${data.length} bytes, the directory says ${entry.size}`);
      if (crc32(data) !== entry.crc) throw new ZipError(`${name}: Bad CRC-32`);
      return data;
    }

    return { names: list.map((e) => e.name), duplicates, has: (name) => byName.has(name), read };
  }

  return { open, crc32, ZipError };
})();
