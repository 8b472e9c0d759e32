// The combined picture of a series: each workshop's result for every library factor side by
// side, and their combination. One renderer for the organizers' page (data in the page) and
// the public follow page, which stays connected and redraws when a workshop reveals a
// round. Everything typed by a person is set as text (textContent), never as markup.
import { io } from "/vendor/socket.io.esm.min.js";
import { h, svg, fmt, pageData, percent } from "./dom.js";
import { exportLinks } from "./exports.js";

const page = pageData();
const M = page.messages;
const $ = (id) => document.getElementById(id);
const number = (value, digits = 2) =>
  value === null || value === undefined
    ? "–"
    : new Intl.NumberFormat(document.documentElement.lang, { maximumFractionDigits: digits }).format(value);

/** A bar `share` (0–1) of the width; the figure beside it is its text alternative. */
function bar(share, kind = "chart-fill") {
  return svg("svg", { class: "chart", viewBox: "0 0 100 10", preserveAspectRatio: "none",
    "aria-hidden": "true", focusable: "false" },
  svg("rect", { class: "chart-track", width: 100, height: 10 }),
  svg("rect", { class: kind, height: 10, width: Math.max(0, Math.min(1, share || 0)) * 100 }));
}

function groupName(w) {
  return w.stakeholder || w.title;
}

/** What became of a factor in one workshop, in words. */
function cellText(cell) {
  const parts = [];
  if (cell.status === "kept" && cell.place !== null) {
    parts.push(fmt(M.place_of, { place: number(cell.place, 1), of: cell.of }));
    if (cell.consensus) parts.push(M.agreed);
  } else if (cell.status === "merged" && cell.merged_into) {
    parts.push(fmt(M.merged_into, { title: cell.merged_into }));
  } else {
    parts.push(M.fate[cell.status]);
  }
  if (cell.title_here) parts.push(fmt(M.called_here, { title: cell.title_here }));
  const figures = cell.figures;
  if (figures) {
    // A points round's median is of points given, which its points and share say better.
    if (figures.points !== undefined) {
      parts.push(fmt(M.figures.points[figures.points === 1 ? 0 : 1], { n: figures.points }));
      if (figures.share !== null) parts.push(fmt(M.figures.share, { percent: percent(figures.share) }));
    } else if (figures.median !== undefined && figures.median !== null) parts.push(fmt(M.figures.median, { median: number(figures.median, 1) }));
    if (figures.dots !== undefined) parts.push(fmt(M.figures.dots[figures.dots === 1 ? 0 : 1], { n: figures.dots }));
    if (figures.mean_rank !== undefined && figures.mean_rank !== null) parts.push(fmt(M.figures.mean_rank, { place: number(figures.mean_rank, 1) }));
    if (figures.agreement !== undefined && figures.agreement !== null) parts.push(fmt(M.figures.agreement, { percent: percent(figures.agreement) }));
  }
  return parts.join(" · ");
}

/** A date as people of the page's language write it (the day only). */
function day(iso) {
  return new Intl.DateTimeFormat(document.documentElement.lang, { dateStyle: "long" }).format(new Date(iso));
}

/** When a workshop was held, and how many took part (follow page, if published). */
function heldLine(record, w) {
  const held = record.transparency?.workshops.find((x) => x.key === w.key);
  if (!held) return null;
  const parts = [held.held_at ? fmt(M.open.held, { date: day(held.held_at) }) : M.open.not_held];
  if (held.participants !== null) {
    parts.push(fmt(M.open.took_part[held.participants === 1 ? 0 : 1], { n: held.participants }));
  } else if (held.few) parts.push(fmt(M.open.few, { n: record.transparency.group_min }));
  return h("span", { class: "hint held" }, ` · ${parts.join(" · ")}`);
}

function workshops(record) {
  if (!record.workshops.length) return [h("h2", {}, M.workshops), h("p", {}, M.no_workshops)];
  return [h("h2", {}, M.workshops), h("ul", { class: "plain workshops" }, record.workshops.map((w) =>
    h("li", {},
      h("span", { class: "letter", "aria-hidden": "true" }, w.letter), " ",
      h("strong", {}, fmt(M.workshop_line, { letter: w.letter, group: groupName(w) })),
      w.stakeholder ? h("span", { class: "hint" }, ` · ${w.title}`) : null,
      heldLine(record, w),
      h("span", { class: "status-tag" }, M.steps[w.step]),
      w.method ? h("span", { class: "status-tag" }, M.methods[w.method]) : null,
      w.consensus === null ? null : h("span", { class: "status-tag" }, w.consensus ? M.consensus_reached : M.consensus_not))))];
}

/** The organizer's own words: paragraphs as they were typed, set as text. */
function paragraphs(text) {
  return text.split(/\n\s*\n/).map((p) => h("p", { class: "organizer-text" }, p.trim()));
}

/** The follow page's account of the process: the organizer's words about it and about the
 * coming workshops (only what they wrote). */
function about(record) {
  const t = record.transparency;
  if (!t || (!t.process && !t.coming)) return null;
  return [
    ...(t.process ? [h("h2", {}, M.open.about), ...paragraphs(t.process)] : []),
    ...(t.coming ? [h("h2", {}, M.open.coming), ...paragraphs(t.coming)] : []),
  ];
}

