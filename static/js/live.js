// The live connection every page uses: Socket.IO, the state by version, and a queue of
// commands that survives a dropped network, a sleeping phone and a reload.
//
// Every command gets a random id once, when it is made. Commands are sent one at a time, in
// order; one without an answer (timeout, disconnect) is sent again with the same id, which
// the server answers from its record without counting it twice. The queue lives in
// localStorage, so a reload while offline loses nothing.
import { io } from "/vendor/socket.io.esm.min.js";
import { plural } from "./dom.js";

const ACK_TIMEOUT_MS = 10000;
// The server refuses bigger messages by closing the connection (MAX_MESSAGE_BYTES).
const MAX_COMMAND_BYTES = 15000;
// A command that went unanswered this often while connected is given up, so that one bad
// command cannot block the queue for ever.
const MAX_ATTEMPTS = 5;
// How long to wait before sending again a command the server found too fast.
const RATE_LIMITED_WAIT_MS = 1500;
// How long to wait before connecting again after the server closed the connection.
const SERVER_DISCONNECT_WAIT_MS = 2000;
// A connection the server could not set up (busy, or a failure of its own) is tried again
// after a pause that grows up to a limit, with some randomness so that a room does not
// come back all at once.
const RETRY_FIRST_MS = 2000;
const RETRY_MAX_MS = 30000;
// A connection that brings no state within this long is no use: connect again.
const STATE_WAIT_MS = 10000;
// Answers that mean the server did nothing with a command for now: it goes again shortly.
const TRY_AGAIN = new Set(["rate_limited", "busy"]);
const REFUSALS = new Set(["not_joined", "forbidden", "access_ended", "unknown_workshop", "workshop_closed", "doors_closed",
  "too_many_joins", "bad_handshake", "too_many_tries"]);
// Refusals that pass by themselves, and how long to wait before connecting again: a room the
// guard on joins turned away together comes back spread over ten seconds; closed doors are
// asked about twice a minute, so that a phone comes in by itself once they open.
const RETRY_AFTER_MS = {
  too_many_joins: () => 5000 + Math.random() * 10000,
  doors_closed: () => 30000,
};

