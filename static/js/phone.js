// The participant's phone (or the facilitator voting for a proxy): shows the step the room is
// in and only what can be done now. Every vote sends the whole ballot again.
import { h, pageData, fmt, plural, byCategory, fillCategories, replaceChildren, say } from "./dom.js";
import { showCountdown } from "./countdown.js";
import { connect } from "./live.js";
import { orderSeed, ownOrder } from "./order.js";
import { reasonList, previousSummary, renderResults } from "./results.js";
import { renderOutside } from "./reasons.js";
import { roundAnnouncer } from "./announce.js";
import { alike } from "./similar.js";

const page = pageData();
const M = page.messages;
const $ = (id) => document.getElementById(id);
// The evidence behind factors that came from a series' library, shown on request; which
// ones are open survives the list being drawn again.
const EVIDENCE = JSON.parse(document.getElementById("evidence-data")?.textContent || "{}");
const openEvidence = new Set();
// A screen reader hears a round open, close or be revealed, once each.
const announceRound = roundAnnouncer($("round-announcement"), M);

function evidence(factorId) {
  const items = EVIDENCE.factors?.[String(factorId)];
  if (!items?.length) return null;
  return h("details", {
    class: "evidence", open: openEvidence.has(factorId), "data-key": `evidence:${factorId}`,
    ontoggle: (event) => (event.target.open ? openEvidence.add(factorId) : openEvidence.delete(factorId)),
  }, h("summary", {}, EVIDENCE.label),
  h("ul", {}, items.map((e) => h("li", {},
    e.url ? h("a", { href: e.url, rel: "noopener noreferrer", target: "_blank" }, e.text) : e.text))));
}
// The facilitator's preview: the room as phones see it, through the board's connection;
// answers are shown here but never sent.
const preview = page.view === "preview";

let room = null;
let me = null;
// The round the phone last saw: a new one brings a new ballot (and the one it revises).
let seenRound = null;
// The round last seen revealed: a reveal may tell this phone its answer lay outside the
// middle half (`me.outside`), which only `me` carries.
let seenReveal = null;
// The methods whose answers have a middle half (core/reasons.py).
const QUARTILE_METHODS = ["rating", "points", "matrix"];
// The participant's own ballot as they have set it here: { roundId, entries }. It wins over
// what the server last said while a submission is still on its way.
let ballot = { roundId: null, entries: {} };

const live = connect({
  code: page.code,
  view: preview ? "board" : page.view,
  auth: page.proxy ? { proxy: page.proxy } : {},
  messages: M,
  statusEl: $("connection"),
  // A newcomer at closed doors is told so plainly, not only in the status line.
  onRefused(code) {
    $("doors-closed").hidden = code !== "doors_closed";
    // Nobody new to name while the doors are closed.
    if (code === "doors_closed") document.querySelector(".nickname")?.setAttribute("hidden", "");
  },
  onState(next) {
    const first = room === null;
    room = next;
    $("doors-closed").hidden = true;
    if (!preview && (next.round?.id ?? null) !== seenRound) {
      seenRound = next.round?.id ?? null;
      // A Delphi round shows one's own previous answer, which only `me` carries. Spread the
      // room's requests over two seconds instead of all phones asking at once.
      if (next.previous) setTimeout(live.resync, Math.random() * 2000);
    }
    const revealed = next.round?.state === "revealed" ? next.round.id : null;
    if (!preview && revealed !== null && revealed !== seenReveal) {
      seenReveal = revealed;
      // The first state came with `me`; after a reveal, ask within two random seconds.
      if (!first && QUARTILE_METHODS.includes(next.round.method)) setTimeout(live.resync, Math.random() * 2000);
    }
    render();
    announceRound(next);
  },
  onMe(next, { pending }) {
    me = next;
    if (!pending.includes("ballot.submit")) adoptServerBallot();
    // A proxy's page has no nickname field (its label is the facilitator's).
    const nickname = $("nickname");
    if (nickname && next.participant.nickname && document.activeElement !== nickname) {
      nickname.value = next.participant.nickname;
    }
    render();
  },
});

