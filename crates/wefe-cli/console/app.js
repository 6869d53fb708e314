// wefe console: renders the JSON API of `wefe console` (same origin only).
// Every value that comes from the chain is inserted as text (textContent),
// never as HTML: member names, reasons and metadata are chosen by members.
// Helpers (el, t, table, facts, the language switch) are in /common.js.
"use strict";

const I18N = {
  en: {
    skip: "Skip to content", title: "wefe consortium", sections: "Sections",
    members: "Members", jobs: "Jobs", datasets: "Datasets", proposals: "Proposals", events: "Events",
    overview: "Overview", chain: "Chain", chain_id: "Chain id", rpc: "RPC", head: "Head block",
    indexed: "Indexed up to block", contracts: "Contracts", deployed: "Deployed at block",
    event_count: "Events read", recent_jobs: "Recent jobs", updated: "updated",
    live_block: "block {b}", connecting: "connecting…", loading: "Loading…",
    catching_up: "reading the history: block {b} of {h}…",
    address: "Address", name: "Name", status: "Status", endpoint: "Endpoint", key_version: "Key version",
    certificates: "Certificates", roles: "Roles", applied: "Applied at block",
    id: "Job", kind: "Kind", proposer: "Proposer", participants: "Participants", approvals: "Approvals",
    proposed: "Proposed at block", last: "Last event at block", deadline: "Approval deadline block",
    timeline: "Timeline", block: "Block", tx: "Transaction", actor: "Actor", event: "Event", details: "Details",
    owner: "Owner", rows: "Rows", visibility: "Visibility", version: "Version", retired: "Retired",
    schema: "Schema hash", grants: "Granted to", registered: "Registered at block",
    target: "Target", value: "Value", votes: "Votes", closed: "Closed at block",
    history: "History", contract: "Contract", member: "Member (address)", from: "From block", to: "To block",
    any: "any", apply: "Apply", reset: "Reset", export_csv: "Export CSV", export_json: "Export JSON",
    more: "Next page", prev: "Previous page", showing: "{a}–{b} of {n}",
    none_members: "No member has applied yet. Members apply with `wefe member apply`.",
    none_jobs: "No job matches. Jobs are proposed with `wefe job propose`; clear the filters to see all.",
    none_datasets: "No dataset is registered yet (`wefe dataset register`).",
    none_proposals: "No governance proposal yet (`wefe member approve`, `wefe admin propose`).",
    none_events: "No event matches these filters.",
    verify_title: "Check a result against its commitment",
    verify_help: "The result's holder keeps the artifact and its commitment key (job-N.key). Both are read here, in this page: nothing is sent anywhere.",
    participant: "Participant", artifact: "Artifact file", key_file: "Commitment key file (or paste the 64 hex digits)",
    key_hex: "Key (hex)", verify: "Verify",
    verify_ok: "Matches: this file is the result {p} committed to for job {j} (block {b}).",
    verify_bad: "Does not match: this file (or this key) is not what {p} committed to for job {j}.",
    verify_none: "This participant has not reported a result for this job.",
    verify_need: "Choose an artifact file and give its key.",
    bad_key: "The key must be 64 hex digits, or a JSON file with a \"key\" field.",
    no_crypto: "This browser offers no WebCrypto here (open the console at http://127.0.0.1 or http://localhost).",
    bad_link: "This link does not name a page of the console: {h}. Use the menu above.",
    problem: "The console cannot read the chain ({stage}): {message}. What to do: {hint}.",
    unreachable: "The console server does not answer. Is `wefe console` still running?",
    lang_switch: "中文",
    operator_key: "Operator key", operator_of: "{m}'s node ({a})",
  },
  zh: {
    skip: "跳到正文", title: "wefe 联盟", sections: "栏目",
    members: "成员", jobs: "任务", datasets: "数据集", proposals: "治理提案", events: "链上事件",
    overview: "概览", chain: "链", chain_id: "链 ID", rpc: "RPC 地址", head: "最新区块",
    indexed: "已读取至区块", contracts: "合约", deployed: "部署区块",
    event_count: "已读取事件", recent_jobs: "最近的任务", updated: "更新于",
    live_block: "区块 {b}", connecting: "连接中…", loading: "加载中…",
    catching_up: "正在读取历史：区块 {b} / {h}…",
    address: "地址", name: "名称", status: "状态", endpoint: "网关地址", key_version: "密钥版本",
    certificates: "证书", roles: "角色", applied: "申请区块",
    id: "任务", kind: "类型", proposer: "发起方", participants: "参与方", approvals: "已批准",
    proposed: "发起区块", last: "最后事件区块", deadline: "批准截止区块",
    timeline: "时间线", block: "区块", tx: "交易", actor: "操作账户", event: "事件", details: "详情",
    owner: "所有者", rows: "行数", visibility: "可见性", version: "版本", retired: "已下线",
    schema: "模式哈希", grants: "已授权", registered: "登记区块",
    target: "对象", value: "值", votes: "投票", closed: "结束区块",
    history: "历史", contract: "合约", member: "成员（地址）", from: "起始区块", to: "结束区块",
    any: "全部", apply: "筛选", reset: "重置", export_csv: "导出 CSV", export_json: "导出 JSON",
    more: "下一页", prev: "上一页", showing: "第 {a}–{b} 条，共 {n} 条",
    none_members: "尚无成员申请。成员使用 `wefe member apply` 申请加入。",
    none_jobs: "没有符合条件的任务。任务由 `wefe job propose` 发起；清除筛选可查看全部。",
    none_datasets: "尚未登记数据集（`wefe dataset register`）。",
    none_proposals: "尚无治理提案（`wefe member approve`、`wefe admin propose`）。",
    none_events: "没有符合条件的事件。",
    verify_title: "核对结果与链上承诺",
    verify_help: "结果持有方保存结果文件及其承诺密钥（job-N.key）。两者只在本页面内读取，不会发送到任何地方。",
    participant: "参与方", artifact: "结果文件", key_file: "承诺密钥文件（或粘贴 64 位十六进制）",
    key_hex: "密钥（十六进制）", verify: "核对",
    verify_ok: "一致：该文件正是 {p} 在任务 {j} 中承诺的结果（区块 {b}）。",
    verify_bad: "不一致：该文件（或密钥）不是 {p} 在任务 {j} 中承诺的内容。",
    verify_none: "该参与方尚未报告此任务的结果。",
    verify_need: "请选择结果文件并提供密钥。",
    bad_key: "密钥应为 64 位十六进制，或含 \"key\" 字段的 JSON 文件。",
    no_crypto: "此浏览器在当前地址不提供 WebCrypto（请通过 http://127.0.0.1 或 http://localhost 打开控制台）。",
    bad_link: "此链接不对应控制台的任何页面：{h}。请使用上方菜单。",
    problem: "控制台无法读取链（{stage}）：{message}。处理方法：{hint}。",
    unreachable: "控制台服务无响应。`wefe console` 是否仍在运行？",
    lang_switch: "English",
    operator_key: "运维密钥", operator_of: "{m} 的节点（{a}）",
    stage_connect: "连接", stage_contracts: "合约", stage_scan: "读取事件",
    hint_connect: "请确认链节点正在运行，且 --rpc-url（或链配置中的 rpc_url）与 chain_id 与之相符",
    hint_contracts: "链配置中的地址在这条链上不是 wefe 的合约：请使用 `wefe chain deploy` 为这条链写出的 chain.toml",
    hint_scan: "链节点停止响应或拒绝了日志查询；控制台会自动重试",
  },
};

