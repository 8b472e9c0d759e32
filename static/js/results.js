// Results, shared by the board, the phones and the console: the consensus meter, a list with
// bars per factor for every method, the impact × uncertainty matrix as a chart, and how the
// group moved from round to round. Figures are always written out as text too: nothing is
// told by colour, position or length alone.
import { h, svg, fmt, morph, plural, percent } from "./dom.js";

export const number = (value, digits = 1) =>
  value === null || value === undefined
    ? "–"
    : new Intl.NumberFormat(document.documentElement.lang, { maximumFractionDigits: digits }).format(value);

// Charts are SVG, drawn in a 100 × 10 box stretched to the row; the figures beside them are
// the text alternative, so the charts themselves are hidden from screen readers.
function chart(...shapes) {
  return svg("svg", { class: "chart", viewBox: "0 0 100 10", preserveAspectRatio: "none",
    "aria-hidden": "true", focusable: "false" },
  svg("rect", { class: "chart-track", width: 100, height: 10 }), shapes);
}

/** A bar from the left, `share` (0–1) of the width. */
function bar(share) {
  return chart(svg("rect", { class: "chart-fill", height: 10, "data-width": share || 0 }));
}

/** Keep to the right of the middle, remove to the left: each as its share of the votes. */
function diverging(keep, remove) {
  return chart(
    svg("rect", { class: "chart-remove", height: 10, "data-width": remove / 2, "data-from-middle": "left" }),
    svg("rect", { class: "chart-keep", x: 50, height: 10, "data-width": keep / 2 }),
    svg("line", { class: "chart-middle", x1: 50, x2: 50, y1: 0, y2: 10 }));
}

/** How many gave each value on the scale, as columns. */
function distribution(counts) {
  const most = Math.max(1, ...counts);
  const width = 100 / counts.length;
  return svg("svg", { class: "chart distribution", viewBox: "0 0 100 30", preserveAspectRatio: "none",
    "aria-hidden": "true", focusable: "false" },
  counts.map((count, i) => {
    const height = (count / most) * 28;
    return svg("rect", { class: "chart-fill", x: i * width + 1, y: 30 - Math.max(height, 1),
      width: width - 2, height: Math.max(height, 1) });
  }));
}

// Set by renderResults for the rows it draws: the words of the five verdicts, how a row's
// change since the previous round is said (in words, not by colour), and each stakeholder
// group's line under a factor.
let verdictWords = {};
let changeLine = () => null;
let groupLines = () => null;

function item(row, title, figure, detail, graphic) {
  const gone = ["removed", "merged"].includes(row.status);
  return h("li", { class: gone ? "struck" : null, dataset: { factor: row.factor_id, verdict: row.verdict } },
    h("div", { class: "result-head" },
      h("span", { class: "result-title" }, title),
      row.verdict ? h("span", { class: `verdict verdict-${row.verdict}` }, verdictWords[row.verdict]) : null,
      h("span", { class: "result-figure" }, figure)),
    graphic ?? null,
    detail ? h("p", { class: "result-detail" }, detail) : null,
    changeLine(row),
    groupLines(row));
}

/** The groups side by side under each factor: each shown group's verdict and figure. */
function bySide(results, names, M) {
  const shown = (results.groups ?? []).filter((g) => !g.withheld);
  if (!shown.length) return () => null;
  return (row) => h("ul", { class: "group-results", "aria-label": M.by_group },
    shown.map((group) => {
      const verdict = group.verdicts[row.factor_id];
      const figure = previousSummary({ method: results.method, factors: group.factors }, row.factor_id, M);
      return h("li", { dataset: { group: group.group_id, verdict } },
        fmt(M.group_line, { group: names.get(group.group_id) ?? "?", verdict: verdictWords[verdict] }),
        figure ? ` · ${figure}` : "");
    }));
}

