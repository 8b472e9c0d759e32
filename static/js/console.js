// The facilitator's console: steps, voting rounds, moderation, factors and categories.
import { h, pageData, fmt, plural, byCategory, fillCategories, replaceChildren, say } from "./dom.js";
import { percent } from "./dom.js";
import { showCountdown } from "./countdown.js";
import { exportLinks } from "./exports.js";
import { connect } from "./live.js";
import { renderResults, resultsHeading, trajectoryTable } from "./results.js";

const page = pageData();
const M = page.messages;
const C = M.console;
const $ = (id) => document.getElementById(id);
const STEPS = ["prepare", "complete", "prune", "prioritise", "results", "closed"];

let room = null;
// What each part was last drawn from: a part is redrawn only when its data changed, so that
// a stream of votes does not reset a form being filled in or move the keyboard focus.
const drawn = new Map();

function changed(part, ...data) {
  const signature = JSON.stringify(data);
  if (drawn.get(part) === signature) return false;
  drawn.set(part, signature);
  return true;
}

const live = connect({
  code: page.code,
  view: "console",
  messages: M,
  statusEl: $("connection"),
  onState(next) {
    room = next;
    render();
  },
});

/** Send a command; report a refusal next to where it was asked for. */
async function command(name, payload, messageEl = $("connection")) {
  const answer = await live.send(name, payload);
  if (!answer.ok) say(messageEl, fmt(M.error, { message: answer.error.message }), "error");
  return answer;
}

function render() {
  $("workshop-title").textContent = room.workshop.title;
  document.title = `${room.workshop.title} · Samsyn`;
  $("approval-required").checked = room.workshop.approval_required;
  showCountdown($("countdown"), room, M);
  const proxies = room.proxies.length;
  $("people-joined").textContent = proxies
    ? `${room.participation.joined} (${plural(C.of_them_proxies, proxies)})` : String(room.participation.joined);
  $("people-present").textContent = String(room.connected);
  $("doors-closed").checked = room.workshop.doors_closed;
  fillCategories($("add-category"), room.categories);
  if (changed("steps", room.workshop.step, room.round?.state)) renderSteps();
  const open = room.round?.state === "open";
  if (changed("round", room.workshop.step, room.round, room.results, open && room.participation,
    room.factors.length, room.reasons, room.dot_defaults, room.trajectory)) renderRound();
  if (changed("reasons", room.reasons, room.factors)) renderReasons();
  if (changed("factors", room.factors, room.categories)) {
    renderModeration();
    renderFactors();
  }
  if (changed("voted-out", room.factors, room.round, room.results)) renderVotedOut();
  if (changed("duplicates", room.duplicates, room.factors)) renderDuplicates();
  if (changed("proxies", room.proxies)) renderProxies();
  if (savedGroups && savedGroups.every((g) => room.groups.some((r) => r.id === g.id))) savedGroups = null;
  // Not while a name is being typed; the next state after that draws it.
  const typingGroup = document.activeElement?.matches?.("#groups-form input:not([type=checkbox])");
  if (!typingGroup && changed("groups", room.groups, room.workshop.group_required,
    room.workshop.groups_shown)) renderGroups();
  if (changed("rule", room.rule) && !$("rule-form").contains(document.activeElement)) {
    $("rule-preset").value = room.rule.preset;
    $("rule-agreement").value = Math.round(room.rule.agreement * 100);
    $("rule-w").value = room.rule.kendall_w;
    $("rule-iqr").value = room.rule.iqr;
    $("rule-share").value = Math.round(room.rule.min_share * 100);
    $("rule-fewest").value = room.rule.min_answers;
    $("rule-every-group").checked = room.rule.every_group;
    $("rule-stable").value = Math.round(room.rule.stable_change * 100);
    $("rule-max-rounds").value = room.rule.max_rounds ?? 0;
  }
  // A round whose results were seen is judged anew only when the facilitator says so.
  $("rule-apply-row").hidden = !(room.round && (room.round.state !== "open" || room.round.settings.live));
  if (changed("log", room.log, room.factors)) renderLog();
}

// --- Steps ----------------------------------------------------------------------------------

