// The node's operator page: this node's health, jobs (with live progress,
// results and reports) and datasets (with imports by upload), from the node's
// REST API on the same origin. Every call carries the API token the operator
// gives at sign-in; it is kept in this tab's sessionStorage only (gone when
// the tab closes) and sent as `Authorization: Bearer`, never as a cookie.
// Values from peers or files (names, messages, CSV cells) are inserted as
// text only. Helpers (el, t, table, facts, the language switch) are in
// /ui/common.js.
"use strict";

const I18N = {
  en: {
    skip: "Skip to content", title: "wefe node", sections: "Sections",
    health: "Health", jobs: "Jobs", datasets: "Datasets", logout: "Sign out", lang_switch: "中文",
    sign_in: "Sign in to this node", token: "API token", sign_in_button: "Sign in",
    token_help: "The token is in the node's api-token file (<data_dir>/api-token by default, readable by the node's owner only; `cat` it on the node's host). This page keeps it in this browser tab only, until the tab closes.",
    member: "Member", status: "Status", problems: "Problems", chain: "Chain", head: "Chain head",
    cursor: "Indexed up to block", lag: "Lag (blocks)", confirmations: "Confirmations waited for",
    head_read: "Head read at", chain_error: "Last chain error", gateway: "Gateway",
    sessions_in: "Sessions peers hold here", sessions_out: "Sessions held with peers",
    queued: "Received, not yet consumed", peers: "Peers",
    peers_pending: "The first check of the peers' gateways has not finished yet (the node checks each active member's gateway every peer_probe_secs, 60 by default).",
    peers_none: "No other active member to check.",
    name: "Name", address: "Address", endpoint: "Endpoint", reachable: "Reachable", round_trip: "Handshake (ms)",
    checked: "Checked at", error: "Error", yes: "yes", no: "no",
    id: "Job", kind: "Kind", progress: "Progress", updated: "Updated", approved_block: "Approved at block",
    run_deadline: "Run deadline block", participants: "Participants", params: "Params", dataset_list: "Datasets",
    result: "Result", commitment: "Commitment on chain", download_result: "Download the result",
    download_key: "Download the commitment key", summary: "Summary", metrics: "Hold-out metrics",
    reports: "Reports", failure: "Failure", timeline: "On chain", block: "Block", event: "Event", actor: "Actor", tx: "Transaction",
    items: "{d} / {n} ids", eta: "about {s} s left", none_jobs: "This node has no job yet. Jobs appear here once every participant approved them on chain (`wefe job approve`).",
    showing: "{a}–{b} of {n}", more: "Next page", prev: "Previous page",
    none_events: "The node has not indexed this job's events yet.",
    ds_id: "Dataset id", rows: "Rows", id_column: "Id column", columns: "Columns", schema: "Schema hash",
    content: "Content hash (SHA-256)", imported: "Imported at",
    none_datasets: "No dataset yet: import one below, then register it on chain with `wefe dataset register`.",
    import_title: "Import a CSV dataset", file: "CSV file", import: "Import",
    import_help: "The node checks the file as it arrives, as POST /datasets does: a header naming the id column, distinct column names, the header's number of fields on every line, UTF-8, non-empty unique ids. An error names the line and column; nothing of a refused file is kept.",
    uploading: "Uploading: {p}%", checking: "Checking and storing…", imported_ok: "Imported {id}: {n} rows, SHA-256 {h}.",
    need_file: "Choose a CSV file and give the dataset an id.",
    bad_link: "This link does not name a page of the node: {h}. Use the menu above.",
    live_block: "block {b}", updated_at: "updated {t}", unreachable: "The node does not answer. Is wefe-node still running?",
    ok: "ok", degraded: "degraded",
    report_roc: "ROC curve (hold-out)", report_loss: "Loss", report_importance: "Feature importance",
    report_iv: "Information value per feature", "report_importance.csv": "Feature importance (table)",
    "report_woe.csv": "WOE / IV per bin (table)", rows_shown: "first {n} rows of {m}",
    bad_token: "This is not the node's token (compare it with the api-token file).",
    token_refused: "The node refused the token (was it replaced?): sign in again.", this_node: "this node",
  },
  zh: {
    skip: "跳到正文", title: "wefe 节点", sections: "栏目",
    health: "运行状态", jobs: "任务", datasets: "数据集", logout: "退出", lang_switch: "English",
    sign_in: "登录本节点", token: "API 令牌", sign_in_button: "登录",
    token_help: "令牌保存在节点的 api-token 文件中（默认为 <data_dir>/api-token，仅节点所有者可读；可在节点主机上用 `cat` 查看）。本页面只在当前浏览器标签页中保存令牌，关闭标签页即清除。",
    member: "成员", status: "状态", problems: "问题", chain: "链", head: "链最新区块",
    cursor: "已索引至区块", lag: "落后区块数", confirmations: "等待确认数",
    head_read: "读取时间", chain_error: "最近的链错误", gateway: "网关",
    sessions_in: "对方持有的会话", sessions_out: "本节点持有的会话",
    queued: "已接收未处理", peers: "对等节点",
    peers_pending: "尚未完成对各成员网关的首次检查（节点每隔 peer_probe_secs 秒检查一次，默认 60 秒）。",
    peers_none: "没有其他活跃成员需要检查。",
    name: "名称", address: "地址", endpoint: "网关地址", reachable: "可达", round_trip: "握手耗时（毫秒）",
    checked: "检查时间", error: "错误", yes: "是", no: "否",
    id: "任务", kind: "类型", progress: "进度", updated: "更新时间", approved_block: "批准区块",
    run_deadline: "运行截止区块", participants: "参与方", params: "参数", dataset_list: "数据集",
    result: "结果", commitment: "链上承诺", download_result: "下载结果",
    download_key: "下载承诺密钥", summary: "摘要", metrics: "验证集指标",
    reports: "报告", failure: "失败原因", timeline: "链上记录", block: "区块", event: "事件", actor: "操作账户", tx: "交易",
    items: "{d} / {n} 个 ID", eta: "约剩 {s} 秒", none_jobs: "本节点尚无任务。所有参与方在链上批准（`wefe job approve`）后，任务会出现在这里。",
    showing: "第 {a}–{b} 条，共 {n} 条", more: "下一页", prev: "上一页",
    none_events: "节点尚未索引该任务的链上事件。",
    ds_id: "数据集 ID", rows: "行数", id_column: "ID 列", columns: "列", schema: "模式哈希",
    content: "内容哈希（SHA-256）", imported: "导入时间",
    none_datasets: "尚无数据集：请在下方导入，然后用 `wefe dataset register` 在链上登记。",
    import_title: "导入 CSV 数据集", file: "CSV 文件", import: "导入",
    import_help: "节点在接收文件时即进行检查（与 POST /datasets 相同）：表头须包含 ID 列，列名不重复，每行字段数与表头一致，UTF-8 编码，ID 非空且唯一。错误会指出行号和列；被拒绝的文件不会保留任何内容。",
    uploading: "上传中：{p}%", checking: "正在检查并保存…", imported_ok: "已导入 {id}：{n} 行，SHA-256 {h}。",
    need_file: "请选择 CSV 文件并填写数据集 ID。",
    bad_link: "此链接不对应节点的任何页面：{h}。请使用上方菜单。",
    live_block: "区块 {b}", updated_at: "更新于 {t}", unreachable: "节点无响应。wefe-node 是否仍在运行？",
    ok: "正常", degraded: "异常",
    report_roc: "ROC 曲线（验证集）", report_loss: "损失", report_importance: "特征重要性",
    report_iv: "各特征的信息值（IV）", "report_importance.csv": "特征重要性（表）",
    "report_woe.csv": "各分箱 WOE / IV（表）", rows_shown: "前 {n} 行，共 {m} 行",
    bad_token: "该令牌不是本节点的令牌（请与 api-token 文件核对）。",
    token_refused: "节点拒绝了该令牌（是否已更换？）：请重新登录。", this_node: "本节点",
  },
};