/** Who took part in the round, and per group where that can be shown. */
function turnout(results, names, M) {
  const p = results.participation;
  if (!p) return null;
  const lines = [fmt(M.turnout, p)];
  if (p.dropped) lines.push(fmt(M.turnout_dropped, { n: p.dropped }));
  const groups = p.groups.filter((g) => !g.withheld)
    .map((g) => fmt(M.turnout_group, { ...g, group: names.get(g.group_id) ?? "?" }));
  return h("p", { class: "turnout" }, [...lines, ...groups].join(" · "));
}

// Decimal steps have no exact binary form: a change this close to the threshold is within it.
const SLACK = 1e-9;

/** "stable: moved 3 % since the previous round", or "moved 20 % …"; nothing without a figure. */
function changeSaid(row, threshold, M) {
  if (row.change === null || row.change === undefined) return null;
  const stable = row.change <= threshold + SLACK;
  return h("p", { class: `result-change${stable ? " stable" : ""}` },
    fmt(stable ? M.change_stable : M.change_moved, { percent: percent(row.change) }));
}

/** "3." before a factor's title, or "–." for one nobody rated (it has no place). */
const placed = (row) => `${row.rank ?? "–"}. ${row.title}`;

const ROWS = {
  keep_remove(row, M) {
    const verdict = row.majority === null ? M.no_votes
      : row.majority === "tie" ? M.tie
      : row.majority === "keep" ? M.most_keep : M.most_remove;
    const votes = row.keep + row.remove;
    const detail = [fmt(M.keep_remove_counts, row),
      row.agreement === null ? "" : fmt(M.agreement, { percent: percent(row.agreement) })];
    return item(row, row.title, verdict, detail.filter(Boolean).join(" · "),
      diverging(votes && row.keep / votes, votes && row.remove / votes));
  },
  dots(row, M, max) {
    return item(row, placed(row), plural(M.dots, row.dots), null,
      bar(max && row.dots / max));
  },
  points(row, M, max) {
    const detail = row.share === null ? M.no_votes
      : [fmt(M.points_share, { percent: percent(row.share) }), plural(M.points_given_by, row.voters),
        fmt(M.median, { median: number(row.median) }), fmt(M.iqr, { q1: number(row.q1), q3: number(row.q3) }),
        fmt(M.points_mean, { mean: number(row.mean) })].join(" · ");
    return item(row, placed(row), plural(M.points, row.points), detail,
      bar(max && row.points / max));
  },
  rating(row, M, _, results) {
    const detail = row.answers
      ? [fmt(M.iqr, { q1: number(row.q1), q3: number(row.q3) }),
         fmt(M.agreement, { percent: percent(row.agreement) }),
         fmt(M.distribution, { counts: row.distribution.join(", "), scale: results.settings.scale })]
      : [M.no_votes];
    if (row.no_opinion) detail.push(plural(M.no_opinion_count, row.no_opinion));
    return item(row, placed(row), fmt(M.median, { median: number(row.median) }),
      detail.join(" · "), distribution(row.distribution));
  },
  ranking(row, M, _, results) {
    const places = results.factors.length;
    return item(row, placed(row), fmt(M.mean_place, { place: number(row.mean_rank) }),
      fmt(M.ranked_by, { n: row.ranked_by, ballots: results.ballots }),
      bar(places > 1 && row.mean_rank !== null ? (places - row.mean_rank) / (places - 1) : 0));
  },
  matrix(row, M, _, results) {
    const detail = row.answers
      ? [fmt(M.impact_is, { median: number(row.impact.median), q1: number(row.impact.q1), q3: number(row.impact.q3) }),
         fmt(M.uncertainty_is, { median: number(row.uncertainty.median), q1: number(row.uncertainty.q1), q3: number(row.uncertainty.q3) }),
         fmt(M.agreement, { percent: percent(row.agreement) })].join(" · ")
      : M.no_votes;
    // Numbered by place in the list (not by rank, which ties): the chart uses the same numbers.
    const label = results.factors.indexOf(row) + 1;
    return item(row, `${label}. ${row.title}`, row.quadrant ? M.quadrants[row.quadrant] : "", detail);
  },
};

