// The endpoint manager: a sidebar tab listing every saved endpoint with its inputs and outputs as
// the server parsed them from the annotations, warnings, a link to its docs, a copyable curl call
// and a delete button; plus which node titles of the open workflow carry annotations.
import { app } from "../../scripts/app.js";
import { ConnectApiError, deleteEndpoint, docsUrl, endpointEvents, listEndpoints, runUrl } from "./client.js";
import { graphNodes, onGraphChanged } from "./comfy_shim.js";
import { forgetIfCurrent, missingText, notify, publishCurrent, rememberedName } from "./publish.js";
import { SAVE_COMMAND } from "./save_endpoint.js";
import { readTitle, summarize } from "./titles.js";
import { versionsView } from "./versions_view.js";

export const TAB_ID = "connect-endpoints";
const CONFIRM_DELETE_SETTING = "Connect.ConfirmDelete";
const PUBLIC_URL_SETTING = "Connect.PublicUrl";

/** Builds an element: el("a", {href: "/x", class: "y"}, "text", child). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  node.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

function button(label, icon, onclick, attrs = {}) {
  return el("button", { type: "button", class: "connect-button", title: label, onclick, ...attrs }, el("i", { class: icon }), " ", label);
}

function shellQuote(text) {
  return "'" + text.replaceAll("'", "'\\''") + "'";
}

/** A call with every exposed input at its saved value, ready to paste into a shell. */
export function curlExample(endpoint) {
  // A group without inputs ($foo()) only accepts false, so the example leaves it out.
  const payload = Object.fromEntries(
    Object.entries(endpoint.inputs)
      .filter(([, g]) => Object.keys(g.inputs).length > 0)
      .map(([group, g]) => [group, g.inputs]),
  );
  const base = app.extensionManager.setting.get(PUBLIC_URL_SETTING) || "";
  return `curl -X POST ${shellQuote(runUrl(endpoint.name, base))} -H 'Content-Type: application/json' -d ${shellQuote(JSON.stringify(payload))}`;
}

export function warningsOf(endpoint) {
  const warnings = [];
  if (Object.keys(endpoint.outputs).length === 0) warnings.push("No #output node: a call runs the workflow but returns no files.");
  if (Object.keys(endpoint.inputs).length === 0) warnings.push("No $input node: callers cannot change anything.");
  const missing = missingText(endpoint);
  if (missing) warnings.push(`Not ready on this box: ${missing}. A call is refused until they are installed.`);
  return warnings;
}

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Not a secure context (ComfyUI opened over plain http on a LAN address): the old way.
    const area = el("textarea", { style: "position:fixed;opacity:0" });
    area.value = text;
    document.body.append(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    if (!ok) throw new Error("the browser refused to copy");
  }
}

async function remove(name, refresh) {
  if (app.extensionManager.setting.get(CONFIRM_DELETE_SETTING) !== false) {
    const confirmed = await app.extensionManager.dialog.confirm({
      title: "Delete API endpoint",
      message: "Programs calling this endpoint will get 404 from now on. The workflow itself is kept.",
      type: "delete",
      itemList: [name],
    });
    if (confirmed !== true) return;
  }
  try {
    await deleteEndpoint(name);
    forgetIfCurrent(name);
    endpointEvents.dispatchEvent(new CustomEvent("deleted", { detail: { name } }));
    notify("success", `Endpoint "${name}" deleted`, undefined, 3000);
  } catch (err) {
    notify("error", `Endpoint "${name}" not deleted`, err?.message ?? String(err), 10000);
    await refresh();
  }
}

function valueText(value) {
  const text = typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
  return text.length > 60 ? text.slice(0, 57) + "…" : text;
}

const EMBEDS = {
  none: "nothing about how they were made",
  prompt: "the endpoint's prompt with the caller's values",
  workflow: "the endpoint's graph (opens on ComfyUI's canvas)",
  full: "the prompt and the graph, like ComfyUI's own saves",
};

