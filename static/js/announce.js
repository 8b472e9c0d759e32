// Screen readers hear a round open, close or be revealed, once per event, in a live region
// (role=status, aria-live=polite). A redraw, a reconnection or a resent state says nothing new.
import { fmt } from "./dom.js";

/** An announcer for `el`: call it with each state; it speaks only when the round changes. */
export function roundAnnouncer(el, M) {
  let seen; // undefined until the first state: what a page finds on loading is not news
  return (room) => {
    const round = room.round;
    const key = round ? `${round.id}:${round.state}` : null;
    if (seen === undefined || key === seen) {
      seen = key;
      return;
    }
    seen = key;
    if (!round) return;
    const words = M.round_announce[round.state];
    if (words) el.textContent = fmt(words, { number: round.number, method: M.methods[round.method] ?? "" });
  };
}