async function api(path) {
  let res;
  try {
    res = await fetch(path, { headers: { Accept: "application/json" } });
  } catch (_) {
    throw new ApiError(t("unreachable"));
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(body.error || `HTTP ${res.status}`);
  return body;
}

const jobLink = (id) => link(`#/jobs/${encodeURIComponent(id)}`, `#${id}`);
// Member names by address (chosen by the members themselves, not unique: the
// short address is always shown beside a name, the full one on hover).
let names = new Map();
// Operator keys (a member's node reports with them) by address: their member.
let operators = new Map();
const short = (addr) => `${addr.slice(0, 6)}…${addr.slice(-4)}`;
function memberLink(addr) {
  if (!addr) return "";
  const owner = operators.get(addr);
  if (owner) {
    // Reported by a member's node: named after the member, linked to it.
    const a = link(`#/members/${encodeURIComponent(owner)}`,
      t("operator_of", { m: names.get(owner) || short(owner), a: short(addr) }));
    a.title = `${addr} (${t("operator_key")} ${owner})`;
    return a;
  }
  const name = names.get(addr);
  const a = link(`#/members/${encodeURIComponent(addr)}`, name ? `${name} · ${short(addr)}` : addr, name ? "" : "mono");
  a.title = addr;
  return a;
}

// Event fields as "name: value" lines; addresses link to their member page.
function details(fields) {
  return Object.entries(fields).map(([k, v]) =>
    el("div", {}, el("span", { class: "muted" }, `${k}: `),
      /^0x[0-9a-fA-F]{40}$/.test(v) ? memberLink(v) : el("span", { class: v.length > 40 ? "mono" : "" }, v)));
}

// A block number with its producer's timestamp in local time (machine-readable in <time>).
function blockCell(block, time) {
  if (time == null) return el("td", {}, String(block));
  const d = new Date(time * 1000);
  return el("td", {}, String(block),
    el("div", {}, el("time", { class: "muted", datetime: d.toISOString() }, d.toLocaleString(lang === "zh" ? "zh-CN" : "en"))));
}

function eventRows(events) {
  return events.map((e) => el("tr", {},
    blockCell(e.block, e.time),
    el("td", { class: "mono" }, e.tx),
    el("td", {}, e.actor ? memberLink(e.actor) : "–"),
    el("td", {}, `${e.contract}.${e.event}`),
    el("td", {}, details(e.fields))));
}

function exports(path, params) {
  const q = new URLSearchParams(params);
  const json = `${path}?${q}`;
  q.set("format", "csv");
  return el("p", { class: "exports" },
    el("a", { href: `${path}?${q}`, download: "" }, t("export_csv")), " · ",
    el("a", { href: json, target: "_blank", rel: "noopener" }, t("export_json")));
}

// A filter form bound to the hash's query part (deep links keep filters).
function filterForm(fields, params, base) {
  const form = el("form", { class: "filters", role: "search" });
  for (const [name, label, options] of fields) {
    const id = `f-${name}`;
    const input = options
      ? el("select", { id, name }, el("option", { value: "" }, t("any")),
          options.map((o) => el("option", { value: o, selected: params.get(name) === o }, o)))
      : el("input", { id, name, value: params.get(name) || "", size: name === "member" ? 44 : 10,
          inputmode: name === "from" || name === "to" ? "numeric" : undefined });
    form.append(el("label", { for: id }, t(label), input));
  }
  form.append(el("button", { type: "submit" }, t("apply")),
    el("button", { type: "button", onclick: () => { location.hash = base; } }, t("reset")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (String(v).trim()) q.set(k, String(v).trim());
    location.hash = `${base}${q.toString() ? "?" + q : ""}`;
  });
  return form;
}

// ---- pages ----

async function overview() {
  const [s, jobs] = await Promise.all([api("/api/status"), api("/api/jobs")]);
  return [
    el("h2", {}, t("overview")),
    facts([
      ["chain_id", String(s.chain_id)], ["rpc", el("span", { class: "mono" }, s.rpc_url)],
      ["head", s.head ?? "–"], ["indexed", s.indexed_block ?? "–"], ["deployed", String(s.deployed_block)],
      ["event_count", String(s.events)],
    ]),
    el("h3", {}, t("contracts")),
    facts(Object.entries(s.contracts).map(([n, a]) => [n, el("span", { class: "mono" }, a)])),
    el("h3", {}, t("recent_jobs")),
    jobsTable(jobs.jobs.slice(0, 10)),
  ];
}

function jobsTable(jobs) {
  return table(["id", "kind", "status", "proposer", "participants", "proposed", "last"],
    jobs.map((j) => el("tr", {},
      el("td", {}, jobLink(j.id)), el("td", {}, j.kind), statusCell(j.status),
      el("td", {}, memberLink(j.proposer)),
      el("td", {}, j.participants.map((p) => el("div", {}, memberLink(p)))),
      blockCell(j.proposed_block, j.proposed_time), blockCell(j.last_block, j.last_time))), "none_jobs");
}

const JOB_STATUSES = ["proposed", "approving", "approved", "running", "reporting", "completed", "failed", "timed out", "rejected", "cancelled", "expired"];

async function jobsPage(params) {
  const data = await api(`/api/jobs?${params}`);
  const kinds = [...new Set(data.jobs.map((j) => j.kind))].sort();
  return [
    el("h2", {}, t("jobs")),
    filterForm([["member", "member"], ["kind", "kind", kinds.length ? kinds : undefined], ["status", "status", JOB_STATUSES],
      ["from", "from"], ["to", "to"]], params, "#/jobs"),
    exports("/api/jobs", params),
    jobsTable(data.jobs),
  ];
}

async function jobPage(id) {
  if (!/^\d{1,20}$/.test(id)) throw new ApiError(t("bad_link", { h: location.hash }));
  const data = await api(`/api/jobs/${id}`);
  const j = data.job;
  return [
    el("h2", {}, `${t("id")} #${j.id} · ${j.kind}`),
    facts([
      ["status", el("span", { class: `status ${j.status}` }, j.status)],
      ["proposer", memberLink(j.proposer)],
      ["participants", j.participants.map((p) => el("div", {}, memberLink(p)))],
      ["datasets", j.datasets], ["approvals", `${j.approvals} / ${j.participants.length}`],
      ["deadline", j.deadline_block], ["proposed", String(j.proposed_block)],
    ]),
    el("h3", {}, t("timeline")),
    exports(`/api/events`, new URLSearchParams({ contract: "JobRegistry", from: j.proposed_block })),
    table(["block", "tx", "actor", "event", "details"], eventRows(data.timeline), "none_events"),
    verifyForm(j, data.timeline),
  ];
}

// ---- commitment check, in the page ----

async function readKey(file, pasted) {
  let text = pasted.trim();
  if (file) {
    text = (await file.text()).trim();
    try {
      const obj = JSON.parse(text);
      if (obj && typeof obj === "object") text = typeof obj.key === "string" ? obj.key : "";
    } catch (_) { /* a plain hex file */ }
  }
  const bytes = hexToBytes(text);
  return bytes && bytes.length === 32 ? bytes : null;
}

// HMAC-SHA-256(key, "wefe/result-commitment/v1" ‖ job id (u64, big-endian) ‖ participant (20 bytes) ‖ artifact),
// as wefe_crypto::commitment::result_commitment.
async function resultCommitment(key, jobId, participant, artifact) {
  const head = new Uint8Array(25 + 8 + 20);
  head.set(new TextEncoder().encode("wefe/result-commitment/v1"), 0);
  new DataView(head.buffer).setBigUint64(25, BigInt(jobId));
  head.set(hexToBytes(participant), 33);
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const message = new Uint8Array(head.length + artifact.byteLength);
  message.set(head, 0);
  message.set(new Uint8Array(artifact), head.length);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, message));
}