function adoptServerBallot() {
  if (me?.ballot) ballot = { roundId: me.ballot.round_id, entries: { ...me.ballot.entries } };
  else ballot = { roundId: room?.round?.id ?? null, entries: {} };
}

function render() {
  if (!room) return;
  const step = room.workshop.step;
  const round = room.round;
  const open = round?.state === "open";
  document.title = `${room.workshop.title} · Samsyn`;
  $("workshop-title").textContent = room.workshop.title;
  $("step-name").textContent = M.steps[step];
  showCountdown($("countdown"), room, M);
  $("waiting").hidden = step !== "prepare";
  $("propose").hidden = step !== "complete" || Boolean(page.proxy);
  $("vote").hidden = !open;
  $("round-closed").hidden = round?.state !== "closed";
  $("waiting-vote").hidden = !["prune", "prioritise"].includes(step) || Boolean(round);
  $("waiting-vote-text").textContent = M.waiting_round;
  $("round-closed-text").textContent = M.round_closed;
  $("results").hidden = !room.results;
  $("closed").hidden = step !== "closed";
  // Nothing changes in a closed workshop, a nickname included.
  document.querySelector(".nickname")?.toggleAttribute("hidden", step === "closed");
  $("factor-overview").hidden = open || Boolean(room.results) || step === "closed";
  renderGroup();
  // Where the workshop asks for a group, voting waits until one is chosen.
  if (mustChooseGroup()) $("vote").hidden = true;
  if (step === "complete") renderPropose();
  if (open && !mustChooseGroup()) renderVote(round);
  if (room.results) {
    renderResults($("results-body"), room.results,
      { M, rounds: room.history, groups: room.groups, reasons: room.reasons });
  }
  // A proxy's answers are the facilitator's entries: a reason is the person's own to give.
  if (!preview && !page.proxy) renderOutside($("outside"), $("outside-list"), { room, me, M, send: live.send });
  renderFactors();
  renderPolicy();
}

/** The facilitator's moderation policy, as written, in its fold-out (hidden when none). */
function renderPolicy() {
  const policy = room.workshop.moderation_policy ?? "";
  $("moderation-policy").hidden = !policy;
  if ($("moderation-policy-text").textContent !== policy) $("moderation-policy-text").textContent = policy;
}

// --- The stakeholder group -------------------------------------------------------------------

const G = M.group;
let groupDrawn = null;
let groupEditing = false;
let groupDeclined = false;

function mustChooseGroup() {
  return Boolean(me && room.workshop.group_required && room.groups.length && me.group_id === null
    && !page.proxy && !preview);
}

/** Which group the participant is in: asked until they choose (or, where allowed, decline),
 * then one line, with a way to change it until they vote. */
function renderGroup() {
  const panel = $("group");
  if (!panel) return;
  const shown = Boolean(me && room.groups.length) && room.workshop.step !== "closed";
  panel.hidden = !shown;
  if (!shown) return;
  const asking = !me.group_fixed && (groupEditing || (me.group_id === null && !groupDeclined));
  const signature = JSON.stringify([room.groups, room.workshop.group_required, me.group_id, me.group_fixed, asking]);
  if (signature === groupDrawn) return;
  groupDrawn = signature;
  const current = room.groups.find((g) => g.id === me.group_id);
  $("group-heading").textContent = G.heading;
  if (!asking) {
    replaceChildren($("group-body"), [
      h("p", {}, current ? fmt(G.chosen, { group: current.name }) : G.none),
      me.group_fixed ? h("p", { class: "hint" }, G.fixed)
        : h("button", { type: "button", onclick: () => { groupEditing = true; renderGroup(); } }, G.change),
    ]);
    return;
  }
  const options = room.groups.map((g) => [String(g.id), g.name]);
  if (!room.workshop.group_required) options.push(["", G.none]);
  replaceChildren($("group-body"), h("form", { class: "stack", onsubmit: chooseGroup },
    h("fieldset", { class: "choices" },
      h("legend", { class: "visually-hidden" }, G.heading),
      options.map(([value, name]) => h("label", { class: "choice" },
        h("input", { type: "radio", name: "group", value, checked: value === String(me.group_id ?? "") && (value !== "" || groupDeclined) }),
        ` ${name}`))),
    h("p", { class: "hint" }, room.workshop.group_required ? `${G.required} ${G.why}` : G.why),
    h("button", { type: "submit", class: "primary" }, G.save)));
}