function renderSteps() {
  const roundOpen = room.round?.state === "open";
  replaceChildren($("steps"), STEPS.map((step) => h("li", {},
    h("button", {
      type: "button",
      "data-key": `step:${step}`,
      "aria-current": step === room.workshop.step ? "step" : null,
      disabled: roundOpen && step !== room.workshop.step,
      onclick: () => changeStep(step),
    }, M.steps[step]))));
  $("step-hint").textContent = roundOpen ? C.step_blocked : C.step_hints[room.workshop.step];
}

async function changeStep(step) {
  if (step === room.workshop.step) return;
  if (step === "closed" && !(await confirmDialog(M.confirm_close))) return;
  command("step.set", { step }, $("step-hint"));
}

// --- Voting rounds --------------------------------------------------------------------------

// The methods a step's rounds can use.
const METHODS_OF_STEP = { prune: ["keep_remove"], prioritise: ["dots", "points", "rating", "ranking", "matrix"] };

function renderRound() {
  const body = $("round-body");
  const round = room.round;
  const methods = METHODS_OF_STEP[room.workshop.step];
  const parts = [];
  if (round) {
    parts.push(h("p", {}, h("strong", {}, room.results ? resultsHeading(room.results, M)
      : `${fmt(M.round, { number: round.number })} · ${M.methods[round.method]}`),
      ` · ${M.round_states[round.state]}`));
    const described = describeSettings(round);
    if (described) parts.push(h("p", { class: "hint" }, described));
    if (round.state !== "revealed") parts.push(liveToggle(round));
  }
  if (round?.state === "open") {
    parts.push(h("p", { class: "big-figure" }, fmt(M.voted_of, room.participation)));
    parts.push(h("button", { type: "button", class: "primary", "data-key": "round:close",
      onclick: () => command("round.close", { round_id: round.id }, $("round-message")) }, C.close_round));
  } else if (round?.state === "closed") {
    parts.push(h("p", { class: "hint" }, C.preview_note));
    parts.push(h("button", { type: "button", class: "primary", "data-key": "round:reveal",
      onclick: () => command("round.reveal", { round_id: round.id }, $("round-message")) }, C.reveal_round));
  }
  if (room.results) {
    const results = h("div", {});
    renderResults(results, room.results, { M, rounds: room.history, chart: true, advice: true,
      groups: room.groups, reasons: room.reasons });
    parts.push(results);
  }
  // In the Results step: how the picture moved over every revealed round, not only the last.
  if (room.workshop.step === "results" || room.workshop.step === "closed") {
    const moved = trajectoryTable(room.trajectory, M, C.moved);
    if (moved) parts.push(moved);
  }
  if (methods && round?.state !== "open" && round?.state !== "closed") parts.push(openRoundForm(methods, round));
  if (!methods && !round) parts.push(h("p", { class: "hint" }, C.voting_elsewhere));
  parts.push(h("p", { class: "form-message", id: "round-message", role: "status", "aria-live": "polite" }));
  replaceChildren(body, parts);
}

function describeSettings(round) {
  const s = round.settings;
  const said = [];
  if (round.method === "dots") said.push(`${C.budget}: ${s.budget}`, `${C.cap}: ${s.cap}`);
  else if (round.method === "points") said.push(C.points_budget, `${C.points_cap_set}: ${s.cap ?? C.no_cap}`);
  else if (round.method === "ranking") said.push(`${C.top_k}: ${s.top_k}`);
  else if (s.scale) said.push(`${C.scale}: 1–${s.scale}`);
  if (s.shuffle) said.push(C.shuffled);
  if (s.no_own_votes) said.push(C.own_excluded);
  return said.join(" · ");
}

function liveToggle(round) {
  return h("label", { class: "choice" },
    h("input", { type: "checkbox", "data-key": "round:live", checked: Boolean(round.settings.live),
      onchange: (event) => command("round.configure", { round_id: round.id, live: event.target.checked },
        $("round-message")) }),
    C.live_results);
}

function numberField(name, label, value, min, max, { id = `round-${name}`, optional = false } = {}) {
  // Keep what the facilitator typed when the panel is drawn again; a default left as it was
  // follows the room (more factors, a bigger dot budget).
  const drawnBefore = $(id);
  const typed = drawnBefore && drawnBefore.value !== drawnBefore.dataset.default ? drawnBefore.value : "";
  return h("div", { class: "field" }, h("label", { for: id }, label),
    h("input", { id, name, type: "number", min, max, value: typed || value, inputmode: "numeric",
      "data-optional": optional, "data-default": String(value) }));
}

