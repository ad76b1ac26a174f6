// Every private or undocumented part of the ComfyUI frontend the plugin relies on, in one place.
//
// The features (badges, manager, live sync, publishing) use the public extension API directly
// (`app.registerExtension`, `app.graphToPrompt`, `app.extensionManager.{setting,toast,dialog,command}`,
// `api.fetchApi`, `api.apiURL`) and come here for anything else. When a new frontend breaks one of
// these, this file is the one to change; each function says which frontends it was read from:
//   1.32.9  what ComfyUI 0.3.75 ships (the venv's comfyui-frontend-package)
//   1.58.1  requirements/frontends.txt, run by tests/frontend with --front-end-root
// (ComfyUI 0.33.0 ships 1.49.6, between the two; not read separately.)
//
// ComfyUI loads every .js file of web/js as an extension module: this one only exports.
import { api } from "../../scripts/api.js";
import { app } from "../../scripts/app.js";

/**
 * The workflow's top-level graph, also while a subgraph is open in the canvas (whose graph is
 * `app.canvas.graph`, not this one).
 * 1.32.9 and 1.58.1: `app.rootGraph` (and the older `app.graph`, kept as the fallback for frontends
 * without `rootGraph`) return the same root graph; `rootGraph` logs an error if read before the app
 * set up its graph, which the plugin never does.
 */
export function rootGraph() {
  return app.rootGraph ?? app.graph;
}

/**
 * The nodes of a graph (the root graph by default), [] without one.
 * 1.32.9 and 1.58.1: `LGraph.nodes` is a getter over the private `_nodes` array; `_nodes` is the
 * fallback for litegraph versions without the getter.
 */
export function graphNodes(graph = rootGraph()) {
  return graph?.nodes ?? graph?._nodes ?? [];
}

/**
 * The workflow open in the canvas: the workflow store's `activeWorkflow` (`path`, `filename`,
 * `changeTracker`...), undefined if this frontend has none.
 * 1.32.9 and 1.58.1: `app.extensionManager.workflow` is the Pinia workflow store (not documented
 * as extension API).
 */
export function activeWorkflow() {
  return app.extensionManager?.workflow?.activeWorkflow ?? undefined;
}

/**
 * Tells the frontend's change tracker that the graph changed outside its view (e.g. `extra` was
 * edited), so the workflow shows as modified and its next save writes the change.
 * 1.32.9 and 1.58.1: `activeWorkflow.changeTracker.checkState()`. A no-op where it is missing.
 */
export function markGraphChanged() {
  activeWorkflow()?.changeTracker?.checkState?.();
}

/**
 * Calls `listener` after every change of the graph the change tracker notices (a node renamed...);
 * returns a function that stops it.
 * 1.32.9 and 1.58.1: the change tracker dispatches `graphChanged` on `api` (not in the documented
 * event list).
 */
export function onGraphChanged(listener) {
  api.addEventListener("graphChanged", listener);
  return () => api.removeEventListener("graphChanged", listener);
}

/**
 * Calls `callback(workflow)` after the frontend wrote a workflow file, whichever way it was saved
 * (Ctrl+S, Workflow > Save, Save As: every path ends in the store's `saveWorkflow` action).
 * Returns false, and does nothing, if this frontend's workflow store cannot be watched.
 * 1.32.9 and 1.58.1: `app.extensionManager.workflow` is a Pinia store: `$onAction` with the action
 * `saveWorkflow(workflow)`; `after` runs once the action's promise resolved.
 */
export function onWorkflowSaved(callback) {
  const store = app.extensionManager?.workflow;
  if (typeof store?.$onAction !== "function") return false;
  store.$onAction(({ name, args, after }) => {
    if (name === "saveWorkflow") after(() => callback(args[0]));
  });
  return true;
}

/**
 * Adds a badge to a node, evaluated each time the node is drawn: `make()` returns
 * `{text, fgColor, bgColor}` (an empty text draws nothing). Returns false if this frontend has no
 * node badges.
 * 1.32.9 and 1.58.1: litegraph's `LGraphBadge` class is only reachable as `window.LGraphBadge`
 * (set by the frontend's global-litegraph setup); `node.badges` takes badges or functions
 * returning one.
 */
export function addNodeBadge(node, make) {
  const Badge = window.LGraphBadge;
  if (!Badge || !Array.isArray(node?.badges)) return false;
  node.badges.push(() => new Badge(make()));
  return true;
}

/**
 * Adds a tab to ComfyUI's sidebar: `tab` is `{id, icon, title, tooltip, type: "custom", render(el),
 * destroy()}`. Returns false, and does nothing, if this frontend has no sidebar tabs.
 * 1.32.9 and 1.58.1: `app.extensionManager.registerSidebarTab(tab)`; its button carries the class
 * `<id>-tab-button` (1.32.9) or `data-testid="<id>-tab-button"` (1.58.1).
 */
export function addSidebarTab(tab) {
  const register = app.extensionManager?.registerSidebarTab;
  if (typeof register !== "function") return false;
  register.call(app.extensionManager, tab);
  return true;
}