async function chooseGroup(event) {
  event.preventDefault();
  const checked = event.target.querySelector('input[name="group"]:checked');
  if (!checked) return;
  const picked = checked.value;
  const answer = await live.send("group.choose", { group_id: picked ? Number(picked) : null });
  if (!answer.ok) {
    say($("group-message"), fmt(M.error, { message: answer.error.message }), "error");
    return;
  }
  groupEditing = false;
  groupDeclined = !picked;
  say($("group-message"), M.saved);
  render();
}

function renderFactors() {
  const groups = byCategory(room.categories, room.factors);
  if (!groups.length) {
    replaceChildren($("factor-list"), h("p", {}, M.no_factors));
    return;
  }
  replaceChildren($("factor-list"), groups.map(({ category, factors }) =>
    h("div", { class: "category-block" },
      h("h3", { class: "category-name" }, category.name),
      h("ul", { class: "plain" }, factors.map((f) =>
        h("li", { class: "factor-item" },
          h("span", { class: "factor-title" }, f.title),
          f.description ? h("p", { class: "factor-description" }, f.description) : null,
          evidence(f.id)))))));
}

function renderPropose() {
  fillCategories($("propose-category"), room.categories);
  const proposals = me?.proposals ?? [];
  $("my-proposals").hidden = !proposals.length;
  replaceChildren($("my-proposals-list"), proposals.map((p) =>
    h("li", { class: "factor-item" },
      h("span", { class: "factor-title" }, p.title),
      h("span", { class: "status-tag" }, M.status[p.status]),
      p.removal_reason ? h("p", { class: "factor-description" }, fmt(M.reason, { reason: p.removal_reason })) : null)));
}

// --- Factors alike what is being proposed ----------------------------------------------------

// Matched here, on the titles the phone holds: a room of phones typing sends the server
// nothing. A short pause after the last key, so that a slow phone does not match every key.
const ALIKE_PAUSE_MS = 250;
let alikeTimer = null;
let alikeShown = "";

/** Show the factors on the board that look like the title typed (or none). */
function showAlike() {
  const typed = $("propose-title").value;
  const own = (me?.proposals ?? []).filter((p) => p.status === "proposed").map((p) => ({ id: p.id, title: p.title }));
  const found = typed.trim() ? alike(typed, [...room.factors, ...own]) : [];
  const signature = found.map((f) => f.factor.id).join(",");
  if (signature === alikeShown) return; // unchanged: nothing new to read out
  alikeShown = signature;
  $("propose-alike").hidden = !found.length;
  replaceChildren($("propose-alike-list"), found.map(({ factor }) => h("li", { class: "factor-item" },
    h("span", { class: "factor-title" }, factor.title),
    h("button", { type: "button", class: "alike-choose", "data-key": `alike:${factor.id}`,
      "aria-label": fmt(M.alike_choose_label, { title: factor.title }),
      onclick: () => chooseAlike(factor) }, M.alike_choose))));
}

/** The person found theirs on the board: nothing to propose. */
function chooseAlike(factor) {
  const form = $("propose-form");
  form.title.value = "";
  form.description.value = "";
  showAlike();
  say($("propose-message"), fmt(M.alike_chosen, { title: factor.title }));
  form.title.focus();
}

$("propose-title").addEventListener("input", () => {
  clearTimeout(alikeTimer);
  alikeTimer = setTimeout(showAlike, ALIKE_PAUSE_MS);
});