function verifyForm(job, timeline) {
  const reports = new Map(timeline.filter((e) => e.event === "JobParticipantCompleted")
    .map((e) => [e.fields.participant, e]));
  const who = el("select", { id: "v-participant", name: "participant" },
    job.participants.map((p) => el("option", { value: p }, p)));
  const artifact = el("input", { id: "v-artifact", type: "file" });
  const keyFile = el("input", { id: "v-key", type: "file" });
  const keyHex = el("input", { id: "v-key-hex", size: 66, autocomplete: "off", spellcheck: "false" });
  const out = el("output", { id: "v-result", for: "v-artifact v-key v-key-hex", "aria-live": "polite" });
  const say = (cls, text) => { out.className = cls; out.textContent = text; };
  const form = el("form", { class: "verify", onsubmit: async (ev) => {
    ev.preventDefault();
    if (!window.crypto || !crypto.subtle) return say("bad", t("no_crypto"));
    const p = who.value;
    const report = reports.get(p);
    if (!report) return say("bad", t("verify_none"));
    const file = artifact.files[0];
    if (!file || (!keyFile.files[0] && !keyHex.value.trim())) return say("bad", t("verify_need"));
    const key = await readKey(keyFile.files[0], keyHex.value);
    if (!key) return say("bad", t("bad_key"));
    const got = await resultCommitment(key, job.id, p, await file.arrayBuffer());
    const want = hexToBytes(report.fields.resultCommitment) || new Uint8Array();
    let diff = got.length ^ want.length;
    for (let i = 0; i < got.length && i < want.length; i++) diff |= got[i] ^ want[i];
    if (diff === 0) say("ok", t("verify_ok", { p, j: job.id, b: report.block }));
    else say("bad", t("verify_bad", { p, j: job.id }));
  } },
  el("h3", {}, t("verify_title")), el("p", { class: "muted" }, t("verify_help")),
  el("p", {}, el("label", { for: "v-participant" }, t("participant"), " "), who),
  el("p", {}, el("label", { for: "v-artifact" }, t("artifact"), " "), artifact),
  el("p", {}, el("label", { for: "v-key" }, t("key_file"), " "), keyFile, " ",
    el("label", { for: "v-key-hex", class: "muted" }, t("key_hex"), " "), keyHex),
  el("button", { type: "submit" }, t("verify")), out);
  return form;
}