function checkField(name, label, checked) {
  // Keep what the facilitator ticked when the panel is drawn again (another method chosen).
  const id = `round-${name}`;
  return h("label", { class: "choice" },
    h("input", { id, type: "checkbox", name, checked: $(id)?.checked ?? checked }), label);
}

function openRoundForm(methods, last) {
  const active = room.factors.filter((f) => f.status === "active").length;
  // A new round of the method just used is the Delphi way; start from it.
  const chosen = $("round-method")?.value ?? (methods.includes(last?.method) ? last.method : methods[0]);
  const settings = {
    // The server's defaults for the factors in the round (a third of them, a cap below).
    dots: () => [numberField("budget", C.budget, room.dot_defaults.budget, 1, 100),
      numberField("cap", C.cap, room.dot_defaults.cap, 1, 100)],
    // The budget is always 100; a cap is optional (its own field, so a dot cap is not kept).
    points: () => [numberField("cap", C.points_cap, "", 1, 100, { id: "round-points-cap", optional: true })],
    rating: () => [numberField("scale", C.scale_top, 5, 3, 10)],
    matrix: () => [numberField("scale", C.scale_top, 5, 3, 10)],
    ranking: () => [numberField("top_k", C.top_k, Math.min(5, active), 1, active)],
    keep_remove: () => [],
  }[chosen]();
  const picker = methods.length > 1
    ? h("div", { class: "field" }, h("label", { for: "round-method" }, C.method),
      h("select", { id: "round-method", name: "method", onchange: () => { drawn.delete("round"); render(); } },
        methods.map((m) => h("option", { value: m, selected: m === chosen }, M.methods[m]))))
    : null;
  return h("form", {
    class: "round-settings",
    onsubmit: (event) => {
      event.preventDefault();
      const form = event.target;
      const payload = { method: chosen, live: form.live.checked, shuffle: form.shuffle.checked,
        no_own_votes: form.no_own_votes.checked };
      for (const name of ["budget", "cap", "scale", "top_k"]) {
        if (form[name] && !(form[name].value === "" && "optional" in form[name].dataset)) {
          payload[name] = Number(form[name].value);
        }
      }
      command("round.open", payload, $("round-message"));
    },
  }, picker, settings,
  checkField("live", C.live_results, false), checkField("shuffle", C.shuffle, true),
  checkField("no_own_votes", C.no_own_votes, false),
  h("button", { type: "submit", class: "primary", "data-key": "round:open" },
    last && last.method === chosen ? C.open_again : C.open[chosen]));
}

// --- Moderation and factors -----------------------------------------------------------------

function renderModeration() {
  const proposed = room.factors.filter((f) => f.status === "proposed");
  $("moderation-count").textContent = proposed.length;
  replaceChildren($("moderation-list"), proposed.length ? proposed.map((f) =>
    h("li", {},
      factorText(f, { withCategory: true }),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "primary", "data-key": `approve:${f.id}`,
          onclick: () => command("factor.approve", { factor_id: f.id }) }, C.approve),
        h("button", { type: "button", class: "danger", "data-key": `reject:${f.id}`,
          onclick: () => removeFactor(f) }, M.remove))))
    : [h("li", { class: "hint" }, M.nothing_pending)]);
}

/** Reasons from the edges: the ones waiting first, then the newest; each can be shown or
 * hidden. Nobody is named here either. */