/** The consensus meter: how far the round is from its rule, in words and a bar. */
export function verdictText(verdict, rule, M) {
  if (verdict.reached) return M.consensus_reached;
  if (verdict.measure === "kendall_w") {
    return fmt(M.consensus_w, { w: number(verdict.value, 2), rule: number(rule.kendall_w, 2) });
  }
  if (!verdict.factors) return M.consensus_no_answers;
  return fmt(M.consensus_factors, { meeting: verdict.factors_meeting, factors: verdict.factors });
}

const BY_CONCORDANCE = ["dots", "points", "ranking"];

/** The rule a round is judged by, in words: how factors are judged, and when there are
 * enough answers to judge them. */
export function ruleText(method, rule, M) {
  const parts = [M.presets[rule.preset]];
  if (rule.preset === "agreement" || rule.preset === "agreement_iqr") {
    parts.push(fmt(M.rule_agreement, { percent: percent(rule.agreement) }));
  }
  if (rule.preset === "iqr" || rule.preset === "agreement_iqr") {
    parts.push(fmt(M.rule_iqr, { iqr: number(rule.iqr) }));
  }
  if (BY_CONCORDANCE.includes(method)) parts.push(fmt(M.rule_w, { w: number(rule.kendall_w, 2) }));
  parts.push(fmt(M.rule_enough, { share: percent(rule.min_share), n: rule.min_answers }));
  if (rule.every_group) parts.push(M.rule_every_group);
  return parts.join(" · ");
}

/** The titles of the factors with these ids, in a list. */
function titlesOf(results, ids) {
  return ids.map((id) => results.factors.find((r) => r.factor_id === id)?.title)
    .filter(Boolean).join(", ");
}

/** What holds the verdict back, named; a caution for small panels; a changed rule. */
function notes(results, names, M) {
  const titles = (ids) => titlesOf(results, ids);
  const groupNames = (ids) => ids.map((id) => names.get(id) ?? "?").join(", ");
  const verdict = results.verdict;
  const withheld = (results.groups ?? []).filter((g) => g.withheld).map((g) => g.group_id);
  return [
    verdict.too_few.length ? fmt(M.too_few_on, { factors: titles(verdict.too_few) }) : null,
    verdict.divided.length ? fmt(M.divided_on, { factors: titles(verdict.divided) }) : null,
    verdict.groups_behind?.length ? fmt(M.groups_behind, { groups: groupNames(verdict.groups_behind) }) : null,
    withheld.length ? fmt(M.groups_withheld, { groups: groupNames(withheld) }) : null,
    verdict.small_panel && results.ballots ? M.small_panel : null,
    results.rule_changed
      ? fmt(M.rule_changed, { rule: ruleText(results.method, results.declared_rule, M) }) : null,
  ].filter(Boolean).map((text) => h("p", { class: "consensus-note" }, text));
}

function meter(results, names, M, advice) {
  const verdict = results.verdict;
  return h("div", { class: `consensus${verdict.reached ? " reached" : ""}` },
    h("p", { class: "consensus-text" }, verdict.reached ? "✓ " : "", verdictText(verdict, results.rule, M)),
    bar(verdict.progress),
    advice ? nextStep(results, M) : null,
    h("p", { class: "consensus-rule" }, fmt(M.rule_text, { rule: ruleText(results.method, results.rule, M) })),
    notes(results, names, M),
    turnout(results, names, M));
}

/** The next step the round recommends (for the facilitator): stop, and why, or another
 * round, with the factors still moving named. */