async function membersPage(params) {
  const data = await api(`/api/members?${params}`);
  return [
    el("h2", {}, t("members")),
    exports("/api/members", params),
    table(["address", "name", "status", "endpoint", "key_version", "certificates", "roles"],
      data.members.map((m) => el("tr", {},
        el("td", {}, memberLink(m.address)), el("td", {}, m.name), statusCell(m.status),
        el("td", { class: "mono" }, m.endpoint), el("td", {}, m.key_version), el("td", {}, String(m.certificates)),
        el("td", {}, m.roles.join(", ")))), "none_members"),
  ];
}

async function memberPage(address) {
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) throw new ApiError(t("bad_link", { h: location.hash }));
  const data = await api(`/api/members/${address}`);
  const m = data.member;
  return [
    el("h2", {}, m && m.name ? `${m.name}` : data.address),
    facts([
      ["address", el("span", { class: "mono" }, data.address)],
      ["status", m ? el("span", { class: `status ${m.status}` }, m.status) : "–"],
      ["endpoint", m ? m.endpoint : "–"], ["key_version", m ? m.key_version : "–"],
      ["certificates", m ? String(m.certificates) : "–"], ["roles", m ? m.roles.join(", ") : "–"],
      ["operator_key", m && m.operator ? el("span", { class: "mono" }, m.operator) : "–"],
    ]),
    el("h3", {}, t("history")),
    exports("/api/events", new URLSearchParams({ member: data.address })),
    table(["block", "tx", "actor", "event", "details"], eventRows(data.history), "none_events"),
  ];
}