function renderReasons() {
  const order = { pending: 0, shown: 1, hidden: 2 };
  const reasons = [...room.reasons].sort((a, b) => order[a.status] - order[b.status] || b.id - a.id);
  $("reasons-count").textContent = reasons.filter((r) => r.status === "pending").length;
  replaceChildren($("reasons-list"), reasons.length ? reasons.map((r) => {
    const title = room.factors.find((f) => f.id === r.factor_id)?.title ?? "";
    return h("li", {},
      h("div", { class: "factor-text" },
        h("span", { class: "factor-title" }, fmt(C.reason_of, { factor: title, number: r.number })),
        h("span", { class: "status-tag" }, M.reason_states[r.status]),
        h("p", { class: "factor-description own-reason" }, r.text)),
      h("div", { class: "actions" },
        r.status !== "shown" ? h("button", { type: "button", class: "primary", "data-key": `reason-show:${r.id}`,
          onclick: () => command("reason.approve", { reason_id: r.id }) },
        r.status === "pending" ? C.approve : C.show_reason) : null,
        r.status !== "hidden" ? h("button", { type: "button", class: "danger", "data-key": `reason-hide:${r.id}`,
          onclick: () => command("reason.hide", { reason_id: r.id }) }, C.hide) : null));
  }) : [h("li", { class: "hint" }, C.no_reasons)]);
}

function factorText(f, { withCategory = false } = {}) {
  const category = withCategory ? room.categories.find((c) => c.id === f.category_id)?.name : null;
  return h("div", { class: "factor-text" },
    h("span", { class: "factor-title" }, f.title),
    f.status !== "active" ? h("span", { class: "status-tag" }, M.status[f.status]) : null,
    h("p", { class: "factor-description" }, [
      category,
      C.origins[f.origin],
      f.proposed_by ? fmt(M.by_participant, f.proposed_by) + (f.proposed_by.nickname ? ` (${f.proposed_by.nickname})` : "") : null,
    ].filter(Boolean).join(" · ")),
    f.description ? h("p", { class: "factor-description" }, f.description) : null,
    f.removal_reason ? h("p", { class: "factor-description" }, fmt(M.reason, { reason: f.removal_reason })) : null);
}

// Merged factors are shown under the factor they merged into, not as rows of their own.
const MERGED = "merged";

/** The factors merged into `factor` (and those merged into them), each with an undo. */
function mergedInto(factor) {
  const merged = room.factors.filter((f) => f.status === MERGED && f.merged_into_id === factor.id);
  if (!merged.length) return null;
  return h("div", { class: "merged-into" },
    h("p", { class: "merged-heading" }, C.merged_here),
    h("ul", { class: "plain" }, merged.map((f) => h("li", { class: "merged-row" },
      h("span", { class: "factor-title" }, f.title),
      h("button", { type: "button", "data-key": `unmerge:${f.id}`,
        "aria-label": fmt(C.unmerge_label, { title: f.title }),
        onclick: () => command("factor.unmerge", { factor_id: f.id }) }, C.unmerge),
      mergedInto(f)))));
}

/** After a revealed keep/remove round: the factors it voted out that are still on the
 * board, each with a reason drawn from the result, to remove one by one or all at once. */
function renderVotedOut() {
  const results = room.results;
  const revealed = room.round?.state === "revealed" && results?.round_id === room.round.id
    && results.method === "keep_remove";
  const still = revealed ? results.factors.filter((row) => row.verdict === "out"
    && room.factors.some((f) => f.id === row.factor_id && f.status === "active")) : [];
  const box = $("voted-out");
  box.hidden = !still.length;
  if (!still.length) return replaceChildren(box, []);
  const reasonOf = (row) => fmt(C.voted_out_reason, {
    number: results.number,
    share: percent(row.votes ? row.remove / row.votes : 0),
    threshold: percent(results.rule.agreement),
  });
  const removal = (row) => ({ factor_id: row.factor_id, reason: $(`voted-out-reason-${row.factor_id}`).value.trim() });
  // A reason left empty is refused by the server, whose message shows below the list.
  const send = (removals) => command("factor.remove_many", { removals }, $("voted-out-message"));
  replaceChildren(box, [
    h("h3", {}, fmt(C.voted_out_heading, { number: results.number })),
    h("p", { class: "hint" }, C.voted_out_hint),
    h("ul", { class: "plain" }, still.map((row) => h("li", { class: "voted-out-row" },
      h("label", { for: `voted-out-reason-${row.factor_id}` }, fmt(C.reason_for, { title: row.title })),
      h("input", { type: "text", id: `voted-out-reason-${row.factor_id}`, "data-key": `reason:${row.factor_id}`,
        maxlength: 500, value: reasonOf(row) }),
      h("button", { type: "button", class: "danger", "data-key": `remove-voted-out:${row.factor_id}`,
        onclick: () => send([removal(row)]) }, fmt(C.remove_one, { title: row.title }))))),
    h("button", { type: "button", class: "danger", id: "remove-voted-out",
      onclick: () => send(still.map(removal)) }, plural(C.remove_all, still.length)),
    h("p", { id: "voted-out-message", role: "status" }),
  ]);
}