/** What the workshops decided about the starting list, and why when it was published. */
function decisions(record) {
  const t = record.transparency;
  if (!t) return null;
  const names = Object.fromEntries(record.workshops.map((w) => [w.key, `${w.letter}: ${groupName(w)}`]));
  return [h("h2", {}, M.open.decisions), h("p", { class: "hint" }, M.open.decisions_note),
    t.decisions.length
      ? h("ul", { class: "plain decisions" }, t.decisions.map((d) => h("li", {},
        h("strong", {}, fmt(M.open.decision, { group: names[d.workshop] || "", title: d.title })),
        d.at ? h("span", { class: "hint" }, ` · ${day(d.at)}`) : null,
        d.reason ? h("p", { class: "result-detail" }, fmt(M.open.reason, { reason: d.reason })) : null)))
      : h("p", {}, M.open.no_decisions)];
}

function evidence(f) {
  if (!f.evidence?.length) return null;
  return h("details", { class: "evidence" }, h("summary", {}, M.evidence),
    h("ul", {}, f.evidence.map((e) => h("li", {},
      e.url ? h("a", { href: e.url, rel: "noopener noreferrer" }, e.text) : e.text))));
}

function picture(record) {
  const ranked = record.factors.filter((f) => f.rank !== null);
  const out = [h("h2", {}, M.picture)];
  if (!ranked.length) return [...out, h("p", {}, M.nothing_yet)];
  out.push(h("p", { class: "hint" }, M.picture_note));
  out.push(h("ol", { class: "plain picture-list" }, ranked.map((f) =>
    h("li", { dataset: { factor: f.id } },
      h("div", { class: "result-head" },
        h("span", { class: "result-title" }, `${f.rank}. ${f.title}`),
        h("span", { class: "result-figure" }, fmt(M.priority, { value: number(f.priority) }))),
      h("p", { class: "result-detail" }, [f.category,
        fmt(M.coverage, { n: f.coverage, total: record.workshops.length }),
        f.agreement ? M.agreement[f.agreement] : null].filter(Boolean).join(" · ")),
      bar(f.priority),
      h("ul", { class: "plain per-workshop" }, record.workshops.map((w) => {
        const cell = f.cells[w.key];
        return h("li", {},
          h("span", { class: "letter" }, w.letter),
          cell.priority === null ? h("span", { class: "no-bar" }) : bar(cell.priority, "chart-keep"),
          h("span", { class: "result-detail" }, `${groupName(w)}: ${cellText(cell)}`));
      })),
      evidence(f)))));
  return out;
}

function differences(record) {
  const differ = record.factors.filter((f) => f.agreement === "differ");
  const names = Object.fromEntries(record.workshops.map((w) => [w.key, groupName(w)]));
  return [h("h2", {}, M.differ_heading), differ.length
    ? h("ul", {}, differ.map((f) => h("li", {}, h("strong", {}, f.title), " — ",
      Object.entries(f.cells).filter(([, c]) => c.tier).map(([k, c]) => `${names[k]}: ${M.tier[c.tier]}`).join("; "))))
    : h("p", {}, M.differ_none),
  h("p", { class: "hint" }, record.concordance.w === null ? M.concordance_none
    : fmt(M.concordance, { w: number(record.concordance.w), items: record.concordance.items }))];
}

function table(record) {
  return [h("h2", {}, M.side_by_side),
    h("div", { class: "table-scroll", role: "region", tabindex: 0, "aria-label": M.table_label },
      h("table", { class: "data" },
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, M.rank), h("th", { scope: "col" }, M.factor),
          record.workshops.map((w) => h("th", { scope: "col" }, `${w.letter}: ${groupName(w)}`)),
          h("th", { scope: "col" }, M.combined), h("th", { scope: "col" }, M.between))),
        h("tbody", {}, record.factors.map((f) => h("tr", {},
          h("td", {}, f.rank ?? "–"),
          h("th", { scope: "row" }, f.title, h("span", { class: "hint" }, ` (${f.category})`)),
          record.workshops.map((w) => h("td", {}, cellText(f.cells[w.key]))),
          h("td", {}, number(f.priority)),
          h("td", {}, f.agreement ? M.agreement[f.agreement] : "–"))))))];
}

function finalList(record) {
  const final = record.final?.factors;
  const concluded = record.transparency && record.series.concluded_at
    ? h("p", { class: "hint" }, fmt(M.open.concluded, { date: day(record.series.concluded_at) })) : null;
  return [h("h2", {}, M.final), concluded, final?.length
    ? h("ol", { class: "final-list" }, final.map((f) => h("li", {}, f.title, h("span", { class: "hint" }, ` (${f.category})`))))
    : h("p", {}, M.final_none)];
}

function render(record) {
  const sections = [about(record), workshops(record), finalList(record), decisions(record),
    picture(record), differences(record), table(record)].filter(Boolean);
  $("picture").replaceChildren(...sections.map((parts) => h("section", { class: "card" }, parts)));
}

let asOf = page.record.as_of;
render(page.record);

// The organizers' page: exports show their progress while the server writes them.
if ($("export-status")) exportLinks(document.querySelectorAll(".export-link"), $("export-status"), M.exports);

if (page.follow) {
  const status = $("connection");
  const say = (state, text) => { status.dataset.state = state; status.textContent = text; };
  const socket = io("/follow", { auth: { series: page.follow } });
  socket.on("connect", () => say("online", M.connection.online));
  socket.on("disconnect", () => say("offline", M.connection.offline));
  socket.on("connect_error", () => say("offline", M.connection.offline));
  socket.on("series", (record) => {
    if (record.as_of < asOf) return; // older than what is shown
    asOf = record.as_of;
    render(record);
    $("announcement").textContent = M.updated;
  });
  socket.on("unpublished", () => {
    socket.disconnect();
    say("refused", M.unpublished);
  });
}
