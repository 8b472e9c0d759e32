// The board on the projector: the join code and QR, the factors by category, participation
// while a vote is open, and the results once revealed. Read from the back of the room.
import { h, pageData, fmt, plural, byCategory } from "./dom.js";
import { showCountdown } from "./countdown.js";
import { connect } from "./live.js";
import { reasonList, renderResults, resultsHeading } from "./results.js";
import { roundAnnouncer } from "./announce.js";

const page = pageData();
const M = page.messages;
const $ = (id) => document.getElementById(id);
// More factors than this and the board switches to a compact layout to avoid scrolling.
const COMPACT_FROM = 30;
// A word too long for its box is set smaller, down to this share of its size, before it may
// break: a word cut in the middle is hard to read from the back of the room.
const SMALLEST_SHARE = 0.6;
const announceRound = roundAnnouncer($("round-announcement"), M);

// While paused (WCAG 2.2.2), the board keeps the newest state and shows it on resume.
let paused = false;
let latest = null;

connect({
  code: page.code, view: "board", messages: M, statusEl: $("connection"),
  onState(room) {
    latest = room;
    if (!paused) render(room);
  },
});

$("pause").addEventListener("click", () => {
  paused = !paused;
  $("pause").setAttribute("aria-pressed", String(paused));
  $("pause").textContent = paused ? M.resume_updates : M.pause_updates;
  $("paused-note").textContent = paused ? M.updates_paused : "";
  if (latest) render(latest);
});

$("fullscreen").addEventListener("click", () => {
  if (document.fullscreenElement) document.exitFullscreen();
  else document.documentElement.requestFullscreen?.();
});

// The round whose consensus was last announced, so that each is announced once.
let announced = null;

/** Say plainly, in the live region, when a revealed round reaches consensus. */
function announce(results) {
  if (!results?.verdict.reached || results.live) return;
  if (announced === results.round_id) return;
  announced = results.round_id;
  $("announcement").textContent = fmt(M.consensus_announce, { number: results.number });
}

function render(room) {
  const round = room.round;
  $("workshop-title").textContent = room.workshop.title;
  $("step-name").textContent = M.steps[room.workshop.step];
  showCountdown($("countdown"), room, M, { frozen: paused });
  // Closed doors, or a closed workshop: the board stops inviting people in, and says why.
  const closed = room.workshop.step === "closed";
  $("join-details").hidden = room.workshop.doors_closed || closed;
  $("doors-closed").hidden = !room.workshop.doors_closed || closed;
  $("workshop-closed").hidden = !closed;
  announceRound(room);
  $("presence").textContent = `${plural(M.participants, room.participation.joined)} · ${fmt(M.connected, { n: room.connected })}`;
  document.body.dataset.density = room.factors.length > COMPACT_FROM ? "compact" : "normal";

  const voting = round && round.state !== "revealed";
  $("participation").hidden = !voting;
  if (voting) {
    const { voted, joined } = room.participation;
    $("participation-text").textContent = round.state === "open"
      ? fmt(M.voted_of, { voted, joined })
      : `${M.round_closed} (${fmt(M.voted_of, { voted, joined })})`;
    $("participation-fill").style.width = `${joined ? Math.min(100, (100 * voted) / joined) : 0}%`;
  }

  $("board-results").hidden = !room.results;
  $("board-factors").hidden = Boolean(room.results);
  announce(room.results);
  if (room.results) {
    $("results-heading").textContent = resultsHeading(room.results, M);
    renderResults($("results-body"), room.results,
      { M, rounds: room.history, chart: true, groups: room.groups, reasons: room.reasons });
    return;
  }
  const groups = byCategory(room.categories, room.factors);
  $("board-factors").replaceChildren(...(groups.length ? groups.map(({ category, factors }) =>
    h("section", { class: "category-block" },
      h("h2", { class: "category-name" }, category.name),
      // In a Delphi round, the reasons given on the round it revises stay in view.
      h("ul", { class: "plain" }, factors.map((f) => h("li", { class: "factor-item" }, f.title,
        room.previous ? reasonList(room.reasons, room.previous.round_id, f.id, M) : null)))))
    : [h("p", { class: "participation-text" }, M.no_factors)]));
  fitWords($("board-factors").querySelectorAll(".factor-item"), room.workshop.language);
}

/** Break factor titles between words, never inside one: the titles are marked in the
 * workshop's language, so that a browser with its hyphenation dictionary hyphenates
 * compounds properly; where a word is still wider than its box, the title is set smaller
 * until it fits, and only a word that cannot fit even then is broken. */
function fitWords(elements, language) {
  for (const el of elements) {
    el.lang = language;
    el.style.fontSize = "";
    el.classList.remove("break-anywhere");
    const size = parseFloat(getComputedStyle(el).fontSize);
    let share = 1;
    while (overflows(el) && share > SMALLEST_SHARE) {
      share -= 0.05;
      el.style.fontSize = `${size * share}px`;
    }
    if (overflows(el)) el.classList.add("break-anywhere");
  }
}

/** Whether a word of the element sticks out of its box. */
function overflows(el) {
  return el.scrollWidth > el.clientWidth + 1;
}