async function datasetsPage(params) {
  const data = await api(`/api/datasets?${params}`);
  return [
    el("h2", {}, t("datasets")),
    exports("/api/datasets", params),
    table(["owner", "name", "rows", "visibility", "version", "retired", "schema", "grants", "registered"],
      data.datasets.map((d) => el("tr", {},
        el("td", {}, memberLink(d.owner)), el("td", {}, d.name), el("td", {}, d.rows), el("td", {}, d.visibility),
        el("td", {}, d.version), el("td", {}, d.retired ? "✓" : ""), el("td", { class: "mono" }, d.schema_hash),
        el("td", {}, d.grants.map((g) => el("div", {}, memberLink(g)))), el("td", {}, String(d.registered_block)))),
      "none_datasets"),
  ];
}

async function proposalsPage() {
  const data = await api("/api/proposals");
  return [
    el("h2", {}, t("proposals")),
    table(["id", "kind", "target", "value", "proposer", "status", "votes", "block", "closed"],
      data.proposals.map((p) => el("tr", {},
        el("td", {}, String(p.id)), el("td", {}, p.kind), el("td", {}, memberLink(p.target)), el("td", {}, p.value),
        el("td", {}, memberLink(p.proposer)), statusCell(p.status),
        el("td", {}, p.votes.map((v) => el("div", {}, memberLink(v.admin), el("span", { class: "muted" }, ` @${v.block}`)))),
        el("td", {}, String(p.block)), el("td", {}, p.closed_block ? String(p.closed_block) : "–"))),
      "none_proposals"),
  ];
}

const CONTRACTS = ["Consortium", "CertificateRegistry", "DataRegistry", "JobRegistry"];

async function eventsPage(params) {
  const limit = 200;
  const offset = Math.max(0, parseInt(params.get("offset") || "0", 10) || 0);
  const q = new URLSearchParams(params);
  q.set("limit", limit);
  const data = await api(`/api/events?${q}`);
  const page = (o) => { const p = new URLSearchParams(params); p.set("offset", o); return `#/events?${p}`; };
  const exportParams = new URLSearchParams(params);
  exportParams.delete("offset");
  return [
    el("h2", {}, t("events")),
    filterForm([["contract", "contract", CONTRACTS], ["event", "event"], ["member", "member"], ["from", "from"], ["to", "to"]],
      params, "#/events"),
    exports("/api/events", exportParams),
    el("p", { class: "muted" }, data.total ? t("showing", { a: offset + 1, b: offset + data.events.length, n: data.total }) : ""),
    table(["block", "tx", "actor", "event", "details"], eventRows(data.events), "none_events"),
    el("p", {},
      offset > 0 ? link(page(Math.max(0, offset - limit)), t("prev")) : "", " ",
      offset + data.events.length < data.total ? link(page(offset + limit), t("more")) : ""),
  ];
}