function renderFactors() {
  const listed = room.factors.filter((f) => f.status !== "proposed" && f.status !== MERGED);
  const groups = byCategory(room.categories, listed);
  replaceChildren($("factor-admin"), groups.length ? groups.map(({ category, factors }) =>
    h("section", { class: "category-block" },
      h("h3", { class: "category-name" }, category.name),
      factors.map((f) => h("div", { class: "admin-row", dataset: { status: f.status } },
        factorText(f),
        h("div", { class: "actions" },
          h("button", { type: "button", "data-key": `edit:${f.id}`, onclick: () => editFactor(f) }, C.edit),
          f.status !== "removed"
            ? h("button", { type: "button", "data-key": `merge:${f.id}`, onclick: () => mergeFactor(f) }, C.merge)
            : null,
          f.status === "active"
            ? h("button", { type: "button", "data-key": `hide:${f.id}`,
                onclick: () => command("factor.hide", { factor_id: f.id }) }, C.hide)
            : h("button", { type: "button", "data-key": `restore:${f.id}`,
                onclick: () => command("factor.restore", { factor_id: f.id }) }, C.restore),
          f.status !== "removed"
            ? h("button", { type: "button", class: "danger", "data-key": `remove:${f.id}`,
                onclick: () => removeFactor(f) }, M.remove)
            : null),
        mergedInto(f))))) : [h("p", {}, M.no_factors)]);
}

/** Factors that look alike (the server's core/similar.py), each pair with a button that
 * merges the later into the earlier, as the merge dialog would. */
function renderDuplicates() {
  const byId = new Map(room.factors.map((f) => [f.id, f]));
  const pairs = (room.duplicates ?? []).filter((d) => byId.has(d.factor_id) && byId.has(d.into_id));
  $("duplicates").hidden = !pairs.length;
  replaceChildren($("duplicates-list"), pairs.map((d) => {
    const from = byId.get(d.factor_id);
    const into = byId.get(d.into_id);
    return h("li", { class: "admin-row" },
      h("span", { class: "factor-text" }, fmt(C.duplicate_pair, { from: from.title, into: into.title })),
      h("div", { class: "actions" },
        h("button", { type: "button", "data-key": `merge-duplicate:${from.id}:${into.id}`,
          "aria-label": fmt(C.merge_duplicate_label, { from: from.title, into: into.title }),
          onclick: () => command("factor.merge", { factor_id: from.id, into_id: into.id }) },
        C.merge_duplicate)));
  }));
}

// --- Dialogs --------------------------------------------------------------------------------

