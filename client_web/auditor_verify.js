// "验证整个档案 Verify the whole archive" in the browser: the node key, every signed checkpoint
// (and witness cosignatures by known keys), every event's leaf hash against the stored one, the
// RFC 6962 root at every checkpoint size, every expert signature with the key in force at that
// seq, and for an archive every file against manifest.json and the hashes the log holds. The
// same checks as server/auditlog/verify.py, reported the same way: {kind, item, message}.
"use strict";

window.EvalroomVerify = (function () {
  const E = window.Evalroom;
  const C = window.EvalroomCrypto;
  const BATCH = 256;
  const EVENT_KEYS = "actor,data,seq,session,t,type,v";
  const decoder = new TextDecoder("utf-8", { fatal: true });

  class Report {
    constructor() {
      this.problems = [];
      this.counts = {};
      this.statements = [];
    }

    add(kind, item, message) {
      if (this.problems.length < 500) this.problems.push({ kind, item, message });
      else this.count("problems not listed");
    }

    count(what, n = 1) {
      this.counts[what] = (this.counts[what] || 0) + n;
    }

    get ok() {
      return this.problems.length === 0;
    }
  }

  async function keys(log, report) {
    let node = null;
    try {
      node = await C.parseVerifierKey(log.nodeKey);
    } catch (e) {
      report.add("key", "node key", `the node's verifier key is unusable: ${e.message}`);
    }
    const witnesses = [];
    for (const text of log.witnessKeys || []) {
      try {
        witnesses.push(await C.parseVerifierKey(text));
      } catch (e) {
        report.add("key", String(text).split("+")[0], `witness key is unusable: ${e.message}`);
      }
    }
    return { node, witnesses };
  }

  // Every note verified; returns the checkpoints that hold, by size.
  async function checkpoints(log, node, witnesses, report) {
    const good = new Map();
    const origin = log.manifest ? log.manifest.origin : node ? `${node.name}/${log.session}` : null;
    for (const entry of log.notes) {
      report.count("checkpoints");
      if (!node) continue;
      try {
        const cp = await C.verifyCheckpoint(entry.note, node, witnesses);
        if (cp.origin !== origin) throw new C.CheckError(`origin ${cp.origin} is not ${origin}`);
        if (cp.size !== entry.size) throw new C.CheckError(`holds size ${cp.size}, named ${entry.size}`);
        if (cp.size > log.head) throw new C.CheckError(`size ${cp.size} is beyond the ${log.head} events`);
        report.count("witness cosignatures", cp.cosigned);
        good.set(cp.size, cp);
      } catch (e) {
        report.add("checkpoint", entry.name, e.message);
      }
    }
    return good;
  }

  // One batch of events: leaf hashes (in parallel), their tree, enrolments and signatures.
  async function walkBatch(log, start, end, state, report) {
    const leaves = [];
    for (let i = start; i < end; i++) leaves.push(C.leafHash(log.raw(i)));
    const hashes = await Promise.all(leaves);
    const checks = [];
    for (let i = start; i < end; i++) {
      const leaf = hashes[i - start];
      const ev = log.events[i];
      const item = `seq ${i + 1}`;
      if (C.hex(leaf) !== log.leaves[i]) report.add("event", item, `leaf hash differs from ${state.stored}`);
      if (log.raws[i]) checkBytes(log, i, item, report);
      state.leaves.push(leaf);
      const data = ev.data || {};
      if (ev.type === "seat.enrolled") {
        try {
          state.keys.set(data.seat, await C.importSeatKey(data.key));
        } catch (e) {
          state.keys.delete(data.seat);
          report.add("key", item, `enrolled key of ${data.seat} is unusable: ${e.message}`);
        }
      } else if (ev.type === "seat.key_revoked" || ev.type === "seat.replaced") {
        // nothing it signs from here on is valid (server/domain/recovery.py, recusal.py)
        state.keys.delete(data.seat);
      } else if ("signed" in data || "sig" in data) {
        const key = state.keys.get(data.seat) || null;
        checks.push(C.checkSigned(log.session, ev.type, data, () => key).then((problem) => [item, problem]));
      } else if (typeof ev.actor === "string" && ev.actor.startsWith("expert:")) {
        report.add("signature", item, `${ev.type} by ${ev.actor} carries no expert signature`);
      }
      if (ev.type === "phase.changed" && data.to === "closed" && state.closedAt === null) state.closedAt = i + 1;
      if (ev.type === "session.sealed" && state.seal === null) state.seal = { seq: i + 1, cause: data.cause };
    }
    for (const [item, problem] of await Promise.all(checks)) {
      report.count("expert signatures");
      if (problem) report.add("signature", item, problem);
    }
  }

  // The RFC 6962 root at every signed checkpoint's size, from the tree of the recomputed leaves
  // (its levels hashed in parallel batches; a root is then one node per set bit of the size).
  async function roots(state, report, progress) {
    const levels = await C.treeLevels(state.leaves, (done, total) => progress({ stage: "tree", done, total }));
    for (const cp of [...state.checkpoints.values()].sort((a, b) => a.size - b.size)) {
      report.count("roots");
      if (!C.equal(await C.rootFromLevels(levels, cp.size), cp.root)) {
        report.add("checkpoint", `checkpoint ${cp.size}`, `root differs from the tree of the first ${cp.size} events`);
      }
    }
  }

  // An archived line: canonical JSON of an event object of this session.
  function checkBytes(log, i, item, report) {
    const ev = log.events[i];
    let text;
    try {
      text = decoder.decode(log.raws[i]);
      if (E.canonical(ev) !== text) throw new Error("not in canonical form");
    } catch (e) {
      report.add("event", item, `not canonical JSON: ${e.message}`);
      return;
    }
    if (Object.keys(ev).sort().join(",") !== EVENT_KEYS) report.add("event", item, "not an event object with v, session, seq, t, ...");
    else if (ev.session !== log.session) report.add("event", item, `session ${ev.session} is not manifest.json's`);
  }

  // Archive members against manifest.json, and the files the log names against its hashes.
  async function files(log, report, progress) {
    const manifest = log.manifest;
    const listed = manifest.files || {};
    const digests = {};
    const names = log.zip.names.filter((n) => n !== "manifest.json");
    for (const name of log.zip.duplicates) report.add("archive", "zip directory", `${name} appears twice`);
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      try {
        digests[name] = C.hex(await C.sha256(await log.zip.read(name)));
        report.count("files");
      } catch (e) {
        report.add("archive", name, `cannot be read: ${e.message}`);
        continue;
      }
      if (!(name in listed)) report.add("file", name, "not listed in manifest.json");
      else if (listed[name] !== digests[name]) report.add("file", name, "SHA-256 differs from manifest.json");
      progress(i + 1, names.length);
    }
    for (const name of Object.keys(listed)) if (!(name in digests)) report.add("file", name, "missing from the archive");
    if (manifest.events !== log.archived) report.add("event", "events.jsonl", `${log.archived} events, manifest.json says ${manifest.events}`);
    if (manifest.format !== "evalroom-archive/1") report.add("file", "manifest.json", `format ${manifest.format} is not evalroom-archive/1`);
    for (const ev of log.events) {
      const data = ev.data || {};
      if (ev.type === "recording.closed") {
        bound(report, digests, `recordings/${data.file}`, data.sha256, `seq ${ev.seq}`, "recording");
      } else if (ev.type === "report.issued") {
        bound(report, digests, `report/${data.report}.pdf`, data.report, `seq ${ev.seq}`, "report");
        bound(report, digests, `report/${data.report}.json`, data.content, `seq ${ev.seq}`, "report");
      }
    }
  }

  function bound(report, digests, name, wanted, item, kind) {
    if (!(name in digests)) report.add(kind, name, `named at ${item} but missing from the archive`);
    else if (digests[name] !== wanted) report.add(kind, name, `SHA-256 differs from the one logged at ${item}`);
    else report.count(kind === "recording" ? "recordings" : "report files");
  }

  // The whole log; progress({stage, done, total}). Never throws for a bad log: it reports.
  async function verifyLog(log, progress = () => {}) {
    const report = new Report();
    const { node, witnesses } = await keys(log, report);
    const state = {
      leaves: [], // recomputed from the events: the tree is built from these, not leaves.txt
      keys: new Map(),
      checkpoints: await checkpoints(log, node, witnesses, report),
      stored: log.source === "archive" || log.manifest ? "leaves.txt" : "the hash the server sent",
      closedAt: null,
      seal: null, // the session.sealed event: after it the log takes nothing (server/domain/sealing.py)
    };
    for (let start = 0; start < log.head; start += BATCH) {
      const end = Math.min(log.head, start + BATCH);
      await walkBatch(log, start, end, state, report);
      report.count("events", end - start);
      progress({ stage: "events", done: end, total: log.head });
    }
    await roots(state, report, progress);
    if (log.manifest && log.zip) await files(log, report, (done, total) => progress({ stage: "files", done, total }));
    const sizes = [...state.checkpoints.keys()];
    const newest = sizes.length ? Math.max(...sizes) : 0;
    if (state.seal !== null) {
      const closed = state.closedAt !== null ? `，#${state.closedAt} 结束 closed at seq ${state.closedAt}` : "";
      report.statements.push(`会话已在 #${state.seal.seq} 封存 Sealed at seq ${state.seal.seq} (${state.seal.cause})${closed}; the newest signed checkpoint covers ${newest} of ${log.head} events`);
    } else if (state.closedAt !== null) {
      report.statements.push(`会话已在 #${state.closedAt} 结束，尚未封存 The session closed at seq ${state.closedAt} and is not sealed yet; the newest signed checkpoint covers ${newest} of ${log.head} events`);
    } else {
      report.statements.push(`会话未结束 Session not closed: the log is proven up to checkpoint ${newest} only`);
    }
    if (newest < log.head) report.statements.push(`#${newest + 1}–#${log.head} 尚无签名检查点 not yet under a signed checkpoint`);
    if (!node) report.statements.push("无节点密钥，检查点未验证 No node key: checkpoints not verified");
    return report;
  }

  const COUNT_LABELS = {
    events: "事件 events", checkpoints: "检查点 checkpoints", roots: "根哈希 roots", "expert signatures": "专家签名 expert signatures",
    "witness cosignatures": "见证签名 witness cosignatures", files: "文件 files", recordings: "录像 recordings", "report files": "报告文件 report files",
  };

  // The verdict as page content: ✓/✗, counts, the first failure by item, every problem listed.
  function render(report, seconds) {
    const el = E.el;
    const first = report.problems[0];
    const counts = Object.entries(report.counts).map(([k, n]) => `${COUNT_LABELS[k] || k} ${n}`).join(" · ");
    const out = [
      el("p", { id: "verify-verdict", class: report.ok ? "ok" : "bad", "data-ok": String(report.ok) }, report.ok
        ? `✓ 全部通过 Everything verifies (${seconds.toFixed(1)} s)`
        : `✗ 验证失败 Verification failed: ${report.problems.length} 个问题 problem(s) (${seconds.toFixed(1)} s)`),
      el("p", { id: "verify-counts" }, `已检查 Checked: ${counts}`),
    ];
    if (first) {
      out.push(el("p", { id: "verify-first", class: "bad", "data-kind": first.kind, "data-item": first.item },
        `第一个失败 First failure: ${first.kind} ${first.item}: ${first.message}`));
      out.push(el("details", {}, el("summary", {}, "全部问题 Every problem"),
        el("ul", { id: "verify-problems", tabindex: "0", "aria-label": "全部问题 Every problem" }, ...report.problems.map((p) => el("li", { "data-kind": p.kind, "data-item": p.item }, `${p.kind} ${p.item}: ${p.message}`)))));
    }
    out.push(el("ul", { class: "statements" }, ...report.statements.map((s) => el("li", {}, s))));
    return out;
  }

  return { verifyLog, Report, render };
})();
