// Results, shared by the board, the phones and the console: the consensus meter, a list with
// bars per factor for every method, the impact × uncertainty matrix as a chart, and how the
// group moved from round to round. Figures are always written out as text too: nothing is
// told by colour, position or length alone.
import { h, svg, fmt, plural, percent } from "./dom.js";

const number = (value, digits = 1) =>
  value === null || value === undefined
    ? "–"
    : new Intl.NumberFormat(document.documentElement.lang, { maximumFractionDigits: digits }).format(value);

function bar(share, kind = "bar-fill") {
  return h("div", { class: kind, dataset: { share: share || 0 } });
}

function item(row, title, figure, detail, bars) {
  const gone = ["removed", "merged"].includes(row.status);
  return h("li", { class: gone ? "struck" : null, dataset: { factor: row.factor_id } },
    h("div", { class: "result-head" },
      h("span", { class: "result-title" }, title),
      h("span", { class: "result-figure" }, figure)),
    bars ? h("div", { class: "bar", "aria-hidden": "true" }, bars) : null,
    detail ? h("p", { class: "result-detail" }, detail) : null);
}

const ROWS = {
  keep_remove(row, M) {
    const verdict = row.majority === null ? M.no_votes
      : row.majority === "tie" ? M.tie
      : row.majority === "keep" ? M.most_keep : M.most_remove;
    const votes = row.keep + row.remove;
    const detail = [fmt(M.keep_remove_counts, row),
      row.agreement === null ? "" : fmt(M.agreement, { percent: percent(row.agreement) })];
    return item(row, row.title, verdict, detail.filter(Boolean).join(" · "),
      [bar(votes && row.keep / votes, "bar-keep"), bar(votes && row.remove / votes, "bar-remove")]);
  },
  dots(row, M, max) {
    return item(row, `${row.rank}. ${row.title}`, plural(M.dots, row.dots), null,
      [bar(max && row.dots / max)]);
  },
  rating(row, M, _, results) {
    const detail = row.answers
      ? [fmt(M.iqr, { q1: number(row.q1), q3: number(row.q3) }),
         fmt(M.agreement, { percent: percent(row.agreement) }),
         fmt(M.distribution, { counts: row.distribution.join(", "), scale: results.settings.scale })]
      : [M.no_votes];
    if (row.no_opinion) detail.push(plural(M.no_opinion_count, row.no_opinion));
    const most = Math.max(1, ...row.distribution);
    const histogram = h("div", { class: "distribution", "aria-hidden": "true" },
      row.distribution.map((count, i) => h("span", { class: "distribution-bar", title: `${i + 1}: ${count}`,
        dataset: { height: count / most } })));
    const li = item(row, `${row.rank}. ${row.title}`, fmt(M.median, { median: number(row.median) }),
      detail.join(" · "));
    li.insertBefore(histogram, li.lastChild);
    return li;
  },
  ranking(row, M, _, results) {
    const places = results.factors.length;
    return item(row, `${row.rank}. ${row.title}`, fmt(M.mean_place, { place: number(row.mean_rank) }),
      fmt(M.ranked_by, { n: row.ranked_by, ballots: results.ballots }),
      [bar(places > 1 && row.mean_rank !== null ? (places - row.mean_rank) / (places - 1) : 0)]);
  },
  matrix(row, M) {
    const detail = row.answers
      ? [fmt(M.impact_is, { median: number(row.impact.median), q1: number(row.impact.q1), q3: number(row.impact.q3) }),
         fmt(M.uncertainty_is, { median: number(row.uncertainty.median), q1: number(row.uncertainty.q1), q3: number(row.uncertainty.q3) }),
         fmt(M.agreement, { percent: percent(row.agreement) })].join(" · ")
      : M.no_votes;
    return item(row, `${row.rank}. ${row.title}`, row.quadrant ? M.quadrants[row.quadrant] : "", detail);
  },
};

/** The consensus meter: how far the round is from the workshop's rule, in words and a bar. */
export function verdictText(verdict, rule, M) {
  if (verdict.reached) return M.consensus_reached;
  if (verdict.measure === "kendall_w") {
    return fmt(M.consensus_w, { w: number(verdict.value, 2), rule: number(rule.kendall_w, 2) });
  }
  if (!verdict.factors) return M.consensus_no_answers;
  return fmt(M.consensus_factors, {
    meeting: verdict.factors_meeting, factors: verdict.factors, rule: percent(rule.agreement),
  });
}

function meter(results, rule, M) {
  const verdict = results.verdict;
  return h("div", { class: `consensus${verdict.reached ? " reached" : ""}` },
    h("p", { class: "consensus-text" }, verdict.reached ? "✓ " : "", verdictText(verdict, rule, M)),
    h("div", { class: "meter", "aria-hidden": "true" },
      h("div", { class: "meter-fill", dataset: { share: verdict.progress } })));
}

/** How the group moved: each revealed round's verdict, and the order's stability. */
function history(rounds, rule, M) {
  if (!rounds || rounds.length < 2) return null;
  return h("ol", { class: "history", "aria-label": M.history },
    rounds.map((r) => h("li", {},
      h("strong", {}, fmt(M.round, { number: r.number })), " ",
      // Rounded down, so that nothing short of the rule ever reads 100 %.
      r.verdict.reached ? `✓ ${M.consensus_reached}` : percent(Math.floor(r.verdict.progress * 100) / 100),
      r.stability === null ? "" : ` · ${fmt(M.stability, { rho: number(r.stability, 2) })}`)));
}

