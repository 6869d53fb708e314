// Shared by the auditor's console (`wefe console`) and the node's operator
// page (`wefe-node`, /ui/): DOM building that inserts every value as text
// (textContent, never HTML: names, reasons and messages come from members or
// peers), the language switch, tables and fact lists. Each page defines its
// own `I18N` dictionary ({en: {...}, zh: {...}}) before it calls `t`.
"use strict";

let lang = (localStorage.getItem("wefe-lang") || (navigator.language || "en")).startsWith("zh") ? "zh" : "en";
const t = (key, vars = {}) =>
  (I18N[lang][key] || I18N.en[key] || key).replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));
const locale = () => (lang === "zh" ? "zh-CN" : "en");

// el("td", {class: "mono"}, "text", child…): children are strings (as text) or nodes.
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// An error whose message is meant for the reader (from the server, or ours).
class ApiError extends Error {}

const link = (href, text, cls) => el("a", { href, class: cls }, text);
const statusCell = (s) => el("td", {}, el("span", { class: `status ${s}` }, s));

function table(headers, rows, emptyKey) {
  if (rows.length === 0) return el("p", { class: "empty" }, t(emptyKey));
  return el("table", {},
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, t(h))))),
    el("tbody", {}, rows));
}

function facts(pairs) {
  return el("dl", { class: "facts" }, pairs.flatMap(([k, v]) => [el("dt", {}, t(k)), el("dd", {}, v ?? "–")]));
}

function hexToBytes(hex) {
  const h = hex.trim().replace(/^0x/, "");
  if (!/^[0-9a-fA-F]*$/.test(h) || h.length % 2) return null;
  return Uint8Array.from(h.match(/../g) || [], (b) => parseInt(b, 16));
}

// Unix seconds as a <time> in the reader's local time (ISO in its datetime).
function timeEl(seconds) {
  if (seconds == null) return "–";
  const d = new Date(seconds * 1000);
  return el("time", { datetime: d.toISOString() }, d.toLocaleString(locale()));
}

// Static labels (data-i18n, data-i18n-label) and the switch button; a click
// switches, remembers the choice and calls rerender().
function translateStatic() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const n of document.querySelectorAll("[data-i18n]")) n.textContent = t(n.dataset.i18n);
  for (const n of document.querySelectorAll("[data-i18n-label]")) n.setAttribute("aria-label", t(n.dataset.i18nLabel));
  const button = document.getElementById("lang");
  button.textContent = t("lang_switch");
  button.lang = lang === "zh" ? "en" : "zh";
}

function setupLanguage(rerender) {
  translateStatic();
  document.getElementById("lang").addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    localStorage.setItem("wefe-lang", lang);
    translateStatic();
    rerender();
  });
}

// Marks the nav link of the current route.
function markNav(path) {
  for (const a of document.querySelectorAll("nav a")) {
    const href = a.getAttribute("href");
    const current = href === "#/" ? path === "#/" || path === "" : path.startsWith(href);
    if (current) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}
