// The client's fold of viewed events (as server/domain/views.py apply_view, and the views of
// each concept it delegates to: committee, blind, report, roll-back, conduct, inspection, the
// expert draw, recusal and replacement, clarification, fees), per role: what a view holds
// depends on who folds it (staff, an expert, the public screen or a venue). Every page that
// follows the log loads it after common.js; tests/e2e/test_fold_browser.py keeps it equal to
// the server's state view for every event of a whole day and every role.
"use strict";

(function () {
  const FULL_ROLES = new Set(["supervisor", "auditor", "admin"]); // server/domain/roles.py FULL_VIEW_ROLES
  const PUBLIC_ROLES = new Set(["public", "venue"]); // PUBLIC_VIEW_ROLES
  const REVEALED_PHASES = new Set(["review", "closed"]); // server/domain/state.py

  // The role a view is folded for: an expert when it has a seat, else the role given (the
  // token's, common.js Stream), a full view when none is (the auditor page folds the whole log).
  function roleOf(ownSeat, role) {
    if (ownSeat) return "expert";
    return role || "auditor";
  }

  // session.created: every key as server/domain/views.py apply_view starts it for this role.
  function created(view, event, ownSeat, role) {
    const data = event.data;
    view.session = event.session || view.session;
    view.phase = "prepared";
    view.lot = data.lot;
    view.seats = {};
    view.cells = {};
    for (const s of data.seats) {
      const venue = s.slice(0, s.lastIndexOf("-"));
      const visible = role !== "expert" || s === ownSeat;
      view.seats[s] = visible
        ? { venue, enrolled: false, signed_in: false, submitted: false }
        : { venue, enrolled: null, signed_in: null, submitted: null };
      if (visible) view.cells[s] = {};
    }
    view.blind = null; // null until a draw or a report
    view.phase_times = { prepared: event.t };
    view.paused = null; // server/domain/pause.py: {since, seq, reason?, fault?, referred?} while paused
    view.sealed = null; // server/domain/sealing.py: {cause, since, seq} once sealed
    view.draw = null; // server/domain/draw_session.py: the expert draw, once opened
    view.replacements = []; // server/domain/recusal.py: [{seat, by, venue, seq}], every role
    if (PUBLIC_ROLES.has(role)) return;
    const chair = data.lot && data.lot.committee && data.lot.committee.chair;
    view.committee = {
      chair: data.seats.includes(chair) ? chair : null,
      chair_round: 1,
      chair_votes: {},
      proposals: {},
      time: { round: 1, requests: [], extensions: 0 },
      explanations: [],
    };
    view.report = null;
    view.rollbacks = {}; // server/domain/rollback_views.py
    view.recusals = {}; // staff: every recusal; an expert: its own
    view.clarifications = {}; // server/domain/clarification.py: members and staff
    if (!FULL_ROLES.has(role)) return;
    view.conduct = { records: {}, ratings: {} }; // server/domain/conduct.py (staff views only)
    view.inspection = []; // server/domain/inspection.py (staff views only)
    view.fees = null; // server/domain/fees.py: fees.computed, with the seal (staff views only)
  }

  // Fold one viewed event into a view, as server/domain/views.py apply_view does. ownSeat: an
  // expert's seat; role: the viewer's role when not an expert (see roleOf).
  function applyView(view, event, ownSeat, role) {
    view.seq = event.seq;
    const kind = event.type;
    const data = event.data;
    if (kind === "hidden" || !data) return;
    const who = roleOf(ownSeat, role);
    const full = FULL_ROLES.has(who);
    if (kind === "session.created") {
      created(view, event, ownSeat, who);
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
        const { misconduct, seat: target, category, note } = data;
        view.conduct.records[misconduct] = { seat: target, category, note, evidence: { ...(data.evidence || {}) }, by: event.actor, seq: event.seq };
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
    } else if (kind === "fees.computed") {
      if ("fees" in view) view.fees = { ...data, seq: event.seq }; // staff views only
    } else if (kind === "blind.assigned" || kind === "blind.revealed") {
      applyBlind(view, kind, data, full);
    } else if (kind === "report.issued") {
      view.report = { hash: data.report, content: data.content, bytes: data.bytes, signatures: {} };
    } else if (kind === "report.signed") {
      if (view.report) view.report.signatures[seat] = { seq: event.seq, dissent: data.dissent != null ? data.dissent : null };
    } else if (DRAW_EVENTS.has(kind)) {
      if (who !== "expert") applyDraw(view, event);
    } else if (CLARIFICATION_EVENTS.has(kind)) {
      applyClarification(view, event);
    } else if (RECUSAL_EVENTS.has(kind)) {
      // The new seat's own page sees its own seat as any seat does (state_view's rule; the
      // server's apply_recusal_view leaves it unseen, reported).
      const visible = full || PUBLIC_ROLES.has(who) || REVEALED_PHASES.has(view.phase) || data.by === ownSeat;
      applyRecusal(view, event, visible);
    } else if (COMMITTEE_EVENTS.has(kind)) {
      applyCommittee(view, event);
    } else if (kind === "score.set") {
      const cell = { seq: event.seq };
      if ("value" in data) {
        cell.value = data.value;
        if (data.comment != null) cell.comment = data.comment;
      }
      // A blind score names the seat's code; whoever holds the mapping (staff) files it by bidder.
      let head = data.bidder || data.code;
      if (!data.bidder && full) {
        const pairs = (view.blind && view.blind.seats && view.blind.seats[seat]) || [];
        head = Object.fromEntries(pairs)[data.code] || data.code;
      }
      view.cells = view.cells || {};
      view.cells[seat] = view.cells[seat] || {};
      view.cells[seat][`${head}/${data.criterion}`] = cell;
    }
  }

  // As server/domain/blind_views.py apply_blind_view: on the reveal, a view that held blind cells
  // under a seat's codes files them under the bidders (a full view already holds them so).
  function applyBlind(view, kind, data, full) {
    view.blind = { revealed: kind === "blind.revealed", seats: data.seats };
    if (kind !== "blind.revealed" || full) return;
    for (const [s, cells] of Object.entries(view.cells || {})) {
      const bidderOf = Object.fromEntries(data.seats[s] || []);
      for (const key of Object.keys(cells)) {
        const at = key.indexOf("/");
        const head = key.slice(0, at);
        if (bidderOf[head]) {
          cells[`${bidderOf[head]}${key.slice(at)}`] = cells[key];
          delete cells[key];
        }
      }
    }
    for (const item of (view.committee && view.committee.explanations) || []) {
      if (item.code != null && item.bidder == null) item.bidder = Object.fromEntries(data.seats[item.seat] || [])[item.code] || null;
    }
  }

  const CLARIFICATION_EVENTS = new Set([
    "clarification.drafted", "clarification.approved", "clarification.declined", "clarification.answered",
  ]);

  // As server/domain/clarification.py apply_clarification_view (members and staff; the public
  // screen's view has no clarifications and its events are hidden).
  function applyClarification(view, event) {
    const all = view.clarifications;
    const data = event.data;
    if (!all) return;
    if (event.type === "clarification.drafted") {
      all[data.clarification] = {
        seat: data.seat, bidder: data.bidder, question: data.question, seq: event.seq, status: "drafted", answer: null,
      };
      return;
    }
    const found = all[data.clarification];
    if (!found) return;
    found.status = event.type.split(".")[1];
    if (event.type === "clarification.answered") found.answer = data.answer;
    else if (event.type === "clarification.declined") found.answer = data.reason; // why it was not sent
  }

  const RECUSAL_EVENTS = new Set(["recusal.declared", "recusal.declined", "seat.replaced"]);

  // As server/domain/recusal.py apply_recusal_view: a seat's declaration and the decision; on
  // seat.replaced the recused seat leaves seats and cells and its committee acts of the moment
  // go; visible: whether this viewer sees other seats' progress (staff, the public screen, every
  // member once the results are revealed).
  function applyRecusal(view, event, visible) {
    const data = event.data;
    const recusals = view.recusals;
    if (event.type === "recusal.declared") {
      if (recusals) recusals[data.recusal] = { seat: data.seat, reason: data.reason, status: "declared", seq: event.seq };
      return;
    }
    const found = recusals ? recusals[data.recusal] : undefined;
    if (event.type === "recusal.declined") {
      if (found) found.status = "declined";
      return;
    }
    if (found) found.status = "approved";
    const { seat, by } = data;
    delete view.seats[seat];
    delete view.cells[seat];
    const flag = visible ? false : null;
    view.seats[by] = { venue: data.venue, enrolled: flag, signed_in: flag, submitted: flag };
    if (visible) view.cells[by] = {};
    view.replacements = view.replacements || [];
    view.replacements.push({ seat, by, venue: data.venue, seq: event.seq });
    const com = view.committee;
    if (!com) return;
    if (com.chair === seat) com.chair = null;
    com.chair_votes = Object.fromEntries(Object.entries(com.chair_votes).filter(([s, c]) => s !== seat && c !== seat));
    for (const proposal of Object.values(com.proposals)) delete proposal.votes[seat];
    com.time.requests = com.time.requests.filter((s) => s !== seat);
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
