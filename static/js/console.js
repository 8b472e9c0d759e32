// The facilitator's console: steps, voting rounds, moderation, factors and categories.
import { h, pageData, fmt, plural, byCategory, fillCategories, replaceChildren, say } from "./dom.js";
import { connect } from "./live.js";
import { renderResults, resultsHeading } from "./results.js";

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
  $("people").textContent = `${plural(M.participants, room.participation.joined)} · ${fmt(M.connected, { n: room.connected })}`;
  fillCategories($("add-category"), room.categories);
  if (changed("steps", room.workshop.step, room.round?.state)) renderSteps();
  const open = room.round?.state === "open";
  if (changed("round", room.workshop.step, room.round, room.results, open && room.participation,
    room.factors.length)) renderRound();
  if (changed("factors", room.factors, room.categories)) {
    renderModeration();
    renderFactors();
  }
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

const METHOD_OF_STEP = { prune: "keep_remove", prioritise: "dots" };

function renderRound() {
  const body = $("round-body");
  const round = room.round;
  const method = METHOD_OF_STEP[room.workshop.step];
  const parts = [];
  if (round) {
    parts.push(h("p", {}, h("strong", {}, `${fmt(M.round, { number: round.number })} · ${M.methods[round.method]}`),
      ` · ${M.round_states[round.state]}`));
    if (round.method === "dots") {
      parts.push(h("p", { class: "hint" }, `${C.budget}: ${round.settings.budget} · ${C.cap}: ${round.settings.cap}`));
    }
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
    const list = h("ol", { class: "results" });
    renderResults(list, room.results, M);
    parts.push(h("h3", {}, resultsHeading(room.results, M)), list);
  }
  if (method && round?.state !== "open" && round?.state !== "closed") parts.push(openRoundForm(method));
  if (!method && !round) parts.push(h("p", { class: "hint" }, C.voting_elsewhere));
  parts.push(h("p", { class: "form-message", id: "round-message", role: "status", "aria-live": "polite" }));
  replaceChildren(body, parts);
}

function openRoundForm(method) {
  const fields = [];
  if (method === "dots") {
    // Keep what the facilitator typed; else suggest about a third of the factors.
    const suggested = Math.max(3, Math.min(10, Math.round(room.factors.filter((f) => f.status === "active").length / 3)));
    const defaultBudget = $("round-budget")?.value || suggested;
    fields.push(
      h("div", { class: "field" }, h("label", { for: "round-budget" }, C.budget),
        h("input", { id: "round-budget", name: "budget", type: "number", min: 1, max: 100, value: defaultBudget, inputmode: "numeric" })),
      h("div", { class: "field" }, h("label", { for: "round-cap" }, C.cap),
        h("input", { id: "round-cap", name: "cap", type: "number", min: 1, max: 100, value: $("round-cap")?.value || Math.min(3, defaultBudget), inputmode: "numeric" })));
  }
  return h("form", {
    class: "round-settings",
    onsubmit: (event) => {
      event.preventDefault();
      const payload = { method };
      if (method === "dots") {
        payload.budget = Number(event.target.budget.value);
        payload.cap = Number(event.target.cap.value);
      }
      command("round.open", payload, $("round-message"));
    },
  }, fields, h("button", { type: "submit", class: "primary", "data-key": "round:open" },
    method === "dots" ? C.open_dots : C.open_keep_remove));
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

function renderFactors() {
  const listed = room.factors.filter((f) => f.status !== "proposed");
  const groups = byCategory(room.categories, listed);
  replaceChildren($("factor-admin"), groups.length ? groups.map(({ category, factors }) =>
    h("section", { class: "category-block" },
      h("h3", { class: "category-name" }, category.name),
      factors.map((f) => h("div", { class: "admin-row", dataset: { status: f.status } },
        factorText(f),
        h("div", { class: "actions" },
          h("button", { type: "button", "data-key": `edit:${f.id}`, onclick: () => editFactor(f) }, C.edit),
          f.status === "active"
            ? h("button", { type: "button", "data-key": `hide:${f.id}`,
                onclick: () => command("factor.hide", { factor_id: f.id }) }, C.hide)
            : h("button", { type: "button", "data-key": `restore:${f.id}`,
                onclick: () => command("factor.restore", { factor_id: f.id }) }, C.restore),
          f.status !== "removed"
            ? h("button", { type: "button", class: "danger", "data-key": `remove:${f.id}`,
                onclick: () => removeFactor(f) }, M.remove)
            : null))))) : [h("p", {}, M.no_factors)]);
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

// --- Forms ----------------------------------------------------------------------------------

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
