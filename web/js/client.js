// The one module through which the ComfyUI-Connect frontend talks to the server.
//
// Every request goes through ComfyUI's own `api.fetchApi` (it adds the `/api` prefix, the user
// header and whatever auth the frontend uses), every answer is checked with `response.ok`, and a
// failure becomes a ConnectApiError carrying the server's `{"error": {"type", "message", "details"}}`.
//
// ComfyUI loads every .js file of the plugin's web folder as an extension module: this one only
// exports, so loading it on its own does nothing.
import { api } from "../../scripts/api.js";

export class ConnectApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 when the server could not be reached
   * @param {string} type the server's error type, e.g. "invalid_annotation"
   * @param {string} message the server's message, meant for the user
   * @param {unknown} [details]
   */
  constructor(status, type, message, details) {
    super(message);
    this.name = "ConnectApiError";
    this.status = status;
    this.type = type;
    this.details = details;
  }
}

/** Endpoint names may contain folders ("team/upscale"); each part is encoded on its own. */
function routeOf(name) {
  return "/connect/workflows/" + name.split("/").map(encodeURIComponent).join("/");
}

async function request(method, route, body) {
  const options = { method };
  if (body !== undefined) {
    options.headers = { "Content-Type": "application/json" };
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await api.fetchApi(route, options);
  } catch (err) {
    throw new ConnectApiError(0, "network_error", `ComfyUI did not answer ${method} ${route}: ${err?.message ?? err}`);
  }
  const text = await response.text();
  let data;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = undefined;
  }
  if (!response.ok) {
    const error = data?.error;
    const message = typeof error?.message === "string" ? error.message : `HTTP ${response.status} ${response.statusText}`;
    throw new ConnectApiError(response.status, error?.type ?? "http_error", message, error?.details);
  }
  if (data === undefined) {
    throw new ConnectApiError(response.status, "invalid_response", `the answer to ${method} ${route} is not JSON`);
  }
  return data;
}

/** @returns {Promise<{workflows: object[], errors: Record<string, {error: {message: string}}>}>} */
export const listEndpoints = () => request("GET", "/connect/workflows");

export const describeEndpoint = (name) => request("GET", routeOf(name));

/**
 * Saves (creates or replaces) an endpoint; resolves to its description once the server stored it.
 * `options` may set `metadata` (what output files embed: "none", "prompt", "workflow", "full", or null
 * for the server's default); left out, the server keeps what was saved before. `force: true` saves a
 * change that breaks callers where the server refuses those (CONNECT_REFUSE_BREAKING).
 */
export const saveEndpoint = (name, prompt, workflow, options = {}) => {
  // `force`: save even when it breaks the endpoint's callers and the server refuses that (409 breaking_change).
  const { force, ...settings } = options;
  return request("PUT", routeOf(name) + (force ? "?force=true" : ""), { prompt, workflow, ...settings });
};

export const deleteEndpoint = (name) => request("DELETE", routeOf(name));

/** @returns {Promise<{name: string, current: string|null, versions: {version: string, short: string, saved_at: string, source: string, current: boolean}[]}>} */
export const listVersions = (name) => request("GET", `${routeOf(name)}/versions`);

/** Makes a kept version current again; `force` saves it even when it breaks callers (CONNECT_REFUSE_BREAKING). */
export const restoreVersion = (name, version, force = false) =>
  request("POST", `${routeOf(name)}/versions/${encodeURIComponent(version)}/restore${force ? "?force=true" : ""}`);

/**
 * The interactive docs page, opened at an endpoint's own run operation when its `operation_id` (as
 * the server's list and describe answers give it) is passed. The id is the server's, never derived
 * from the name here: names that differ only in punctuation ("a-b", "a_b") are numbered apart by the
 * server's OpenAPI document, and the deep link is `#/<tag>/<operationId>` (run operations are tagged
 * "workflows").
 */
export function docsUrl(operationId) {
  const page = absolute(api.apiURL("/connect"));
  return operationId ? `${page}#/workflows/${encodeURIComponent(operationId)}` : page;
}

/** The URL a program calls to run the endpoint, under `base` (e.g. a public URL) when given. */
export function runUrl(name, base) {
  const route = "/api" + routeOf(name);
  return base ? base.replace(/\/+$/, "") + route : absolute(api.apiURL(routeOf(name)));
}

function absolute(url) {
  return new URL(url, window.location.href).href;
}

/** Fired ("saved" / "deleted", detail: {name}) after the server confirmed a change. */
export const endpointEvents = new EventTarget();