function newId() {
  // crypto.randomUUID needs a secure context; phones on a LAN address over http are not one.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function connect({ code, view, auth = {}, messages, onState, onMe = () => {}, statusEl, onDeleted, onRefused }) {
  const storageKey = `samsyn:${code}:${view}${auth.proxy ? `:${auth.proxy}` : ""}:queue`;
  const waiting = new Map(); // command id → resolve
  let queue = load();
  let inFlight = null;
  let version = 0;
  let meVersion = 0;
  let state = "connecting";
  let retryMs = RETRY_FIRST_MS;
  let stateWatch = null;
  let retry = null;

  // The workshop in the query string too: behind nginx, a room's screens meet on one
  // process by it (deploy/nginx/samsyn-http.conf); the server reads only `auth`.
  const socket = io({ auth: { code, view, ...auth }, query: { workshop: code } });

  function load() {
    try {
      return JSON.parse(localStorage.getItem(storageKey)) || [];
    } catch {
      return [];
    }
  }

  function save() {
    try {
      localStorage.setItem(storageKey, JSON.stringify(queue));
    } catch {
      // Private mode or a full storage: the queue still works in memory.
    }
  }

  function showStatus(next, detail) {
    state = next ?? state;
    if (!statusEl) return;
    const words = messages.connection;
    let text = { online: words.online, offline: words.offline, connecting: words.connecting }[state];
    if (state === "refused") text = words.refusals[detail] ?? words.refusals.forbidden;
    if (queue.length && state !== "refused") text += " · " + plural(words.pending, queue.length);
    statusEl.textContent = text;
    statusEl.dataset.state = state;
  }

  function applyState(next) {
    clearTimeout(stateWatch);
    if (next.version < version) return; // older than what we show: ignore
    version = next.version;
    onState(next);
  }

  function applyMe(me) {
    if (me.version < meVersion) return;
    meVersion = me.version;
    onMe(me, { pending: queue.map((c) => c.name) });
  }

  function settle(command, answer) {
    queue = queue.filter((c) => c.id !== command.id);
    save();
    showStatus();
    waiting.get(command.id)?.(answer);
    waiting.delete(command.id);
  }

  function pump() {
    if (inFlight || !socket.connected || !queue.length) return;
    const command = (inFlight = queue[0]);
    socket
      .timeout(ACK_TIMEOUT_MS)
      .emit(command.name, { ...command.payload, command_id: command.id }, (err, answer) => {
        inFlight = null;
        // Only silence on a live connection counts against a command; a dropped network
        // never makes us give up on a vote.
        if (err && socket.connected) command.attempts = (command.attempts ?? 0) + 1;
        if (!err && TRY_AGAIN.has(answer?.error?.code)) {
          // Sent too fast, or the server was busy: it did nothing with it, so it goes again.
          setTimeout(pump, RATE_LIMITED_WAIT_MS);
          return;
        }
        if (!err) {
          settle(command, answer);
        } else if ((command.attempts ?? 0) >= MAX_ATTEMPTS) {
          settle(command, { ok: false, error: { code: "no_answer", message: messages.connection.no_answer } });
        } else {
          // No answer: it stays first in line and goes again with the same id.
          save();
          setTimeout(pump, 1000);
          return;
        }
        pump();
      });
  }

  /** Send a command; resolves with the server's answer {ok, data | error}. */
  function send(name, payload, { replaces } = {}) {
    // A newer whole ballot makes an unsent older one pointless: replace it in line.
    if (replaces) {
      const stale = queue.filter((c) => c !== inFlight && c.name === name && replaces(c.payload));
      for (const c of stale) waiting.get(c.id)?.({ ok: true, superseded: true });
      queue = queue.filter((c) => !stale.includes(c));
    }
    const command = { id: newId(), name, payload };
    if (JSON.stringify(payload).length > MAX_COMMAND_BYTES) {
      return Promise.resolve({ ok: false, error: { code: "too_large", message: messages.connection.too_large } });
    }
    queue.push(command);
    save();
    showStatus();
    const answer = new Promise((resolve) => waiting.set(command.id, resolve));
    pump();
    return answer;
  }

  /** Ask for the whole state again (after sleep, or when something looks off). */
  function resync() {
    if (!socket.connected) return;
    socket.timeout(ACK_TIMEOUT_MS).emit("state.get", {}, (err, answer) => {
      if (err || !answer?.ok) return;
      applyState(answer.data.state);
      if (answer.data.me) applyMe(answer.data.me);
    });
  }

  socket.on("state", applyState);
  socket.on("deleted", () => {
    // The workshop is gone: nothing more will come, and nothing queued can be sent.
    queue = [];
    save();
    socket.disconnect();
    showStatus("refused", "unknown_workshop");
    onDeleted?.();
  });
  socket.on("me", applyMe);
  socket.on("connect", () => {
    showStatus("online");
    retryMs = RETRY_FIRST_MS;
    // Every connection starts with the state; one that brings none is connected again.
    clearTimeout(stateWatch);
    stateWatch = setTimeout(() => {
      socket.disconnect();
      socket.connect();
    }, STATE_WAIT_MS);
    pump();
  });
  socket.on("disconnect", (reason) => {
    clearTimeout(stateWatch);
    showStatus("offline");
    // The server let go of us on purpose (the facilitator link was replaced, a login or a
    // co-facilitator's part ended): try once more, with the cookie as it is by then. A
    // screen whose access ended is refused, says so, and tries no more.
    if (reason === "io server disconnect") setTimeout(() => socket.connect(), SERVER_DISCONNECT_WAIT_MS);
  });
  socket.on("connect_error", (err) => {
    if (!REFUSALS.has(err.message)) {
      showStatus("offline");
      // Refused for now by a busy server (not by the network, which Socket.IO retries by
      // itself): try again after a pause.
      if (!socket.active) {
        setTimeout(() => socket.connected || socket.connect(), retryMs * (0.5 + Math.random()));
        retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
      }
      return;
    }
    showStatus("refused", err.message);
    onRefused?.(err.message);
    const wait = RETRY_AFTER_MS[err.message];
    if (wait && !retry) {
      retry = setTimeout(() => {
        retry = null;
        socket.connect();
      }, wait());
    }
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState !== "visible") return;
    if (socket.connected) resync();
    else socket.connect();
  });
  window.addEventListener("online", () => socket.connected || socket.connect());

  showStatus("connecting");
  return {
    send,
    resync,
    pending: (name) => queue.some((c) => c.name === name),
  };
}