$("propose-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const title = form.title.value.trim();
  const message = $("propose-message");
  if (!title) {
    form.title.setAttribute("aria-invalid", "true");
    form.title.focus();
    return;
  }
  form.title.removeAttribute("aria-invalid");
  if (preview) {
    say(message, M.preview_not_sent);
    return;
  }
  say(message, M.sending);
  const answer = await live.send("factor.propose", {
    title,
    description: form.description.value,
    category_id: Number(form.category_id.value),
  });
  if (answer.ok) {
    form.title.value = "";
    form.description.value = "";
    showAlike();
    say(message, answer.data.status === "active" ? M.proposal_sent : M.proposal_waiting);
  } else {
    say(message, answer.error.message, "error");
  }
});

// --- Voting ---------------------------------------------------------------------------------

/** The factors this participant proposed, when the round leaves them to the others. The
 * facilitator's preview has no participant, so it has none. */
function ownFactors(round) {
  if (!round.settings.no_own_votes) return new Set();
  return new Set((me?.proposals ?? []).map((p) => String(p.id)));
}

function votable(round) {
  const own = ownFactors(round);
  return new Set(room.factors.map((f) => String(f.id)).filter((id) => !own.has(id)));
}

/** The categories and factors as this phone lists them in the round: in its own order
 * (order.js) when the round shuffles, else as on the board. The preview keeps the board's,
 * and so does a proxy's page: the facilitator enters answers given on paper or aloud, in
 * the board's order. */
function listed(round) {
  if (!round.settings.shuffle || !me || page.proxy) return { categories: room.categories, factors: room.factors };
  return ownOrder(orderSeed(room.workshop.code, me.participant.number), room.categories, room.factors);
}

function currentEntries(round) {
  if (ballot.roundId !== round.id) ballot = { roundId: round.id, entries: {} };
  const ids = votable(round);
  const entries = Object.fromEntries(Object.entries(ballot.entries).filter(([id]) => ids.has(id)));
  return round.method === "ranking" ? renumber(entries) : entries;
}

/** Places 1, 2, 3 … in the same order (after a factor left the board, or one was taken out). */
function renumber(entries) {
  const order = Object.keys(entries).sort((a, b) => entries[a] - entries[b]);
  return Object.fromEntries(order.map((id, i) => [id, i + 1]));
}

const INSTRUCTIONS = {
  keep_remove: "round_open_keep",
  dots: "round_open_dots",
  points: "round_open_points",
  rating: "round_open_rating",
  ranking: "round_open_ranking",
  matrix: "round_open_matrix",
};

function renderVote(round) {
  if ($("vote").dataset.round !== String(round.id)) {
    $("vote").dataset.round = round.id;
    say($("vote-message"), ""); // a new round starts with a clean slate
  }
  const entries = currentEntries(round);
  const settings = round.settings;
  $("vote-heading").textContent = M.methods[round.method];
  $("vote-instruction").textContent = fmt(M[INSTRUCTIONS[round.method]], settings);
  $("budget").textContent = progressText(round, entries);
  $("budget-note").textContent = ["dots", "points"].includes(round.method) && settings.cap ? fmt(M.cap_note, settings)
    : ["rating", "matrix"].includes(round.method) ? fmt(M.scale_legend, settings) : "";
  $("budget-note").hidden = !$("budget-note").textContent;
  const previous = me?.previous_ballot?.entries ?? {};
  const reuse = Object.keys(previous).length > 0 && Object.keys(entries).length === 0;
  const parts = [];
  if (room.previous) parts.push(h("p", { class: "hint" }, M.delphi_note));
  if (reuse) {
    parts.push(h("button", { type: "button", class: "reuse", "data-key": "reuse",
      onclick: () => { ballot.entries = { ...previous }; submit(round); } }, M.reuse_previous));
  }
  if (round.method === "ranking") {
    parts.push(rankingBlock(round, entries));
  } else {
    const rows = { keep_remove: keepRemoveRow, dots: dotRow, points: pointRow, rating: ratingRow, matrix: matrixRow }[round.method];
    const own = ownFactors(round);
    const { categories, factors: shown } = listed(round);
    for (const { category, factors } of byCategory(categories, shown)) {
      parts.push(h("div", { class: "category-block" },
        h("h3", { class: "category-name" }, category.name),
        factors.map((f) => (own.has(String(f.id)) ? ownRow(f, round) : rows(f, entries, round)))));
    }
  }
  replaceChildren($("vote-list"), parts);
}

