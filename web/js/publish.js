// Publishing the open workflow as an endpoint, shared by the menu command and live sync.
//
// The endpoint name is remembered inside the workflow itself (`extra.connect.endpoint`), so it is
// saved with the workflow file and comes back when the workflow is opened again, on any machine.
// Loaded by ComfyUI as an extension module too: it only exports.
import { app } from "../../scripts/app.js";
import { endpointEvents, saveEndpoint } from "./client.js";
import { activeWorkflow, markGraphChanged, rootGraph } from "./comfy_shim.js";

const LIMIT = 64;

/** The endpoint name this workflow was published under, or null. */
export function rememberedName() {
  const name = rootGraph()?.extra?.connect?.endpoint;
  return typeof name === "string" && name ? name : null;
}

/** A name to offer the first time: the workflow's file name, made acceptable to the server. */
export function suggestedName() {
  const filename = activeWorkflow()?.filename ?? "";
  const cleaned = filename
    .replace(/[^A-Za-z0-9_-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, LIMIT);
  return cleaned || "my-endpoint";
}

function remember(name) {
  const graph = rootGraph();
  if (!graph) return;
  graph.extra ??= {};
  if (graph.extra.connect?.endpoint === name) return;
  if (name) graph.extra.connect = { ...(graph.extra.connect ?? {}), endpoint: name };
  else delete graph.extra.connect;
  // Let the frontend's change tracker notice, so the workflow shows as modified and its next save
  // writes the name into the file.
  markGraphChanged();
}

/** Forgets the name if the open workflow is published under it (e.g. after it was deleted). */
export function forgetIfCurrent(name) {
  if (rememberedName() === name) remember(null);
}

/**
 * Converts the open graph with the frontend's own `graphToPrompt` and saves it as endpoint `name`.
 * Resolves to the server's description of the endpoint; throws ConnectApiError with the server's
 * message otherwise. The name is remembered only once the server stored the endpoint.
 */
export async function publishCurrent(name, options = {}) {
  const { output, workflow } = await app.graphToPrompt();
  // The stored UI workflow carries the name too, as it will after the next save of the file.
  const extra = { ...(workflow?.extra ?? {}), connect: { ...(workflow?.extra?.connect ?? {}), endpoint: name } };
  const described = await saveEndpoint(name, output, { ...workflow, extra }, options);
  remember(name);
  endpointEvents.dispatchEvent(new CustomEvent("saved", { detail: { name } }));
  return described;
}

/** A toast through the frontend's own toast service (`add` exists in 1.32 and 1.58). */
export function notify(severity, summary, detail, life) {
  app.extensionManager.toast.add({ severity, summary, detail, life });
}

/** "inputs: sampler, prompt · outputs: image" for a success toast. */
export function shape(described) {
  const inputs = Object.keys(described?.inputs ?? {});
  const outputs = Object.keys(described?.outputs ?? {});
  return `inputs: ${inputs.join(", ") || "none"} · outputs: ${outputs.join(", ") || "none"}`;
}

/** "" when the endpoint can run on this box; else "missing: model file x.safetensors (node 4), node class Foo (node 7)". */
export function missingText(described) {
  if (described?.ready !== false) return "";
  const items = (described.missing ?? []).map((m) => {
    const what = m.kind === "node_class" ? `node class ${m.class_type}` : `${m.kind.replace("_", " ")} ${m.value}`;
    return `${what} (node ${m.node_id})`;
  });
  return `missing: ${items.join(", ") || "unknown"}`;
}

/** The toast after a save: "saved", or "saved, but not ready on this box: missing ..." (the server stored it either way). */
export function notifySaved(summary, described, detail, life) {
  const missing = missingText(described);
  if (missing) notify("warn", `${summary}, but not ready on this box`, `${missing} · ${detail}`, 10000);
  else notify("success", summary, detail, life);
}

/**
 * A warning toast when a save broke the endpoint's contract for its callers (the server's `changes`,
 * README "Versions"): what was removed or narrowed, one per line. Nothing when the save broke nothing.
 */
export function warnBreaking(name, described) {
  const breaking = described?.changes?.breaking ?? [];
  if (!breaking.length) return false;
  const listed = breaking.map((change) => `• ${change}`).join("\n");
  notify("warn", `Endpoint "${name}": ${breaking.length} breaking change${breaking.length > 1 ? "s" : ""} for its callers`, listed, 15000);
  return true;
}

/** Asks whether to save anyway a change the server refused as breaking (409 breaking_change); true: yes. */
export async function confirmBreaking(name, err, what = "Saving") {
  const confirmed = await app.extensionManager.dialog.confirm({
    title: "This breaks the endpoint's callers",
    message: `${what} "${name}" breaks programs calling it. Save anyway?`,
    type: "default",
    itemList: err?.details?.breaking ?? [],
  });
  return confirmed === true;
}