const QUADRANT_PLACES = {
  key_trend: ["start", "top"],
  critical_uncertainty: ["end", "top"],
  minor_trend: ["start", "bottom"],
  weak_signal: ["end", "bottom"],
};

/** The impact × uncertainty matrix: each factor at its medians, with its interquartile
 * ranges as a cross, numbered as in the list beside it. */
export function matrixChart(results, M) {
  const scale = results.settings.scale;
  const size = 600, pad = 56, span = size - 2 * pad;
  // Each step of the scale gets a cell; answers sit in the middle of theirs, off the frame.
  const x = (v) => pad + ((v - 0.5) / scale) * span; // uncertainty
  const y = (v) => size - pad - ((v - 0.5) / scale) * span; // impact
  const middle = (1 + scale) / 2;
  const parts = [
    svg("rect", { x: pad, y: pad, width: span, height: span, class: "matrix-frame" }),
    svg("line", { x1: x(middle), x2: x(middle), y1: pad, y2: size - pad, class: "matrix-mid" }),
    svg("line", { x1: pad, x2: size - pad, y1: y(middle), y2: y(middle), class: "matrix-mid" }),
    svg("text", { x: size / 2, y: size - 12, class: "matrix-axis", "text-anchor": "middle" }, M.uncertainty),
    svg("text", { x: 16, y: size / 2, class: "matrix-axis", "text-anchor": "middle",
      transform: `rotate(-90 16 ${size / 2})` }, M.impact),
  ];
  for (const [quadrant, [anchor, vertical]] of Object.entries(QUADRANT_PLACES)) {
    parts.push(svg("text", {
      x: anchor === "start" ? pad + 8 : size - pad - 8,
      y: vertical === "top" ? pad + 22 : size - pad - 10,
      "text-anchor": anchor, class: "matrix-quadrant",
    }, M.quadrants[quadrant]));
  }
  for (const row of results.factors) {
    if (!row.answers) continue;
    const cx = x(row.uncertainty.median), cy = y(row.impact.median);
    parts.push(
      svg("line", { x1: x(row.uncertainty.q1), x2: x(row.uncertainty.q3), y1: cy, y2: cy, class: "matrix-spread" }),
      svg("line", { x1: cx, x2: cx, y1: y(row.impact.q1), y2: y(row.impact.q3), class: "matrix-spread" }),
      svg("circle", { cx, cy, r: 15, class: "matrix-point" }),
      svg("text", { x: cx, y: cy + 5, "text-anchor": "middle", class: "matrix-label" }, row.rank));
  }
  return svg("svg", { viewBox: `0 0 ${size} ${size}`, class: "matrix", role: "img",
    "aria-label": M.matrix_label }, parts);
}

/** Fill `container` with a round's results: meter, chart (the matrix, when asked for), list. */
export function renderResults(container, results, { M, rule, rounds = null, chart = false }) {
  const max = Math.max(0, ...results.factors.map((r) => r.dots ?? 0));
  const list = h("ol", { class: "results" },
    results.factors.map((row) => ROWS[results.method](row, M, max, results)));
  container.replaceChildren(...[
    meter(results, rule, M),
    chart && results.method === "matrix" ? matrixChart(results, M) : null,
    list,
    history(rounds, rule, M),
  ].filter(Boolean));
  container.classList.toggle("with-chart", chart && results.method === "matrix");
  // Sizes set through the style property are allowed by the Content-Security-Policy.
  for (const el of container.querySelectorAll("[data-share]")) {
    el.style.width = `${(Number(el.dataset.share) * 100).toFixed(1)}%`;
  }
  for (const el of container.querySelectorAll("[data-height]")) {
    el.style.height = `${(Number(el.dataset.height) * 100).toFixed(1)}%`;
  }
}

export function resultsHeading(results, M) {
  const live = results.live ? ` · ${M.live}` : "";
  return `${fmt(M.round, { number: results.number })} · ${M.methods[results.method]} · ${plural(M.ballots, results.ballots)}${live}`;
}

/** What the group said last round about one factor, in a few words (for Delphi rounds). */
export function previousSummary(results, factorId, M) {
  const row = results?.factors.find((r) => r.factor_id === factorId);
  if (!row) return null;
  switch (results.method) {
    case "keep_remove":
      return row.agreement === null ? M.no_votes : `${fmt(M.keep_remove_counts, row)}`;
    case "dots":
      return `${plural(M.dots, row.dots)} · ${fmt(M.place, { rank: row.rank })}`;
    case "rating":
      return row.answers ? `${fmt(M.median, { median: number(row.median) })} (${fmt(M.iqr, { q1: number(row.q1), q3: number(row.q3) })})` : M.no_votes;
    case "ranking":
      return fmt(M.mean_place, { place: number(row.mean_rank) });
    case "matrix":
      return row.answers ? `${M.impact} ${number(row.impact.median)} · ${M.uncertainty} ${number(row.uncertainty.median)}` : M.no_votes;
    default:
      return null;
  }
}