function progressText(round, entries) {
  const given = Object.keys(entries).length;
  if (round.method === "dots") {
    const used = Object.values(entries).reduce((a, b) => a + b, 0);
    return fmt(M.dots_left, { left: round.settings.budget - used, budget: round.settings.budget });
  }
  if (round.method === "points") {
    const left = round.settings.budget - Object.values(entries).reduce((a, b) => a + b, 0);
    return plural(M.points_left, left);
  }
  if (round.method === "ranking") return fmt(M.ranked_of, { n: given, top_k: round.settings.top_k });
  return fmt(M.voted_progress, { done: given, total: votable(round).size });
}

/** A factor's title and description, and in a Delphi round what the group and you said. */
function factorHead(factor, round) {
  const id = String(factor.id);
  const hints = [];
  const group = room.previous ? previousSummary(room.previous, factor.id, M) : null;
  if (group) hints.push(fmt(M.group_last_time, { summary: group }));
  const own = me?.previous_ballot?.entries?.[id];
  if (own !== undefined) hints.push(fmt(M.you_last_time, { answer: answerText(round.method, own) }));
  return h("div", {},
    h("span", { class: "factor-title", id: `f-${id}` }, factor.title),
    factor.description ? h("p", { class: "factor-description" }, factor.description) : null,
    evidence(factor.id),
    hints.length ? h("p", { class: "delphi" }, hints.join(" · ")) : null,
    // What those who answered outside the middle half said last time, without their names.
    room.previous ? reasonList(room.reasons, room.previous.round_id, factor.id, M) : null);
}

function answerText(method, answer) {
  if (method === "keep_remove") return M[answer];
  if (method === "dots") return plural(M.dots, answer);
  if (method === "points") return plural(M.points, answer);
  if (method === "rating") return answer === "no_opinion" ? M.no_opinion : String(answer);
  if (method === "ranking") return fmt(M.place, { rank: answer });
  return fmt(M.matrix_answer, { impact: answer[0], uncertainty: answer[1] });
}

/** A factor of one's own in a round that leaves it to the others: said, with nothing to press. */
function ownRow(factor, round, tag = "div") {
  return h(tag, { class: "vote-row own-factor" },
    factorHead(factor, round),
    h("p", { class: "status-tag" }, M.own_proposal));
}

function choice(id, value, label, pressed, onPress, extra = {}) {
  return h("button", {
    type: "button", "aria-pressed": String(pressed), "data-key": `${id}:${value}`,
    onclick: onPress, ...extra,
  }, label);
}

function setEntry(round, id, value) {
  if (value === undefined) delete ballot.entries[id];
  else ballot.entries[id] = value;
  submit(round);
}

function keepRemoveRow(factor, entries, round) {
  const id = String(factor.id);
  const button = (value) => choice(id, value, M[value], entries[id] === value,
    () => setEntry(round, id, entries[id] === value ? undefined : value), { class: value });
  return h("div", { class: "vote-row", role: "group", "aria-labelledby": `f-${id}` },
    factorHead(factor, round),
    h("div", { class: "choice-group" }, button("keep"), button("remove")));
}

function dotRow(factor, entries, round) {
  const id = String(factor.id);
  const count = entries[id] ?? 0;
  const used = Object.values(entries).reduce((a, b) => a + b, 0);
  const change = (delta) => () => setEntry(round, id, count + delta > 0 ? count + delta : undefined);
  return h("div", { class: "vote-row" },
    factorHead(factor, round),
    h("div", { class: "controls" },
      h("button", { type: "button", "data-key": `${id}:-`, "aria-label": fmt(M.remove_dot, { title: factor.title }),
        disabled: count === 0, onclick: change(-1) }, "−"),
      h("span", { class: "dot-count", "aria-label": plural(M.dots, count) }, count),
      h("button", { type: "button", "data-key": `${id}:+`, "aria-label": fmt(M.add_dot, { title: factor.title }),
        disabled: count >= round.settings.cap || used >= round.settings.budget, onclick: change(1) }, "+")));
}