const TOKEN_KEY = "wefe-node-token";
const ACTIVE = new Set(["approved", "running", "report_pending"]);
let names = new Map(); // peers' names by address, from /health

class SignedOut extends Error {}

async function request(path, options = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) throw new SignedOut();
  let res;
  try {
    res = await fetch(path, { ...options, headers: { ...(options.headers || {}), Authorization: `Bearer ${token}` } });
  } catch (_) {
    throw new ApiError(t("unreachable"));
  }
  if (res.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    throw new SignedOut();
  }
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    throw new ApiError(body.error || `HTTP ${res.status}`);
  }
  return res;
}

const api = async (path) => (await request(path, { headers: { Accept: "application/json" } })).json();

// ---- small pieces ----

function member(addr) {
  const name = names.get(addr.toLowerCase());
  return el("span", { title: addr, class: name ? "" : "mono" }, name ? `${name} · ${addr.slice(0, 6)}…${addr.slice(-4)}` : addr);
}

// The node's own fraction (it never goes back: started, ids processed,
// reporting, done), with the ids processed and the ETA beside it.
function progressCell(j, label) {
  const pct = Math.round(Math.max(0, Math.min(1, j.progress)) * 100);
  const parts = [`${pct}%`];
  if (j.items) parts.push(t("items", { d: j.items.done.toLocaleString(locale()), n: j.items.total.toLocaleString(locale()) }));
  if (j.items && j.items.eta_seconds != null && ACTIVE.has(j.status) && j.items.done < j.items.total) {
    parts.push(t("eta", { s: Math.ceil(j.items.eta_seconds) }));
  }
  return el("div", { class: "progress" },
    el("progress", { max: 100, value: pct, "aria-label": label, "data-job": j.id }, `${pct}%`),
    el("span", { class: "muted" }, parts.join(" · ")));
}