function nextStep(results, M) {
  const next = results.recommendation;
  if (!next) return null;
  const threshold = percent(next.threshold);
  const lines = [fmt(M.next_step[next.next], { percent: threshold, max: next.max_rounds })];
  if (next.next !== "stop_consensus") {
    if (next.moving.length) {
      lines.push(fmt(M.still_moving, { percent: threshold, factors: titlesOf(results, next.moving) }));
    }
    // The first round of its kind has nothing to compare with: say so once, not per factor.
    const first = results.factors.every((row) => row.change === null || row.change === undefined);
    if (next.unmeasured.length) {
      lines.push(first ? M.nothing_to_compare_yet
        : fmt(M.nothing_to_compare, { factors: titlesOf(results, next.unmeasured) }));
    }
  }
  if (next.max_rounds) lines.push(fmt(M.rounds_held, { rounds: next.rounds, max: next.max_rounds }));
  return h("div", { class: `next-step next-${next.next}` },
    lines.map((text, i) => h("p", { class: i ? "consensus-note" : "next-step-text" }, text)));
}

/** How the group moved: each revealed round's verdict, and the order's stability. */
function history(rounds, M) {
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
  results.factors.forEach((row, index) => {
    if (!row.answers) return;
    const cx = x(row.uncertainty.median), cy = y(row.impact.median);
    parts.push(
      svg("line", { x1: x(row.uncertainty.q1), x2: x(row.uncertainty.q3), y1: cy, y2: cy, class: "matrix-spread" }),
      svg("line", { x1: cx, x2: cx, y1: y(row.impact.q1), y2: y(row.impact.q3), class: "matrix-spread" }),
      svg("circle", { cx, cy, r: 15, class: "matrix-point" }),
      svg("text", { x: cx, y: cy + 5, "text-anchor": "middle", class: "matrix-label" }, index + 1));
  });
  return svg("svg", { viewBox: `0 0 ${size} ${size}`, class: "matrix", role: "img",
    "aria-label": M.matrix_label }, parts);
}

/** The reasons shown beside a factor's result in a round (reasons from the edges): a
 * labelled list of their texts, never who gave them; null without any. The console's
 * reasons carry a status, and only shown ones are listed here. */
export function reasonList(reasons, roundId, factorId, M) {
  const shown = (reasons ?? []).filter((r) => r.round_id === roundId && r.factor_id === factorId
    && (r.status ?? "shown") === "shown");
  if (!shown.length) return null;
  const id = `reasons-${roundId}-${factorId}`;
  return h("div", { class: "reasons" },
    h("p", { class: "reasons-heading", id }, fmt(M.reasons_heading, { number: shown[0].number })),
    h("ul", { class: "reasons-list", "aria-labelledby": id }, shown.map((r) => h("li", {}, r.text))));
}

/** Fill `container` with a round's results: meter (with the next step, for the facilitator:
 * `advice`), chart (the matrix, when asked for), list, with the stakeholder groups (`groups`:
 * the room's `{id, name}`) side by side and under each factor the reasons shown on it. */
export function renderResults(container, results,
  { M, rounds = null, chart = false, advice = false, groups = [], reasons = [] }) {
  const names = new Map(groups.map((g) => [g.id, g.name]));
  verdictWords = M.verdicts;
  groupLines = bySide(results, names, M);
  const threshold = results.rule.stable_change ?? 0.15;
  changeLine = (row) => changeSaid(row, threshold, M);
  const max = Math.max(0, ...results.factors.map((r) => r.dots ?? r.points ?? 0));
  const list = h("ol", { class: "results" },
    results.factors.map((row) => {
      const li = ROWS[results.method](row, M, max, results);
      const given = reasonList(reasons, results.round_id, row.factor_id, M);
      if (given) li.append(given);
      return li;
    }));
  const withChart = chart && results.method === "matrix";
  const next = h("div", { class: `results-inner${withChart ? " with-chart" : ""}` },
    [meter(results, names, M, advice), withChart ? matrixChart(results, M) : null, list,
      history(rounds, M)].filter(Boolean));
  // Update what is on screen in place, so that bars grow and shrink instead of redrawing.
  const current = container.firstElementChild;
  if (current?.classList.contains("results-inner")) morph(current, next);
  else container.replaceChildren(next);
  sizeBars(container);
}