/** What output files embed; changeable here when the endpoint is the open workflow (the save sends its graph). */
function metadataView(endpoint) {
  const text = `Output files embed: ${EMBEDS[endpoint.embeds] ?? endpoint.embeds}` + (endpoint.metadata ? "" : " (server default)");
  if (rememberedName() !== endpoint.name) return el("div", { "data-connect-embeds": endpoint.embeds }, text);
  const choices = [["", "server default"], ...Object.keys(EMBEDS).map((mode) => [mode, mode])];
  const select = el(
    "select",
    {
      "data-connect-metadata": endpoint.name,
      onchange: async (event) => {
        const value = event.target.value || null;
        try {
          const described = await publishCurrent(endpoint.name, { metadata: value });
          notify("success", `${endpoint.name}: output files embed ${described.embeds}`, undefined, 3000);
        } catch (err) {
          notify("error", "Could not change what outputs embed", err?.message ?? String(err), 8000);
        }
      },
    },
    choices.map(([value, label]) => el("option", { value, selected: (endpoint.metadata ?? "") === value }, label)),
  );
  return el("div", { "data-connect-embeds": endpoint.embeds }, text, " ", select);
}

/** Where an endpoint comes from; a plain file is changed where it lives, so it has no Delete here. */
export function sourceText(endpoint) {
  if (endpoint.source === "folder") return `File ${endpoint.file} in the workflows folder (CONNECT_WORKFLOWS_DIR): change it there`;
  if (endpoint.source === "user") return `ComfyUI's saved workflow ${endpoint.file}, served for its #output: change it in ComfyUI`;
  return "Saved through the API or Save API Endpoint";
}

function endpointView(endpoint, refresh, open) {
  const warnings = warningsOf(endpoint);
  const curl = curlExample(endpoint);
  const inputs = Object.entries(endpoint.inputs).map(([group, g]) =>
    el(
      "li",
      { "data-connect-input": group },
      el("code", {}, group),
      ` (node ${g.nodes.join(", ")}): `,
      Object.keys(g.inputs).length
        ? Object.entries(g.inputs).map(([input, value], i) => [i ? ", " : "", el("code", {}, input), " = " + valueText(value)])
        : "no inputs, can be bypassed with false",
    ),
  );
  const outputs = Object.entries(endpoint.outputs).map(([name, nodes]) =>
    el("li", { "data-connect-output": name }, el("code", {}, name), ` (node ${nodes.join(", ")})`),
  );
  return el(
    "details",
    { class: "connect-endpoint", "data-connect-endpoint": endpoint.name, open },
    el(
      "summary",
      {},
      el("span", { class: "connect-name" }, endpoint.name),
      endpoint.source && endpoint.source !== "api" ? el("span", { class: "connect-source", "data-connect-source": endpoint.source }, endpoint.source) : null,
      warnings.length ? el("i", { class: "pi pi-exclamation-triangle connect-warn", title: warnings.join("\n") }) : null,
    ),
    el("div", { class: "connect-label" }, "Inputs"),
    inputs.length ? el("ul", {}, inputs) : el("div", { class: "connect-muted" }, "none"),
    el("div", { class: "connect-label" }, "Outputs"),
    outputs.length ? el("ul", {}, outputs) : el("div", { class: "connect-muted" }, "none"),
    endpoint.bypassed.length ? el("div", {}, `Bypassed in the API: node ${endpoint.bypassed.join(", ")}`) : null,
    endpoint.cached.length ? el("div", {}, `Kept cached (!cache): node ${endpoint.cached.join(", ")}`) : null,
    metadataView(endpoint),
    warnings.map((w) => el("div", { class: "connect-warning" }, el("i", { class: "pi pi-exclamation-triangle" }), " ", w)),
    el("div", { class: "connect-muted" }, `Saved ${endpoint.saved_at}`),
    el("div", { class: "connect-muted", "data-connect-origin": endpoint.source ?? "api" }, sourceText(endpoint)),
    el("pre", { class: "connect-curl" }, curl),
    el(
      "div",
      { class: "connect-actions" },
      button("Copy curl", "pi pi-copy", async () => {
        try {
          await copy(curl);
          notify("info", "curl command copied", undefined, 2000);
        } catch (err) {
          notify("error", "Could not copy", err?.message ?? String(err), 5000);
        }
      }),
      el("a", { class: "connect-button", href: docsUrl(endpoint.operation_id), target: "_blank", rel: "noopener" }, el("i", { class: "pi pi-book" }), " Docs"),
      endpoint.source === "folder" || endpoint.source === "user"
        ? null
        : button("Delete", "pi pi-trash", () => remove(endpoint.name, refresh), { "data-connect-delete": endpoint.name }),
    ),
    versionsView(endpoint.name, { el, button }),
  );
}

