// The facilitator's countdown, shown on every screen. The deadline and the time come from the
// server, so every screen shows the same seconds whatever its own clock says.
import { fmt } from "./dom.js";

const screens = new Set();
let offset = 0; // server time − this device's time, in ms
let ticking = null;

/** Keep `el` counting down to the state's timer (hidden when there is none). */
export function showCountdown(el, state, M, { frozen = false } = {}) {
  if (state.server_time) offset = Date.parse(state.server_time) - Date.now();
  screens.add(el);
  el.dataset.ends = state.timer ? Date.parse(state.timer.ends_at) : "";
  el.dataset.frozen = frozen ? "1" : "";
  el.hidden = !state.timer;
  el.timeUp = M.time_up;
  el.label = M.time_left;
  draw(el);
  ticking ??= setInterval(() => screens.forEach(draw), 250);
}

function draw(el) {
  if (!el.dataset.ends || el.dataset.frozen) return;
  const left = Math.max(0, Number(el.dataset.ends) - (Date.now() + offset));
  const seconds = Math.ceil(left / 1000);
  const text = left > 0
    ? `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`
    : el.timeUp;
  if (el.textContent !== text) {
    el.textContent = text;
    el.setAttribute("aria-label", left > 0 ? fmt(el.label, { time: text }) : el.timeUp);
    el.classList.toggle("ending", left > 0 && left <= 30000);
    el.classList.toggle("over", left <= 0);
  }
}