// A number being typed into a points field, kept while the page is drawn again (another
// phone's vote redraws it) until the field reports the change.
let pointDraft = null;

/** Points in steps of ten with the buttons, or any whole number typed in the field; what the
 * cap and the points left allow bounds both. */
function pointRow(factor, entries, round) {
  const id = String(factor.id);
  const count = entries[id] ?? 0;
  const used = Object.values(entries).reduce((a, b) => a + b, 0);
  const most = Math.min(round.settings.cap ?? round.settings.budget, count + round.settings.budget - used);
  const put = (value) => setEntry(round, id, value > 0 ? value : undefined);
  const key = `${id}:n`;
  const typed = (event) => {
    pointDraft = null;
    const value = Number(event.target.value || 0);
    if (!Number.isInteger(value)) {
      say($("vote-message"), M.points_whole, "error");
      event.target.value = count;
      return;
    }
    // Below 0, past the cap or past the budget: the server says which rule it breaks.
    put(value);
  };
  return h("div", { class: "vote-row" },
    factorHead(factor, round),
    h("div", { class: "controls points" },
      h("button", { type: "button", "data-key": `${id}:-`, "aria-label": fmt(M.remove_points, { title: factor.title }),
        disabled: count === 0, onclick: () => put(Math.max(0, count - 10)) }, "−10"),
      // A text field for digits, not type=number: its caret and selection survive a redraw
      // (dom.js; a number field has neither to read), and it has no spinner or scroll
      // wheel to change a vote by accident.
      h("input", { type: "text", class: "point-count", "data-key": key, inputmode: "numeric",
        autocomplete: "off", value: pointDraft?.key === key ? pointDraft.value : count,
        "aria-label": fmt(M.points_for, { title: factor.title }), onchange: typed,
        oninput: (event) => { pointDraft = { key, value: event.target.value }; } }),
      h("button", { type: "button", "data-key": `${id}:+`, "aria-label": fmt(M.add_points, { title: factor.title }),
        disabled: count >= most, onclick: () => put(Math.min(count + 10, most)) }, "+10")));
}

function scaleButtons(id, prefix, scale, current, labelOf, onPick) {
  const buttons = [];
  for (let value = 1; value <= scale; value += 1) {
    buttons.push(choice(`${id}:${prefix}`, value, value, current === value,
      () => onPick(current === value ? undefined : value), { "aria-label": labelOf(value) }));
  }
  return buttons;
}

function ratingRow(factor, entries, round) {
  const id = String(factor.id);
  const current = entries[id];
  const scale = round.settings.scale;
  const pick = (value) => setEntry(round, id, value);
  return h("div", { class: "vote-row scale-row", role: "group", "aria-labelledby": `f-${id}` },
    factorHead(factor, round),
    h("div", { class: "scale-group" },
      scaleButtons(id, "r", scale, current,
        (value) => fmt(M.rate_as, { value, scale, title: factor.title }), pick),
      choice(id, "none", M.no_opinion, current === "no_opinion",
        () => pick(current === "no_opinion" ? undefined : "no_opinion"), { class: "no-opinion" })));
}

