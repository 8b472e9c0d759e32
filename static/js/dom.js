// Small DOM and text helpers shared by every page. Text people typed is always set with
// textContent (never innerHTML), so a title like <script> shows as text.

/** Create an element: h("li", {class: "x", "aria-label": "y"}, "text", child). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Create an SVG element: svg("circle", {cx: 1}), children like h(). */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Make `current` look like `next`, changing only what differs, so that what stays on screen
 * stays put and CSS transitions run from the old values. Inline styles are left alone: the
 * caller sets them after morphing. Not for elements with event listeners. */
export function morph(current, next) {
  if (current.nodeType !== next.nodeType || current.nodeName !== next.nodeName) {
    current.replaceWith(next);
    return;
  }
  if (current.nodeType !== Node.ELEMENT_NODE) {
    if (current.nodeValue !== next.nodeValue) current.nodeValue = next.nodeValue;
    return;
  }
  for (const { name } of [...current.attributes]) {
    if (name !== "style" && !next.hasAttribute(name)) current.removeAttribute(name);
  }
  for (const { name, value } of [...next.attributes]) {
    if (current.getAttribute(name) !== value) current.setAttribute(name, value);
  }
  const before = [...current.childNodes];
  const after = [...next.childNodes];
  after.forEach((child, i) => (i < before.length ? morph(before[i], child) : current.append(child)));
  before.slice(after.length).forEach((child) => child.remove());
}

// A button is clicked when the press comes back up — the space bar's key, or the finger or
// mouse button — and only if the element it went down on is still there: a redraw in
// between (another phone's vote arriving) would swallow the press. So while a press is down,
// the part of the page holding it is drawn again only once the press is up and the click
// has happened.
let pressed = null; // the element a press went down on
const afterPress = new Map();

function pressUp() {
  if (!pressed) return;
  pressed = null;
  setTimeout(() => { // after the click, which follows the keyup or the pointerup
    const waiting = [...afterPress];
    afterPress.clear();
    for (const [parent, children] of waiting) replaceChildren(parent, ...children);
  });
}

document.addEventListener("keydown", (event) => {
  if (event.key === " ") pressed = document.activeElement;
}, true);
document.addEventListener("keyup", (event) => { if (event.key === " ") pressUp(); }, true);
document.addEventListener("pointerdown", (event) => { pressed = event.target; }, true);
document.addEventListener("pointerup", pressUp, true);
document.addEventListener("pointercancel", pressUp, true);
window.addEventListener("blur", pressUp);

/** Replace an element's children, keeping keyboard focus, and what is being typed there with
 * its caret and selection, on the element with the same key. */
export function replaceChildren(parent, ...children) {
  const focused = document.activeElement;
  if (pressed && parent.contains(pressed)) {
    afterPress.set(parent, children);
    return;
  }
  afterPress.delete(parent); // drawn now: a redraw held back for a press is older
  const key = focused && parent.contains(focused) ? focused.dataset.key : null;
  // What is being typed in a text or number field has not been sent yet: a redraw in the
  // middle of it (another phone's vote, an answer arriving) must not wipe it out.
  const typing = key && focused.matches("input:not([type=checkbox]):not([type=radio]), textarea")
    ? focused.value : null;
  // The caret and the selection too: a number selected to be typed over would otherwise be
  // typed in front of ("0" becoming "350" for 35). Number fields have neither to read.
  const selection = typing !== null && focused.selectionStart !== null
    ? [focused.selectionStart, focused.selectionEnd, focused.selectionDirection] : null;
  parent.replaceChildren(...children.flat());
  const again = key ? parent.querySelector(`[data-key="${CSS.escape(key)}"]`) : null;
  if (again && typing !== null && again.matches("input, textarea")) again.value = typing;
  again?.focus();
  if (again && selection && again.matches("input, textarea") && again.selectionStart !== null) {
    again.setSelectionRange(...selection);
  }
}

/** The page's data block (code, view, language, translated messages). */
export function pageData() {
  return JSON.parse(document.getElementById("page-data").textContent);
}

/** Fill %(name)s placeholders. */
export function fmt(template, params = {}) {
  return template.replace(/%\((\w+)\)s/g, (_, name) => String(params[name] ?? ""));
}

/** A plural pair [one, other] with its count filled in. */
export function plural(pair, n, params = {}) {
  const formatted = new Intl.NumberFormat(document.documentElement.lang).format(n);
  return fmt(n === 1 ? pair[0] : pair[1], { n: formatted, ...params });
}

export function percent(share) {
  return new Intl.NumberFormat(document.documentElement.lang, { style: "percent" }).format(share);
}

/** Group factors by category, in the categories' order, skipping empty categories. */
export function byCategory(categories, factors) {
  const groups = categories.map((c) => ({ category: c, factors: [] }));
  const index = new Map(groups.map((g) => [g.category.id, g]));
  for (const f of factors) index.get(f.category_id)?.factors.push(f);
  return groups.filter((g) => g.factors.length);
}

/** Refill a <select> with categories, keeping the chosen one when it still exists. */
export function fillCategories(select, categories) {
  const chosen = select.value;
  const signature = JSON.stringify(categories);
  if (select.dataset.signature === signature) return;
  select.dataset.signature = signature;
  select.replaceChildren(...categories.map((c) => h("option", { value: c.id }, c.name)));
  if (categories.some((c) => String(c.id) === chosen)) select.value = chosen;
}

/** Show a short message in a form's status line. */
export function say(el, text, kind = "info") {
  el.textContent = text;
  el.dataset.kind = kind;
}