// Problems that are files left unserved on purpose (a clash, no annotation), not endpoints that fail.
const NOT_SERVED = new Set(["name_clash", "not_an_endpoint", "invalid_name"]);

function brokenView(name, body) {
  const type = body?.error?.type;
  const source = body?.error?.details?.source;
  return el(
    "details",
    { class: "connect-endpoint connect-broken", "data-connect-endpoint": name, "data-connect-problem": type, open: true },
    el(
      "summary",
      {},
      el("span", { class: "connect-name" }, name),
      source ? el("span", { class: "connect-source", "data-connect-source": source }, source) : null,
      el("i", { class: "pi pi-exclamation-triangle connect-warn" }),
    ),
    el("div", { class: "connect-warning" }, NOT_SERVED.has(type) ? "Not served: " : "Cannot be called: ", body?.error?.message ?? "unknown error"),
  );
}

/** The open workflow: its endpoint (if published) and every node title that carries annotations. */
function currentView() {
  const name = rememberedName();
  const annotated = graphNodes()
    .map((node) => ({ node, notes: readTitle(node.title) }))
    .filter(({ notes }) => notes.length > 0);
  return el(
    "div",
    { class: "connect-current" },
    el("div", { class: "connect-label" }, "This workflow"),
    name
      ? el("div", { "data-connect-current": name }, "Published as ", el("code", {}, name))
      : el("div", { class: "connect-muted" }, "Not published yet."),
    button(name ? "Update endpoint" : "Save API Endpoint", "pi pi-cloud-upload", () => app.extensionManager.command.execute(SAVE_COMMAND)),
    annotated.length
      ? el(
          "ul",
          { class: "connect-titles" },
          annotated.map(({ node, notes }) =>
            el(
              "li",
              { "data-connect-node": node.id, class: notes.some((n) => n.kind === "problem") ? "connect-warning" : "" },
              `#${node.id} `,
              el("code", {}, node.title),
              ` → ${summarize(notes)}`,
            ),
          ),
        )
      : el("div", { class: "connect-muted" }, "No node title has a $input, #output or ! annotation."),
  );
}

const STYLE = `
.connect-manager { padding: 8px; display: flex; flex-direction: column; gap: 8px; font-size: 13px; overflow-y: auto; height: 100%; box-sizing: border-box; }
.connect-manager header { display: flex; align-items: center; gap: 6px; }
.connect-manager header b { flex: 1; }
.connect-endpoint { border: 1px solid var(--border-color, #444); border-radius: 6px; padding: 6px 8px; }
.connect-endpoint summary { cursor: pointer; font-weight: 600; }
.connect-endpoint ul, .connect-titles { margin: 2px 0 4px; padding-left: 18px; }
.connect-label { font-weight: 600; margin-top: 4px; opacity: 0.8; }
.connect-muted { opacity: 0.7; }
.connect-warn, .connect-warning { color: var(--p-orange-400, #f0a020); }
.connect-warn { margin-left: 6px; }
.connect-source { margin-left: 6px; font-weight: normal; font-size: 11px; padding: 0 4px; border-radius: 4px; border: 1px solid var(--border-color, #555); opacity: 0.8; }
.connect-curl { white-space: pre-wrap; word-break: break-all; background: var(--comfy-input-bg, #222); padding: 6px; border-radius: 4px; font-size: 11px; user-select: text; }
.connect-actions { display: flex; gap: 6px; flex-wrap: wrap; }
.connect-button { display: inline-flex; align-items: center; gap: 2px; padding: 3px 8px; border-radius: 4px; cursor: pointer; text-decoration: none;
  border: 1px solid var(--border-color, #555); background: var(--comfy-input-bg, #333); color: var(--fg-color, #ddd); font-size: 12px; }
.connect-button:hover { filter: brightness(1.2); }
`;