function openDialog(dialog) {
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

function confirmDialog(text) {
  $("confirm-dialog-text").textContent = text;
  return openDialog($("confirm-dialog"));
}

async function removeFactor(factor) {
  $("remove-dialog-factor").textContent = factor.title;
  $("remove-reason").value = "";
  if (!(await openDialog($("remove-dialog")))) return;
  const reason = $("remove-reason").value.trim();
  if (!reason) return;
  command("factor.remove", { factor_id: factor.id, reason });
}

async function mergeFactor(factor) {
  const targets = room.factors.filter((f) => f.status === "active" && f.id !== factor.id);
  $("merge-dialog-factor").textContent = factor.title;
  $("merge-target").replaceChildren(...targets.map((f) => h("option", { value: f.id }, f.title)));
  if (!targets.length || !(await openDialog($("merge-dialog")))) return;
  command("factor.merge", { factor_id: factor.id, into_id: Number($("merge-target").value) });
}

async function editFactor(factor) {
  fillCategories($("edit-category"), room.categories);
  $("edit-title").value = factor.title;
  $("edit-description").value = factor.description;
  $("edit-category").value = String(factor.category_id);
  if (!(await openDialog($("edit-dialog")))) return;
  command("factor.edit", {
    factor_id: factor.id,
    title: $("edit-title").value,
    description: $("edit-description").value,
    category_id: Number($("edit-category").value),
  });
}

// --- Proxies and the log --------------------------------------------------------------------

function renderProxies() {
  replaceChildren($("proxy-list"), room.proxies.map((p) => h("li", { class: "admin-row" },
    h("span", {}, fmt(C.proxy_name, p), p.nickname ? ` (${p.nickname})` : ""),
    h("a", { href: `/proxy/${page.code}/${p.number}`, target: "_blank", rel: "noopener" }, C.vote_for))));
}

// The groups as the last save answered, until the room's state holds them: a second save
// before that must not remove what the first one added.
let savedGroups = null;

/** The stakeholder groups as a list of names to edit (empty one to remove it), and the proxy
 * form's choice of group. */
function renderGroups() {
  replaceChildren($("groups-list"), room.groups.map((g, i) => h("li", { class: "field" },
    h("label", { for: `group-${g.id}`, class: "visually-hidden" }, fmt(C.group_number, { n: i + 1 })),
    h("input", { id: `group-${g.id}`, value: g.name, maxlength: 60, dataset: { id: g.id }, autocomplete: "off" }))));
  $("groups-required").checked = room.workshop.group_required;
  $("groups-shown").checked = room.workshop.groups_shown;
  const select = $("proxy-group");
  select.hidden = !room.groups.length;
  replaceChildren(select, [h("option", { value: "" }, C.no_group),
    ...room.groups.map((g) => h("option", { value: g.id }, g.name))]);
}

const time = new Intl.DateTimeFormat(document.documentElement.lang, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

function renderLog() {
  const titles = new Map(room.factors.map((f) => [f.id, f.title]));
  replaceChildren($("log-list"), room.log.map((entry) => {
    const d = entry.details ?? {};
    const about = [
      titles.get(entry.factor_id) ?? d.title,
      d.round ? fmt(M.round, { number: d.round }) : null,
      d.after && entry.action === "step.changed" ? M.steps[d.after] : null,
      d.reason ? fmt(M.reason, { reason: d.reason }) : null,
    ].filter(Boolean).join(" · ");
    return h("li", {},
      h("time", { datetime: entry.at }, time.format(new Date(entry.at))), " ",
      h("strong", {}, C.actions[entry.action] ?? entry.action),
      about ? ` — ${about}` : "",
      entry.actor === "participant" ? ` (${C.by_a_participant})` : "");
  }));
}

// --- Forms ----------------------------------------------------------------------------------

$("timer-form").addEventListener("click", (event) => {
  const minutes = event.target.dataset?.minutes;
  if (minutes) command("timer.set", { seconds: Number(minutes) * 60 });
});
$("timer-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const minutes = Number(event.target.minutes.value);
  if (minutes > 0) command("timer.set", { seconds: Math.round(minutes * 60) });
});
$("timer-stop").addEventListener("click", () => command("timer.set", { seconds: 0 }));

$("settings-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const answer = await command("workshop.configure",
    { title: form.title.value, language: form.language.value, time_zone: form.time_zone.value.trim() },
    $("settings-message"));
  if (answer.ok) say($("settings-message"), M.saved);
});

// Exports: written by the server's workers, their progress shown while they take; with
// nicknames only when the facilitator asks for them.
exportLinks(document.querySelectorAll(".export-link"), $("export-status"), M.exports);
$("with-nicknames").addEventListener("change", (event) => {
  for (const link of document.querySelectorAll(".export-link")) {
    const url = new URL(link.href);
    if (event.target.checked) url.searchParams.set("nicknames", "1");
    else url.searchParams.delete("nicknames");
    link.href = url;
  }
});

// The moderation policy phones can read: the facilitator's words, saved as written.
$("policy-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const answer = await command("moderation.policy_set",
    { policy: event.target.policy.value }, $("policy-message"));
  if (answer.ok) say($("policy-message"), M.saved);
});

$("delete-workshop").addEventListener("click", async () => {
  $("delete-code").value = "";
  if (!(await openDialog($("delete-dialog")))) return;
  if ($("delete-code").value.trim().toUpperCase() !== page.code) return;
  const response = await fetch(`/api/workshops/${page.code}`, { method: "DELETE", credentials: "same-origin" });
  if (response.ok) window.location.assign("/");
});

