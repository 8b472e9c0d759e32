// Reasons from the edges, on the phone: where one's own answer lay outside the middle half of
// the group in the round reasons are taken on (only this phone is told: `me.outside`), and a
// short field to tell the group why. The server decides who is outside; this only shows it.
import { h, fmt, replaceChildren, say } from "./dom.js";
import { number } from "./results.js";

// What is being typed, and each form's last message, by factor: kept while the section is
// drawn again.
const drafts = new Map();
const messages = new Map();
let drawn = null;

/** The round reasons may be given on now, as the room's state shows it: the revealed round,
 * or the one the open round revises; null otherwise (the server says the same). */
function takingOn(room) {
  if (room.round?.state === "revealed") return room.results?.round_id ?? null;
  if (room.round?.state === "open") return room.previous?.round_id ?? null;
  return null;
}

function rangeText(axes, M) {
  return axes.map((a) => {
    const params = { answer: number(a.answer), q1: number(a.q1), q3: number(a.q3) };
    return a.axis === "value" ? fmt(M.outside_value, params)
      : fmt(M.outside_axis, { ...params, axis: M[a.axis] });
  }).join(" ");
}

/** Draw (or hide) the section: one entry per factor on which the answer lay outside. */
export function renderOutside(section, list, { room, me, M, send }) {
  const outside = me?.outside;
  const open = outside && outside.factors.length && outside.round_id === takingOn(room);
  section.hidden = !open;
  if (!open) {
    drawn = null;
    return;
  }
  const results = [room.results, room.previous].find((r) => r?.round_id === outside.round_id);
  // Drawn again only when what it shows changed, so that nobody's typing is interrupted.
  const signature = JSON.stringify([outside, results?.factors.map((r) => r.title)]);
  if (signature === drawn) return;
  drawn = signature;
  replaceChildren(list, outside.factors.map((f) => {
    const id = f.factor_id;
    const title = results?.factors.find((r) => r.factor_id === id)?.title ?? "";
    const reason = f.reason;
    const message = h("p", { class: "form-message", role: "status", "aria-live": "polite" });
    const [text, kind] = messages.get(id) ?? ["", "info"];
    say(message, text, kind);
    const field = h("textarea", { id: `reason-${id}`, name: "text", rows: 2, maxlength: 280,
      "data-key": `reason:${id}`, oninput: (event) => drafts.set(id, event.target.value) },
    drafts.get(id) ?? reason?.text ?? "");
    const submit = async (event) => {
      event.preventDefault();
      const value = field.value.trim();
      if (!value) {
        field.setAttribute("aria-invalid", "true");
        field.focus();
        return;
      }
      field.removeAttribute("aria-invalid");
      say(message, M.sending);
      const answer = await send("reason.submit", { round_id: outside.round_id, factor_id: id, text: value });
      const said = answer.ok
        ? [answer.data.status === "shown" ? M.reason_sent : M.reason_waiting, "info"]
        : [answer.error.message, "error"];
      messages.set(id, said);
      if (answer.ok) drafts.delete(id);
      say(message, ...said);
    };
    return h("li", { class: "outside-factor" },
      h("h3", { id: `outside-${id}` }, title),
      h("p", {}, rangeText(f.axes, M)),
      reason ? h("p", { class: "hint own-reason" },
        fmt(M.your_reason, { state: M.reason_states[reason.status], text: reason.text })) : null,
      h("form", { class: "stack", novalidate: true, "aria-labelledby": `outside-${id}`, onsubmit: submit },
        h("div", { class: "field" },
          h("label", { for: `reason-${id}` }, M.reason_label),
          field),
        h("button", { type: "submit", "data-key": `reason-send:${id}` },
          reason ? M.reason_change : M.reason_send),
        message));
  }));
}
