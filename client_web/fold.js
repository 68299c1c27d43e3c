// The client's fold of viewed events (as server/domain/views.py apply_view, and the views of
// each concept it delegates to: committee, blind, report, roll-back, conduct, inspection, the
// expert draw). Every
// page that follows the log loads it after common.js; tests keep it equal to the server's views.
"use strict";

(function () {
  // Fold one viewed event into a view, as server/domain/views.py apply_view does.
  function applyView(view, event, ownSeat) {
    view.seq = event.seq;
    const kind = event.type;
    const data = event.data;
    if (kind === "hidden" || !data) return;
    if (kind === "session.created") {
      view.session = event.session || view.session;
      view.phase = "prepared";
      view.phase_times = { prepared: event.t };
      view.paused = null; // server/domain/pause.py: {since, seq, reason?, fault?, referred?} while paused
      view.sealed = null; // server/domain/sealing.py: {cause, since, seq} once sealed
      view.blind = null; // as server/domain/views.py apply_view: null until a draw or a report
      view.report = null;
      view.rollbacks = {}; // server/domain/rollback_views.py
      view.conduct = { records: {}, ratings: {} }; // server/domain/conduct.py (staff views only)
      view.inspection = []; // server/domain/inspection.py (staff views only)
      view.draw = null; // server/domain/draw_session.py: the expert draw, once opened
      view.lot = data.lot;
      view.seats = {};
      view.cells = {};
      const chair = data.lot && data.lot.committee && data.lot.committee.chair;
      view.committee = {
        chair: data.seats.includes(chair) ? chair : null,
        chair_round: 1,
        chair_votes: {},
        proposals: {},
        time: { round: 1, requests: [], extensions: 0 },
        explanations: [],
      };
      for (const s of data.seats) {
        const venue = s.slice(0, s.lastIndexOf("-"));
        const visible = !ownSeat || s === ownSeat;
        view.seats[s] = visible
          ? { venue, enrolled: false, signed_in: false, submitted: false }
          : { venue, enrolled: null, signed_in: null, submitted: null };
        if (visible) view.cells[s] = {};
      }
      return;
    }
    const seat = data.seat;
    const flags = {
      "seat.enrolled": "enrolled",
      "expert.signed_in": "signed_in",
      "sheet.submitted": "submitted",
    };
    if (flags[kind] && view.seats && view.seats[seat]) {
      view.seats[seat][flags[kind]] = true;
    } else if (kind === "seat.key_revoked" && view.seats && view.seats[seat]) {
      view.seats[seat].enrolled = false; // until the seat enrols its new key (server/domain/recovery.py)
    } else if (kind === "phase.changed") {
      view.phase = data.to;
      view.phase_times = { ...(view.phase_times || {}), [data.to]: event.t };
    } else if (kind === "session.paused") {
      view.paused = { since: event.t, seq: event.seq };
      for (const key of ["reason", "fault"]) if (data[key] !== undefined) view.paused[key] = data[key];
    } else if (kind === "session.resumed") {
      view.paused = null;
    } else if (kind === "inspection.flagged") {
      if (view.inspection) view.inspection.push({ rule: data.rule, seat: data.seat, subject: data.subject, detail: { ...data.detail }, seq: event.seq });
    } else if (kind === "misconduct.recorded") {
      if (view.conduct) {
        const { misconduct, seat: who, category, note } = data;
        view.conduct.records[misconduct] = { seat: who, category, note, evidence: { ...(data.evidence || {}) }, by: event.actor, seq: event.seq };
      }
    } else if (kind === "expert.rated") {
      if (view.conduct) view.conduct.ratings[data.seat] = { rating: data.rating, note: data.note === undefined ? null : data.note, by: event.actor, seq: event.seq };
    } else if (kind === "rollback.requested") {
      // server/domain/rollback_views.py: the requests a role may see, by id
      if (view.rollbacks) {
        const seats = data.kind === "phase" ? data.seats : [data.seat];
        view.rollbacks[data.rollback] = { kind: data.kind, seats, reason: data.reason, by: event.actor, seq: event.seq, status: "requested" };
      }
    } else if (kind === "rollback.declined") {
      if (view.rollbacks && view.rollbacks[data.rollback]) view.rollbacks[data.rollback].status = "declined";
    } else if (kind === "sheet.reopened") {
      if (view.seats && view.seats[seat]) view.seats[seat].submitted = false;
      if (view.rollbacks && view.rollbacks[data.rollback]) view.rollbacks[data.rollback].status = "approved";
    } else if (kind === "phase.rolled_back") {
      view.phase = data.to;
      view.phase_times = { ...(view.phase_times || {}), [data.to]: event.t };
      delete view.phase_times[data.from];
      if (view.rollbacks && view.rollbacks[data.rollback]) view.rollbacks[data.rollback].status = "approved";
    } else if (kind === "fault.referred") {
      if (view.paused) view.paused.referred = event.t; // the tenderer decides now
    } else if (kind === "session.sealed") {
      view.sealed = { cause: data.cause, since: event.t, seq: event.seq };
    } else if (kind === "blind.assigned" || kind === "blind.revealed") {
      // As server/domain/committee_views.py apply_blind_view: on the reveal, cells held under
      // a seat's codes are filed under the bidders (a full view already holds them so).
      view.blind = { revealed: kind === "blind.revealed", seats: data.seats };
      if (kind === "blind.revealed") {
        for (const [s, cells] of Object.entries(view.cells || {})) {
          const bidderOf = Object.fromEntries(data.seats[s] || []);
          for (const key of Object.keys(cells)) {
            const [head, criterion] = key.split("/");
            if (bidderOf[head]) {
              cells[`${bidderOf[head]}/${criterion}`] = cells[key];
              delete cells[key];
            }
          }
        }
        for (const item of (view.committee && view.committee.explanations) || []) {
          if (item.code && !item.bidder) item.bidder = Object.fromEntries(data.seats[item.seat] || [])[item.code] || null;
        }
      }
    } else if (kind === "report.issued") {
      view.report = { hash: data.report, content: data.content, bytes: data.bytes, signatures: {} };
    } else if (kind === "report.signed") {
      if (view.report) view.report.signatures[seat] = { seq: event.seq, dissent: data.dissent != null ? data.dissent : null };
    } else if (DRAW_EVENTS.has(kind)) {
      applyDraw(view, event);
    } else if (COMMITTEE_EVENTS.has(kind)) {
      applyCommittee(view, event);
    } else if (kind === "score.set") {
      const cell = { seq: event.seq };
      if ("value" in data) {
        cell.value = data.value;
        if (data.comment != null) cell.comment = data.comment;
      }
      // A blind score names the seat's code; whoever holds the mapping files it by bidder.
      let head = data.bidder;
      if (!head) {
        const pairs = (view.blind && view.blind.seats && view.blind.seats[seat]) || [];
        head = Object.fromEntries(pairs)[data.code] || data.code;
      }
      view.cells = view.cells || {};
      view.cells[seat] = view.cells[seat] || {};
      view.cells[seat][`${head}/${data.criterion}`] = cell;
    }
  }

  const DRAW_EVENTS = new Set(["draw.opened", "draw.committed", "draw.revealed", "draw.made"]);

  // Fold one draw event, as server/domain/draw_session.py apply_draw_view does. Staff events
  // carry the whole data (the pool's hash, commitments, shares, the committee), the public
  // screen's and a venue's only who took part: the data tells which view this is.
  function applyDraw(view, event) {
    const data = event.data;
    if (event.type === "draw.opened") {
      const draw = { participants: [...data.participants], committed: [], revealed: [], made: false };
      if (data.pool !== undefined) {
        Object.assign(draw, { pool: data.pool, size: data.size, seq: event.seq, rules: data.rules });
        Object.assign(draw, { commitments: {}, shares: {}, committee: null });
      }
      view.draw = draw;
      return;
    }
    const draw = view.draw;
    if (!draw) return;
    if (event.type === "draw.made") {
      draw.made = true;
      if (draw.committee !== undefined) draw.committee = { ...data, seq: event.seq };
      return;
    }
    const committed = event.type === "draw.committed";
    const key = committed ? "committed" : "revealed";
    draw[key] = [...new Set([...draw[key], data.participant])].sort();
    const store = committed ? "commitments" : "shares";
    if (draw[store]) draw[store][data.participant] = committed ? data.commitment : data.share;
  }

  const COMMITTEE_EVENTS = new Set([
    "chair.voted", "chair.round_ended", "chair.elected", "rejection.proposed", "rejection.approved",
    "rejection.declined", "rejection.voted", "rejection.decided", "time.requested", "time.extended",
    "flag.explained",
  ]);

  // Fold one committee event into a view, as server/domain/committee_views.py
  // apply_committee_view does (the public screen's view has no committee and skips them).
  function applyCommittee(view, event) {
    const com = view.committee;
    if (!com) return;
    const data = event.data;
    switch (event.type) {
      case "chair.voted":
        com.chair_votes[data.seat] = data.candidate;
        break;
      case "chair.round_ended":
        com.chair_votes = {};
        com.chair_round = data.round + 1;
        break;
      case "chair.elected":
        com.chair_votes = {};
        com.chair = data.seat;
        break;
      case "rejection.proposed":
        com.proposals[data.proposal] = {
          seat: data.seat, bidder: data.bidder, ground: data.ground, reason: data.reason,
          seq: event.seq, status: "proposed", votes: {},
        };
        break;
      case "rejection.approved":
      case "rejection.declined":
        com.proposals[data.proposal].status = event.type.split(".")[1];
        break;
      case "rejection.voted":
        com.proposals[data.proposal].votes[data.seat] = data.vote;
        break;
      case "rejection.decided":
        com.proposals[data.proposal].status = data.outcome;
        break;
      case "time.requested":
        com.time.requests.push(data.seat);
        break;
      case "time.extended":
        com.time = { round: data.round + 1, requests: [], extensions: com.time.extensions + 1 };
        break;
      case "flag.explained": {
        const pairs = (view.blind && view.blind.seats && view.blind.seats[data.seat]) || [];
        const bidder = data.bidder || (data.code && Object.fromEntries(pairs)[data.code]) || null;
        com.explanations.push({
          seat: data.seat, bidder, code: data.code || null, criterion: data.criterion,
          text: data.text, seq: event.seq,
        });
        break;
      }
      default:
        break;
    }
  }

  window.Evalroom.applyView = applyView;
})();