function ensureStyle() {
  if (document.getElementById("connect-manager-style")) return;
  document.head.append(el("style", { id: "connect-manager-style" }, STYLE));
}

/** The tab's content; the frontend may call render() again on the same element, so it is idempotent. */
class Manager {
  constructor(container) {
    this.container = container;
    this.list = el("div", { class: "connect-list" });
    this.current = el("div");
    this.onChange = () => this.refresh();
    endpointEvents.addEventListener("saved", this.onChange);
    endpointEvents.addEventListener("deleted", this.onChange);
    // After every edit the change tracker notices, e.g. a node renamed.
    this.stopGraphWatch = onGraphChanged(() => this.current.replaceChildren(currentView()));
    container.replaceChildren(
      el(
        "div",
        { class: "connect-manager" },
        el(
          "header",
          {},
          el("b", {}, "API endpoints"),
          el("a", { class: "connect-button", href: docsUrl(), target: "_blank", rel: "noopener" }, el("i", { class: "pi pi-book" }), " API docs"),
          button("Refresh", "pi pi-refresh", () => this.refresh(), { "data-connect-refresh": true }),
        ),
        this.current,
        this.list,
      ),
    );
    this.refresh();
  }

  async refresh() {
    this.current.replaceChildren(currentView());
    const open = new Set([...this.list.querySelectorAll("details[open]")].map((d) => d.dataset.connectEndpoint));
    let data;
    try {
      data = await listEndpoints();
    } catch (err) {
      const message = err instanceof ConnectApiError ? err.message : String(err);
      this.list.replaceChildren(el("div", { class: "connect-warning" }, "Cannot list endpoints: " + message));
      return;
    }
    const views = data.workflows.map((w) => endpointView(w, () => this.refresh(), open.has(w.name)));
    const broken = Object.entries(data.errors ?? {}).map(([name, body]) => brokenView(name, body));
    this.list.replaceChildren(
      ...(views.length || broken.length ? [...views, ...broken] : [el("div", { class: "connect-muted" }, "No endpoint saved yet.")]),
    );
    this.list.dataset.connectLoaded = "true";
  }

  destroy() {
    endpointEvents.removeEventListener("saved", this.onChange);
    endpointEvents.removeEventListener("deleted", this.onChange);
    this.stopGraphWatch();
  }
}

let mounted = null;

app.registerExtension({
  name: "Connect.EndpointManager",
  settings: [
    {
      id: CONFIRM_DELETE_SETTING,
      category: ["Connect", "Endpoints", "Confirm delete"],
      name: "Ask before deleting an endpoint",
      type: "boolean",
      defaultValue: true,
    },
    {
      id: PUBLIC_URL_SETTING,
      category: ["Connect", "Endpoints", "Public URL"],
      name: "Base URL in curl examples (empty: this page's address)",
      tooltip: "For a ComfyUI behind a proxy, e.g. https://comfy.example.com",
      type: "text",
      defaultValue: "",
    },
  ],
  setup() {
    ensureStyle();
    app.extensionManager.registerSidebarTab({
      id: TAB_ID,
      icon: "pi pi-server",
      title: "API Endpoints",
      tooltip: "ComfyUI-Connect: API endpoints",
      type: "custom",
      render(container) {
        if (mounted?.container === container) return;
        mounted?.destroy();
        mounted = new Manager(container);
      },
      destroy() {
        mounted?.destroy();
        mounted = null;
      },
    });
  },
});
