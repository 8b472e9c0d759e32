// Export links that never leave the page waiting in silence. The server writes exports in a
// worker process; asked with `Prefer: respond-async`, it answers a small export with the
// file at once and a large one with its job (202), whose progress is shown here until the
// file is ready and downloaded. Without this script the links still work: they wait.
import { fmt, percent } from "./dom.js";

const POLL_MS = 800;
// How long the server may take before it answers with the job instead of the file.
const PREFER = "respond-async, wait=2";

/** Make every link of `links` export with progress in `statusEl` (a role=status element),
 * using the words of `words` (i18n's export messages). */
export function exportLinks(links, statusEl, words) {
  let busy = false;
  const say = (text) => {
    statusEl.textContent = text;
  };

  async function fetchJson(url, options = {}) {
    const response = await fetch(url, { credentials: "same-origin", ...options });
    const body = response.headers.get("Content-Type")?.startsWith("application/json")
      ? await response.json()
      : null;
    return { response, body };
  }

  function download(href, name) {
    const link = document.createElement("a");
    link.href = href;
    if (name) link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
  }

  function filename(response) {
    const match = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") ?? "");
    return match ? match[1] : "";
  }

  function progress(job) {
    if (job.state === "queued") return fmt(words.queued, { file: job.file, ahead: job.ahead ?? 0 });
    const stage = words.stages[job.stage] ?? words.stages.working;
    return fmt(words.running, { file: job.file, stage, percent: percent(job.progress) });
  }

  function failed(body) {
    say(body?.error?.message ?? words.failed);
  }

  async function follow(job) {
    for (;;) {
      say(progress(job));
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      const { response, body } = await fetchJson(job.status_url);
      if (!response.ok || !body) return failed(body);
      job = body;
      if (job.state === "failed") return failed(null);
      if (job.state === "done") {
        download(job.file_url);
        return say(fmt(words.ready, { file: job.file }));
      }
    }
  }

  async function start(url) {
    if (busy) return;
    busy = true;
    say(words.preparing);
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Prefer: PREFER } });
      if (response.status === 200) {
        // Done within the wait: this is the file itself.
        const name = filename(response);
        const blob = URL.createObjectURL(await response.blob());
        download(blob, name);
        setTimeout(() => URL.revokeObjectURL(blob), 60_000);
        say(fmt(words.ready, { file: name }));
      } else if (response.status === 202) {
        await follow(await response.json());
      } else {
        const json = response.headers.get("Content-Type")?.startsWith("application/json");
        failed(json ? await response.json() : null);
      }
    } catch {
      say(words.offline);
    } finally {
      busy = false;
    }
  }

  for (const link of links) {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      start(link.href);
    });
  }
}