/** Copy the facilitator link: through the Clipboard API where the page may use it (a secure
 * origin), else by selecting the text and the browser's copy command; either way the
 * outcome is said where screen readers hear it. */
async function copyLink() {
  const field = $("facilitator-url");
  let copied = false;
  try {
    await navigator.clipboard.writeText(field.value);
    copied = true;
  } catch {
    // Plain http on the venue's network has no Clipboard API: select and copy instead.
    field.focus();
    field.select();
    try {
      copied = document.execCommand("copy");
    } catch {
      copied = false;
    }
  }
  say($("copy-link-message"), copied ? C.link_copied : C.link_not_copied, copied ? "ok" : "error");
  if (!copied) field.select();
}
$("copy-link")?.addEventListener("click", copyLink);

// Replacing the link disconnects the board on the projector: ask first.
$("replace-link").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (await confirmDialog(C.replace_link)) event.target.submit();
});

$("proxy-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const group = event.target.group_id.value;
  const answer = await command("proxy.add",
    { label: event.target.label.value, ...(group ? { group_id: Number(group) } : {}) });
  if (answer.ok) event.target.label.value = "";
});

// Whether a phone must choose, and whether the room sees the groups: at once, as the other
// switches of the console.
for (const [id, field] of [["groups-required", "required"], ["groups-shown", "shown"]]) {
  $(id).addEventListener("change", async (event) => {
    const answer = await command("groups.set", { [field]: event.target.checked }, $("groups-message"));
    if (answer.ok) say($("groups-message"), M.saved);
    else event.target.checked = room.workshop[field === "required" ? "group_required" : "groups_shown"];
  });
}

$("groups-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const known = new Map([...(savedGroups ?? []), ...room.groups].map((g) => [g.id, g.name]));
  const typed = new Map([...$("groups-list").querySelectorAll("input")]
    .map((input) => [Number(input.dataset.id), input.value]));
  const groups = [...known].map(([id, name]) => ({ id, name: typed.get(id) ?? name }))
    .filter((g) => g.name.trim());
  if (form.new.value.trim()) groups.push({ name: form.new.value });
  const answer = await command("groups.set", { groups }, $("groups-message"));
  if (answer.ok) {
    form.new.value = "";
    say($("groups-message"), M.saved);
    savedGroups = answer.data.groups;
  }
});

$("rule-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const answer = await command("workshop.configure", {
    consensus_preset: form.preset.value,
    consensus_agreement: Number(form.agreement.value) / 100,
    consensus_kendall_w: Number(form.kendall_w.value),
    consensus_iqr: Number(form.iqr.value),
    consensus_min_share: Number(form.min_share.value) / 100,
    consensus_min_answers: Number(form.min_answers.value),
    consensus_every_group: form.every_group.checked,
    consensus_stable_change: Number(form.stable_change.value) / 100,
    consensus_max_rounds: Number(form.max_rounds.value),
    ...(form.apply.checked && !$("rule-apply-row").hidden ? { consensus_round_id: room.round.id } : {}),
  }, $("rule-message"));
  form.apply.checked = false;
  if (answer.ok) say($("rule-message"), M.saved);
});

$("doors-closed").addEventListener("change", async (event) => {
  const closed = event.target.checked;
  const answer = await command("doors.set", { closed }, $("doors-message"));
  if (answer.ok) say($("doors-message"), closed ? C.doors_closed : C.doors_opened);
  else event.target.checked = room.workshop.doors_closed; // refused: show what holds
});

$("approval-required").addEventListener("change", (event) => {
  command("workshop.configure", { approval_required: event.target.checked });
});

$("add-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  if (!form.title.value.trim()) {
    form.title.setAttribute("aria-invalid", "true");
    form.title.focus();
    return;
  }
  form.title.removeAttribute("aria-invalid");
  const answer = await command("factor.add", {
    title: form.title.value,
    description: form.description.value,
    category_id: Number(form.category_id.value),
  }, $("add-message"));
  if (answer.ok) {
    form.title.value = "";
    form.description.value = "";
    say($("add-message"), M.saved);
    form.title.focus();
  }
});

$("category-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = event.target.name;
  const answer = await command("category.add", { name: input.value }, $("category-message"));
  if (answer.ok) {
    input.value = "";
    say($("category-message"), M.saved);
  }
});
