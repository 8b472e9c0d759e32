// The participant's phone: shows the step the room is in and only what can be done now.
import { h, pageData, fmt, plural, byCategory, fillCategories, replaceChildren, say } from "./dom.js";
import { connect } from "./live.js";
import { renderResults } from "./results.js";

const page = pageData();
const M = page.messages;
const $ = (id) => document.getElementById(id);

let room = null;
let me = null;
// The participant's own ballot as they have set it here: { roundId, entries }. It wins over
// what the server last said while a submission is still on its way.
let ballot = { roundId: null, entries: {} };

const live = connect({
  code: page.code,
  view: "phone",
  messages: M,
  statusEl: $("connection"),
  onState(next) {
    room = next;
    render();
  },
  onMe(next, { pending }) {
    me = next;
    if (!pending.includes("ballot.submit")) adoptServerBallot();
    if (next.participant.nickname && document.activeElement !== $("nickname")) {
      $("nickname").value = next.participant.nickname;
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
  $("waiting").hidden = step !== "prepare";
  $("propose").hidden = step !== "complete";
  $("vote").hidden = !open;
  $("round-closed").hidden = round?.state !== "closed";
  $("waiting-vote").hidden = !["prune", "prioritise"].includes(step) || Boolean(round);
  $("waiting-vote-text").textContent = M.waiting_round;
  $("round-closed-text").textContent = M.round_closed;
  $("results").hidden = !room.results;
  $("closed").hidden = step !== "closed";
  $("factor-overview").hidden = open || Boolean(room.results) || step === "closed";
  if (step === "complete") renderPropose();
  if (open) renderVote(round);
  if (room.results) renderResults($("results-list"), room.results, M);
  renderFactors();
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
          f.description ? h("p", { class: "factor-description" }, f.description) : null))))));
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
  say(message, M.sending);
  const answer = await live.send("factor.propose", {
    title,
    description: form.description.value,
    category_id: Number(form.category_id.value),
  });
  if (answer.ok) {
    form.title.value = "";
    form.description.value = "";
    say(message, answer.data.status === "active" ? M.proposal_sent : M.proposal_waiting);
  } else {
    say(message, answer.error.message, "error");
  }
});

// --- Voting ---------------------------------------------------------------------------------

function votable() {
  return new Set(room.factors.map((f) => String(f.id)));
}

function currentEntries(round) {
  if (ballot.roundId !== round.id) ballot = { roundId: round.id, entries: {} };
  const ids = votable();
  return Object.fromEntries(Object.entries(ballot.entries).filter(([id]) => ids.has(id)));
}

function renderVote(round) {
  if ($("vote").dataset.round !== String(round.id)) {
    $("vote").dataset.round = round.id;
    say($("vote-message"), ""); // a new round starts with a clean slate
  }
  const entries = currentEntries(round);
  const dots = round.method === "dots";
  $("vote-heading").textContent = M.methods[round.method];
  $("vote-instruction").textContent = dots ? M.round_open_dots : M.round_open_keep;
  const budget = $("budget");
  budget.hidden = false;
  $("budget-note").hidden = !dots;
  if (dots) {
    const used = Object.values(entries).reduce((a, b) => a + b, 0);
    budget.textContent = fmt(M.dots_left, { left: round.settings.budget - used, budget: round.settings.budget });
    $("budget-note").textContent = fmt(M.cap_note, { cap: round.settings.cap });
  } else {
    budget.textContent = fmt(M.voted_progress, { done: Object.keys(entries).length, total: room.factors.length });
  }
  const groups = byCategory(room.categories, room.factors);
  replaceChildren($("vote-list"), groups.map(({ category, factors }) =>
    h("div", { class: "category-block" },
      h("h3", { class: "category-name" }, category.name),
      factors.map((f) => dots ? dotRow(f, entries, round) : keepRemoveRow(f, entries, round)))));
}

function keepRemoveRow(factor, entries, round) {
  const id = String(factor.id);
  const choice = entries[id];
  const button = (value, label) => h("button", {
    type: "button",
    class: value,
    "aria-pressed": String(choice === value),
    "data-key": `${id}:${value}`,
    onclick: () => {
      if (choice === value) delete ballot.entries[id];
      else ballot.entries[id] = value;
      submit(round);
    },
  }, label);
  return h("div", { class: "vote-row", role: "group", "aria-labelledby": `f-${id}` },
    h("div", {},
      h("span", { class: "factor-title", id: `f-${id}` }, factor.title),
      factor.description ? h("p", { class: "factor-description" }, factor.description) : null),
    h("div", { class: "choice-group" }, button("keep", M.keep), button("remove", M.remove)));
}

function dotRow(factor, entries, round) {
  const id = String(factor.id);
  const count = entries[id] ?? 0;
  const used = Object.values(entries).reduce((a, b) => a + b, 0);
  const change = (delta) => () => {
    const next = (ballot.entries[id] ?? 0) + delta;
    if (next > 0) ballot.entries[id] = next;
    else delete ballot.entries[id];
    submit(round);
  };
  return h("div", { class: "vote-row" },
    h("div", {},
      h("span", { class: "factor-title", id: `f-${id}` }, factor.title),
      factor.description ? h("p", { class: "factor-description" }, factor.description) : null),
    h("div", { class: "controls" },
      h("button", { type: "button", "data-key": `${id}:-`, "aria-label": fmt(M.remove_dot, { title: factor.title }),
        disabled: count === 0, onclick: change(-1) }, "−"),
      h("span", { class: "dot-count", "aria-label": plural(M.dots, count) }, count),
      h("button", { type: "button", "data-key": `${id}:+`, "aria-label": fmt(M.add_dot, { title: factor.title }),
        disabled: count >= round.settings.cap || used >= round.settings.budget, onclick: change(1) }, "+")));
}

async function submit(round) {
  const entries = currentEntries(round);
  ballot.entries = entries;
  render();
  const message = $("vote-message");
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

$("nickname-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  await live.send("participant.rename", { nickname: $("nickname").value });
});