// Downloads an authenticated file: fetched with the token, saved from a blob: URL.
async function download(path, name) {
  const res = await request(path);
  const given = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") || "");
  const blob = await res.blob();
  if (given) name = given[1];
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function downloadButton(label, path, name) {
  const out = el("span", { class: "bad", role: "alert" });
  return el("span", {}, el("button", { type: "button", onclick: () => download(path, name).catch((e) => { out.textContent = e.message; }) }, label), " ", out);
}

// RFC 4180 CSV (quotes, doubled quotes, CRLF) into rows of cells.
function parseCsv(text) {
  const rows = [];
  let row = [], cell = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { row.push(cell); cell = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(cell); rows.push(row); row = []; cell = "";
    } else cell += c;
  }
  if (cell !== "" || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

// ---- pages ----

async function healthPage() {
  const h = await api("/health");
  const c = h.chain || {};
  const parts = [
    el("h2", {}, t("health")),
    facts([
      ["member", el("span", { class: "mono" }, h.member)],
      ["status", el("span", { class: `status ${h.status === "ok" ? "completed" : "failed"}` }, t(h.status))],
      ["problems", h.problems.length ? el("ul", {}, h.problems.map((p) => el("li", {}, p))) : "–"],
    ]),
    el("h3", {}, t("chain")),
    facts([
      ["head", c.head ?? "–"], ["cursor", h.cursor ? String(h.cursor.block_number) : "–"],
      ["lag", c.lag_blocks ?? "–"], ["confirmations", String(c.confirmations ?? "–")],
      ["head_read", timeEl(c.head_read_at)], ["chain_error", c.error ? el("span", { class: "bad" }, c.error) : "–"],
    ]),
  ];
  if (h.gateway) {
    parts.push(el("h3", {}, t("gateway")), facts([
      ["sessions_in", String(h.gateway.sessions_in)], ["sessions_out", String(h.gateway.sessions_out)],
      ["queued", `${h.gateway.queued_messages} / ${h.gateway.queued_bytes.toLocaleString(locale())} B`],
    ]));
  }
  parts.push(el("h3", {}, t("peers")));
  if (!h.peers) parts.push(el("p", { class: "empty" }, t("peers_pending")));
  else {
    parts.push(table(["name", "address", "endpoint", "reachable", "round_trip", "checked", "error"],
      h.peers.map((p) => el("tr", {},
        el("td", {}, p.name), el("td", { class: "mono" }, p.member), el("td", { class: "mono" }, p.endpoint),
        el("td", {}, el("span", { class: p.reachable ? "status completed" : "status failed" }, p.reachable ? t("yes") : t("no"))),
        el("td", {}, p.round_trip_ms ?? "–"), el("td", {}, timeEl(p.checked_at)), el("td", {}, p.error || ""))),
      "peers_none"));
  }
  return { content: parts, live: true };
}

async function jobsPage(params) {
  const limit = 50;
  const offset = Math.max(0, parseInt(params.get("offset") || "0", 10) || 0);
  const page = await api(`/jobs?limit=${limit}&offset=${offset}`);
  return {
    live: page.jobs.some((j) => ACTIVE.has(j.status)) || offset === 0,
    content: [
      el("h2", {}, t("jobs")),
      el("p", { class: "muted" }, page.total ? t("showing", { a: offset + 1, b: offset + page.jobs.length, n: page.total }) : ""),
      table(["id", "kind", "status", "progress", "participants", "updated"],
        page.jobs.map((j) => el("tr", {},
          el("td", {}, link(`#/jobs/${j.id}`, `#${j.id}`)), el("td", {}, j.kind), statusCell(j.status),
          el("td", {}, progressCell(j, `${t("id")} #${j.id} ${t("progress")}`)),
          el("td", {}, j.participants.map((p) => el("div", {}, member(p)))),
          el("td", {}, timeEl(j.updated_at)))),
        "none_jobs"),
      el("p", {},
        offset > 0 ? link(`#/jobs?offset=${Math.max(0, offset - limit)}`, t("prev")) : "", " ",
        page.next_offset != null ? link(`#/jobs?offset=${page.next_offset}`, t("more")) : ""),
    ],
  };
}

const METRICS = ["auc", "ks", "accuracy", "precision", "recall", "f1", "log_loss"];

async function reportFigure(j, path) {
  const name = path.split("/").pop();
  const key = name.endsWith(".png") ? `report_${name.replace(".png", "")}` : `report_${name}`;
  const figure = el("figure", { class: "report" }, el("figcaption", {}, t(key)));
  try {
    const blob = await (await request(path)).blob();
    if (name.endsWith(".png")) {
      figure.prepend(el("img", { src: URL.createObjectURL(blob), alt: `${t(key)} — ${t("id")} #${j.id}` }));
    } else {
      const rows = parseCsv(await blob.text());
      const shown = rows.slice(1, 201);
      figure.prepend(el("table", {},
        el("thead", {}, el("tr", {}, (rows[0] || []).map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, shown.map((r) => el("tr", {}, r.map((v) => el("td", {}, v)))))));
      if (rows.length - 1 > shown.length) figure.append(el("p", { class: "muted" }, t("rows_shown", { n: shown.length, m: rows.length - 1 })));
      figure.append(downloadButton(name, path, `job-${j.id}-${name}`));
    }
  } catch (e) {
    figure.append(el("p", { class: "bad" }, e.message));
  }
  return figure;
}

async function jobPage(id) {
  if (!/^\d{1,20}$/.test(id)) throw new ApiError(t("bad_link", { h: location.hash }));
  const j = await api(`/jobs/${id}`);
  const events = await api(`/audit/jobs/${id}`).then((a) => a.events).catch(() => []);
  const parts = [
    el("h2", {}, `${t("id")} #${j.id} · ${j.kind}`),
    facts([
      ["status", el("span", { class: `status ${j.status}` }, j.status)],
      ["progress", progressCell(j, `${t("id")} #${j.id} ${t("progress")}`)],
      ["participants", j.participants.map((p) => el("div", {}, member(p)))],
      ["dataset_list", j.datasets.map((d) => el("div", { class: "mono" }, d))],
      ["approved_block", String(j.approved_block)], ["run_deadline", String(j.run_deadline_block)],
      ["updated", timeEl(j.updated_at)],
      ["commitment", j.result_commitment ? el("span", { class: "mono" }, j.result_commitment) : "–"],
      ["failure", j.failure ? el("span", { class: "bad" }, `${j.failure.category}: ${j.error || ""}`) : "–"],
    ]),
  ];
  if (j.result) {
    parts.push(el("p", { class: "exports" },
      downloadButton(t("download_result"), j.result, `job-${j.id}-result`), " ",
      downloadButton(t("download_key"), j.commitment_key, `job-${j.id}.key`)));
  }
  const metrics = j.summary && j.summary.metrics;
  if (metrics && typeof metrics === "object") {
    parts.push(el("h3", {}, t("metrics")), table(METRICS.filter((m) => m in metrics),
      [el("tr", {}, METRICS.filter((m) => m in metrics).map((m) => el("td", {}, Number(metrics[m]).toFixed(4))))], "none_events"));
  }
  if (j.reports.length) {
    parts.push(el("h3", {}, t("reports")),
      el("div", { class: "reports" }, await Promise.all(j.reports.map((r) => reportFigure(j, r)))));
  }
  if (j.summary) parts.push(el("h3", {}, t("summary")), el("pre", {}, JSON.stringify(j.summary, null, 2)));
  parts.push(el("h3", {}, t("params")), el("pre", {}, JSON.stringify(j.params, null, 2)));
  parts.push(el("h3", {}, t("timeline")), table(["block", "event", "actor", "tx"],
    events.map((e) => el("tr", {}, el("td", {}, String(e.block_number)), el("td", {}, e.event),
      el("td", {}, e.actor ? member(e.actor) : "–"), el("td", { class: "mono" }, e.tx_hash))), "none_events"));
  return { content: parts, live: ACTIVE.has(j.status) };
}

async function datasetsPage() {
  const data = await api("/datasets");
  return {
    live: false,
    content: [
      el("h2", {}, t("datasets")),
      table(["ds_id", "rows", "id_column", "columns", "schema", "content", "imported"],
        data.datasets.map((d) => el("tr", {},
          el("td", {}, d.id), el("td", {}, d.row_count.toLocaleString(locale())), el("td", {}, d.id_column),
          el("td", {}, d.columns.join(", ")), el("td", { class: "mono" }, d.schema_hash),
          el("td", { class: "mono" }, d.content_hash), el("td", {}, timeEl(d.imported_at)))),
        "none_datasets"),
      importForm(),
    ],
  };
}

// The last import's outcome, shown again after the list re-renders.
let lastImport = null;

// Upload with progress: XMLHttpRequest reports bytes sent (fetch does not).
function importForm() {
  const id = el("input", { id: "i-id", name: "id", required: true, autocomplete: "off", spellcheck: "false" });
  const column = el("input", { id: "i-column", name: "id_column", value: "id", autocomplete: "off", spellcheck: "false" });
  const file = el("input", { id: "i-file", name: "file", type: "file", accept: ".csv,text/csv" });
  const bar = el("progress", { max: 100, value: 0, hidden: true, "aria-label": t("import_title") });
  const out = el("output", { id: "i-result", for: "i-id i-column i-file", "aria-live": "polite" });
  const say = (cls, text) => { out.className = cls; out.textContent = text; };
  if (lastImport) say(...lastImport);
  lastImport = null;
  const form = el("form", { class: "verify", id: "import", onsubmit: (ev) => {
    ev.preventDefault();
    if (!file.files[0] || !id.value.trim()) return say("bad", t("need_file"));
    const body = new FormData();
    body.append("id", id.value.trim());
    if (column.value.trim()) body.append("id_column", column.value.trim());
    body.append("file", file.files[0]);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/datasets");
    xhr.setRequestHeader("Authorization", `Bearer ${sessionStorage.getItem(TOKEN_KEY) || ""}`);
    xhr.setRequestHeader("Accept", "application/json");
    bar.hidden = false;
    form.dataset.busy = "1";
    xhr.upload.onprogress = (e) => {
      if (!e.lengthComputable) return;
      bar.value = Math.round((e.loaded / e.total) * 100);
      say("", e.loaded < e.total ? t("uploading", { p: bar.value }) : t("checking"));
    };
    xhr.onerror = () => { delete form.dataset.busy; say("bad", t("unreachable")); };
    xhr.onload = () => {
      delete form.dataset.busy;
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
      if (xhr.status === 401) { sessionStorage.removeItem(TOKEN_KEY); render(true); return; }
      if (xhr.status !== 201) return say("bad", body.error || `HTTP ${xhr.status}`);
      lastImport = ["ok", t("imported_ok", { id: body.id, n: body.row_count, h: body.content_hash })];
      render(false, true);
    };
    say("", t("uploading", { p: 0 }));
    xhr.send(body);
  } },
  el("h3", {}, t("import_title")), el("p", { class: "muted" }, t("import_help")),
  el("p", {}, el("label", { for: "i-id" }, t("ds_id"), " "), id, " ",
    el("label", { for: "i-column" }, t("id_column"), " "), column),
  el("p", {}, el("label", { for: "i-file" }, t("file"), " "), file),
  el("button", { type: "submit" }, t("import")), " ", bar, out);
  return form;
}

function signInPage(message) {
  // Text masked by CSS, not a password field: browsers offer to save password fields, and
  // the token is to stay in this tab only.
  const input = el("input", { id: "token", type: "text", class: "secret", autocomplete: "off", size: 70, required: true,
    spellcheck: "false", autocapitalize: "off" });
  const out = el("output", { id: "sign-in-result", for: "token", class: "bad", role: "alert" }, message || "");
  return {
    live: false,
    content: [el("form", { class: "verify", id: "sign-in", onsubmit: async (ev) => {
      ev.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, input.value.trim());
      try {
        await api("/health");
        render(true);
      } catch (e) {
        sessionStorage.removeItem(TOKEN_KEY);
        out.textContent = e instanceof SignedOut ? t("bad_token") : e.message;
      }
    } },
    el("h2", {}, t("sign_in")), el("p", { class: "muted" }, t("token_help")),
    el("p", {}, el("label", { for: "token" }, t("token"), " "), input), el("button", { type: "submit" }, t("sign_in_button")), " ", out)],
  };
}

// ---- router, live updates ----

const ROUTES = [
  [/^#?\/?$/, () => healthPage()],
  [/^#\/jobs$/, (m, p) => jobsPage(p)],
  [/^#\/jobs\/([^/?]+)$/, (m) => jobPage(decodeURIComponent(m[1]))],
  [/^#\/datasets$/, () => datasetsPage()],
];

let rendering = 0;
let live = false;
async function render(focus, force) {
  const ticket = ++rendering;
  const main = document.getElementById("main");
  const [path, query = ""] = location.hash.split("?");
  markNav(path);
  let page;
  const signedIn = Boolean(sessionStorage.getItem(TOKEN_KEY));
  document.querySelector("nav").hidden = !signedIn;
  document.getElementById("logout").hidden = !signedIn;
  try {
    const route = ROUTES.find(([re]) => re.test(path));
    if (!route) throw new ApiError(t("bad_link", { h: location.hash }));
    page = await route[1](path.match(route[0]), new URLSearchParams(query));
  } catch (e) {
    if (e instanceof SignedOut) page = signInPage(signedIn ? t("token_refused") : "");
    // A job the node has not recorded yet may appear: keep looking (not for a bad link).
    else page = { live: /^#\/jobs\/\d+$/.test(path),
      content: [el("p", { class: "empty", role: "alert" }, e instanceof ApiError ? e.message : String(e))] };
  }
  if (ticket !== rendering) return; // a newer render started
  if (!force && !focus && busy()) return;
  live = page.live;
  main.replaceChildren(...page.content);
  main.dataset.renderedAt = String(performance.now());
  if (focus) main.focus();
}

// Someone is typing, uploading or focused on something in the page: a live refresh waits.
function busy() {
  const a = document.activeElement;
  return Boolean(document.querySelector("form[data-busy]")) ||
    [...document.querySelectorAll("#main input[type=file]")].some((i) => i.files && i.files.length > 0) ||
    (a && a !== document.body && a.id !== "main" && document.getElementById("main").contains(a) &&
      ["INPUT", "SELECT", "TEXTAREA", "BUTTON"].includes(a.tagName));
}

async function tick() {
  const liveEl = document.getElementById("live");
  if (!sessionStorage.getItem(TOKEN_KEY)) { liveEl.textContent = ""; return; }
  try {
    const h = await api("/health");
    names = new Map((h.peers || []).filter((p) => p.name).map((p) => [p.member.toLowerCase(), p.name]));
    names.set(h.member.toLowerCase(), t("this_node"));
    document.getElementById("who").textContent = h.member;
    const block = h.cursor ? h.cursor.block_number : null;
    liveEl.textContent = `${block != null ? t("live_block", { b: block }) + " · " : ""}${t("updated_at", { t: new Date().toLocaleTimeString(locale()) })}`;
    liveEl.dataset.block = block ?? "";
    // Rewritten only when it changes: it is an alert, read out when it does.
    const box = document.getElementById("problem");
    const problems = h.problems.join(" · ");
    if (box.textContent !== problems) box.textContent = problems;
    box.hidden = problems === "";
    if (live) render(false);
  } catch (e) {
    if (e instanceof SignedOut) render(false, true);
    else liveEl.textContent = e.message;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  setupLanguage(() => render(false, true));
  document.getElementById("logout").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    document.getElementById("who").textContent = "";
    render(true, true);
  });
  window.addEventListener("hashchange", () => render(true, true));
  render(false, true).then(tick);
  setInterval(tick, 1000);
});