/** Give the bars their widths through the style property (which the Content-Security-Policy
 * allows, unlike style attributes), after the first frame so that they grow into place. */
function sizeBars(container) {
  requestAnimationFrame(() => {
    for (const rect of container.querySelectorAll("rect[data-width]")) {
      const width = Number(rect.dataset.width) * 100;
      const x = rect.dataset.fromMiddle === "left" ? 50 - width : Number(rect.getAttribute("x") ?? 0);
      // Both, always: a rect reused for another kind of bar must not keep its old place.
      rect.style.width = `${width}px`;
      rect.style.x = `${x}px`;
    }
  });
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
    case "points":
      return `${plural(M.points, row.points)} · ${fmt(M.place, { rank: row.rank })}`;
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

/** A trajectory cell's figure in words, as its method's result list writes it. */
function cellFigure(cell, method, M, words) {
  if (cell.value === null && !cell.quadrant) return M.no_votes;
  switch (method) {
    case "keep_remove": return fmt(words.kept_by, { percent: percent(cell.value) });
    case "dots": return plural(M.dots, cell.value);
    case "points": return plural(M.points, cell.value);
    case "rating": return fmt(M.median, { median: number(cell.value) });
    case "ranking": return fmt(M.mean_place, { place: number(cell.value) });
    default: return cell.quadrant ? M.quadrants[cell.quadrant] : fmt(M.median, { median: number(cell.value) });
  }
}

function cellContent(cell, method, M, words) {
  return [h("span", { class: "moved-figure" }, cellFigure(cell, method, M, words)), " ",
    h("span", { class: `verdict verdict-${cell.verdict}` }, M.verdicts[cell.verdict])];
}

/** How the picture moved (the console's `trajectory`): factors as rows, the revealed rounds
 * as columns, each cell the round's figure and verdict, and where each factor ended (its
 * last measured result, with the round named); a plain table with a caption and headers,
 * so that a screen reader reads each cell with its factor and round. Null before a round
 * has been revealed. */
export function trajectoryTable(trajectory, M, words) {
  if (!trajectory?.rounds.length) return null;
  const methods = new Map(trajectory.rounds.map((r) => [r.round_id, r]));
  // Scrolled sideways when there are many rounds: reachable by keyboard, named for it.
  return h("div", { class: "moved", tabindex: 0, role: "region", "aria-label": words.caption },
    h("table", { class: "moved-table" },
      h("caption", {}, words.caption),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, words.factor),
        trajectory.rounds.map((r) => h("th", { scope: "col" },
          fmt(M.round, { number: r.number }), h("br"), h("span", { class: "moved-method" }, M.methods[r.method]))),
        h("th", { scope: "col" }, words.final))),
      h("tbody", {}, trajectory.factors.map((f) => {
        const cells = new Map(f.cells.map((c) => [c.round_id, c]));
        const final = f.final;
        const gone = ["removed", "merged", "hidden"].includes(f.status);
        return h("tr", { dataset: { factor: f.factor_id } },
          h("th", { scope: "row" }, f.title),
          trajectory.rounds.map((r) => {
            const cell = cells.get(r.round_id);
            return h("td", {}, cell ? cellContent(cell, r.method, M, words) : "–");
          }),
          h("td", { class: "moved-final" },
            final ? [...cellContent(final, methods.get(final.round_id).method, M, words), " (",
              fmt(words.in_round, { number: methods.get(final.round_id).number }), ")"] : "–",
            gone ? [h("br"), h("span", { class: "status-tag" }, M.status[f.status])] : null));
      }))),
    h("p", { class: "hint" }, words.hint));
}