// ---- router, live updates, language ----

const ROUTES = [
  [/^#?\/?$/, () => overview()],
  [/^#\/members$/, (m, p) => membersPage(p)],
  [/^#\/members\/([^/?]+)$/, (m) => memberPage(decodeURIComponent(m[1]))],
  [/^#\/jobs$/, (m, p) => jobsPage(p)],
  [/^#\/jobs\/([^/?]+)$/, (m) => jobPage(decodeURIComponent(m[1]))],
  [/^#\/datasets$/, (m, p) => datasetsPage(p)],
  [/^#\/proposals$/, () => proposalsPage()],
  [/^#\/events$/, (m, p) => eventsPage(p)],
];

let rendering = 0;
async function render(focus) {
  const ticket = ++rendering;
  const main = document.getElementById("main");
  const [path, query = ""] = location.hash.split("?");
  const params = new URLSearchParams(query);
  markNav(path);
  let content;
  try {
    const members = (await api("/api/members")).members;
    names = new Map(members.filter((m) => m.name).map((m) => [m.address, m.name]));
    // A key that is itself a member's account keeps its own name (its own acts are its own).
    operators = new Map(members.flatMap((m) => (m.operators || []).filter((o) => !members.some((x) => x.address === o && x.name))
      .map((o) => [o, m.address])));
  } catch (_) { /* the page itself reports the problem */ }
  try {
    const route = ROUTES.find(([re]) => re.test(path));
    if (!route) throw new ApiError(t("bad_link", { h: location.hash }));
    content = await route[1](path.match(route[0]), params);
  } catch (e) {
    content = [el("p", { class: "empty", role: "alert" }, e instanceof ApiError ? e.message : String(e))];
  }
  if (ticket !== rendering) return; // a newer render started
  // Keep form input and focus during live refreshes: re-render only when not typing.
  main.replaceChildren(...content);
  main.dataset.renderedAt = String(performance.now());
  if (focus) main.focus();
}

function showStatus(s) {
  const live = document.getElementById("live");
  const behind = s.head != null && s.indexed_block != null && s.indexed_block < s.head;
  live.textContent = s.indexed_block == null ? t("connecting")
    : behind ? t("catching_up", { b: s.indexed_block, h: s.head })
    : `${t("live_block", { b: s.indexed_block })} · ${t("updated")} ${new Date().toLocaleTimeString(lang === "zh" ? "zh-CN" : "en")}`;
  live.dataset.block = s.indexed_block ?? "";
  const box = document.getElementById("problem");
  box.hidden = !s.problem;
  // The hint and stage in the reader's language (the server's words otherwise); the error itself as the chain node said it.
  const p = s.problem && { ...s.problem, stage: I18N[lang][`stage_${s.problem.stage}`] || s.problem.stage,
    hint: I18N[lang][`hint_${s.problem.stage}`] || s.problem.hint };
  box.textContent = p ? t("problem", p) : "";
}

let lastBlock = null;
function followChain() {
  api("/api/status").then(showStatus).catch((e) => showStatus({ problem: { stage: "console", message: e.message, hint: "" } }));
  const source = new EventSource("/api/live");
  source.addEventListener("status", (ev) => {
    const s = JSON.parse(ev.data);
    showStatus(s);
    const typing = document.activeElement && ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName);
    // Not while someone is typing, has picked a file to check, or reads a check's outcome.
    const picked = [...document.querySelectorAll("#main input[type=file]")].some((i) => i.files && i.files.length > 0);
    if (s.indexed_block !== lastBlock && !typing && !picked && !document.querySelector(".verify output:not(:empty)")) render(false);
    lastBlock = s.indexed_block;
  });
  source.onerror = () => {
    document.getElementById("live").textContent = t("unreachable");
    // Refused (e.g. too many open streams) rather than dropped: the browser gives up, so try again later.
    if (source.readyState === EventSource.CLOSED) setTimeout(followChain, 10000);
  };
}

document.addEventListener("DOMContentLoaded", () => {
  setupLanguage(() => render(false));
  window.addEventListener("hashchange", () => render(true));
  render(false);
  followChain();
});
