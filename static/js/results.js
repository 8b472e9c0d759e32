// Results as lists with bars, shared by the board, the phones and the console.
// Figures are always written out as text too: nothing is told by colour or length alone.
import { h, fmt, plural, percent } from "./dom.js";

function keepRemoveItem(row, M) {
  const votes = row.keep + row.remove;
  const verdict = row.majority === null ? M.no_votes
    : row.majority === "tie" ? M.tie
    : row.majority === "keep" ? M.most_keep : M.most_remove;
  const agreement = row.agreement === null ? "" : fmt(M.agreement, { percent: percent(row.agreement) });
  return h("li", { class: row.status === "removed" ? "struck" : null, dataset: { factor: row.factor_id } },
    h("div", { class: "result-head" },
      h("span", { class: "result-title" }, row.title),
      h("span", { class: "result-figure" }, verdict)),
    h("div", { class: "bar", "aria-hidden": "true" },
      h("div", { class: "bar-keep", dataset: { share: votes ? row.keep / votes : 0 } }),
      h("div", { class: "bar-remove", dataset: { share: votes ? row.remove / votes : 0 } })),
    h("p", { class: "result-detail" },
      [fmt(M.keep_remove_counts, { keep: row.keep, remove: row.remove }), agreement].filter(Boolean).join(" · ")));
}

function dotsItem(row, max, M) {
  return h("li", { dataset: { factor: row.factor_id } },
    h("div", { class: "result-head" },
      h("span", { class: "result-title" }, `${row.rank}. `, row.title),
      h("span", { class: "result-figure" }, plural(M.dots, row.dots))),
    h("div", { class: "bar", "aria-hidden": "true" },
      h("div", { class: "bar-fill", dataset: { share: max ? row.dots / max : 0 } })));
}

/** Fill `list` with a round's results. */
export function renderResults(list, results, M) {
  const max = Math.max(0, ...results.factors.map((r) => r.dots ?? 0));
  const items = results.factors.map((row) =>
    results.method === "keep_remove" ? keepRemoveItem(row, M) : dotsItem(row, max, M));
  list.replaceChildren(...items);
  // Widths set through the style property are allowed by the Content-Security-Policy.
  for (const bar of list.querySelectorAll("[data-share]")) {
    bar.style.width = `${(Number(bar.dataset.share) * 100).toFixed(1)}%`;
  }
}

export function resultsHeading(results, M) {
  return `${fmt(M.round, { number: results.number })} · ${M.methods[results.method]} · ${plural(M.ballots, results.ballots)}`;
}