function matrixRow(factor, entries, round) {
  const id = String(factor.id);
  const [impact, uncertainty] = entries[id] ?? [undefined, undefined];
  const scale = round.settings.scale;
  // A matrix answer needs both numbers: the half chosen first waits here until the other is.
  const pending = (matrixDraft[id] ??= {});
  const chosen = { impact: impact ?? pending.impact, uncertainty: uncertainty ?? pending.uncertainty };
  const pick = (axis) => (value) => {
    chosen[axis] = value;
    matrixDraft[id] = { ...chosen };
    if (chosen.impact && chosen.uncertainty) setEntry(round, id, [chosen.impact, chosen.uncertainty]);
    else {
      if (entries[id]) setEntry(round, id, undefined);
      else render();
    }
  };
  const axis = (name) => h("div", { class: "axis" },
    h("span", { class: "axis-name", id: `f-${id}-${name}` }, M[name]),
    h("div", { class: "scale-group", role: "group", "aria-labelledby": `f-${id} f-${id}-${name}` },
      scaleButtons(id, name, scale, chosen[name],
        (value) => fmt(M.axis_as, { axis: M[name], value, scale, title: factor.title }), pick(name))));
  return h("div", { class: "vote-row scale-row" }, factorHead(factor, round), axis("impact"), axis("uncertainty"));
}
const matrixDraft = {};

function rankingBlock(round, entries) {
  const order = Object.keys(entries).sort((a, b) => entries[a] - entries[b]);
  const byId = new Map(room.factors.map((f) => [String(f.id), f]));
  const full = order.length >= round.settings.top_k;
  const move = (id, delta) => () => {
    const next = [...order];
    const i = next.indexOf(id);
    [next[i], next[i + delta]] = [next[i + delta], next[i]];
    ballot.entries = Object.fromEntries(next.map((f, place) => [f, place + 1]));
    submit(round);
  };
  const ranked = h("ol", { class: "ranking" }, order.map((id, i) => {
    const factor = byId.get(id);
    return h("li", { class: "vote-row" },
      factorHead(factor, round),
      h("div", { class: "controls" },
        h("button", { type: "button", "data-key": `${id}:up`, disabled: i === 0,
          "aria-label": fmt(M.move_up, { title: factor.title }), onclick: move(id, -1) }, "↑"),
        h("button", { type: "button", "data-key": `${id}:down`, disabled: i === order.length - 1,
          "aria-label": fmt(M.move_down, { title: factor.title }), onclick: move(id, 1) }, "↓"),
        h("button", { type: "button", "data-key": `${id}:out`,
          "aria-label": fmt(M.unrank, { title: factor.title }),
          onclick: () => { delete ballot.entries[id]; ballot.entries = renumber(ballot.entries); submit(round); } }, "×")));
  }));
  // The pool keeps the phone's own order (not grouped by category: a ranking is one list).
  const own = ownFactors(round);
  const unranked = listed(round).factors.filter((f) => !(String(f.id) in entries));
  return h("div", {},
    h("h3", { class: "category-name" }, M.your_ranking),
    order.length ? ranked : h("p", { class: "hint" }, fmt(M.ranking_empty, round.settings)),
    h("h3", { class: "category-name" }, M.not_ranked),
    h("ul", { class: "plain" }, unranked.map((f) => (own.has(String(f.id))
      ? ownRow(f, round, "li")
      : h("li", { class: "vote-row" },
        factorHead(f, round),
        h("button", { type: "button", "data-key": `${f.id}:add`, disabled: full,
          "aria-label": fmt(M.rank_add, { title: f.title }),
          onclick: () => setEntry(round, String(f.id), order.length + 1) }, M.add_to_ranking))))));
}

async function submit(round) {
  const entries = currentEntries(round);
  ballot.entries = entries;
  render();
  const message = $("vote-message");
  if (preview) {
    say(message, M.preview_not_sent);
    return;
  }
  say(message, M.sending);
  const answer = await live.send("ballot.submit", { round_id: round.id, entries },
    { replaces: (payload) => payload.round_id === round.id });
  if (answer.superseded) return;
  if (answer.ok) {
    if (!live.pending("ballot.submit")) say(message, M.saved);
  } else {
    say(message, answer.error.message, "error");
    // What the server holds is the truth: show it again.
    adoptServerBallot();
    live.resync();
    render();
  }
}

$("nickname-form")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  await live.send("participant.rename", { nickname: $("nickname").value });
});
