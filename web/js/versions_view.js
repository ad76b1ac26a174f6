// The versions of one endpoint in the endpoint manager: listed on demand (newest first, the current
// one marked), each older one restorable. A restore the server refuses as breaking (409, with
// CONNECT_REFUSE_BREAKING) is offered again with ?force=true after the user confirmed the list.
// Loaded by ComfyUI as an extension module too: it only exports.
import { endpointEvents, listVersions, restoreVersion } from "./client.js";
import { confirmBreaking, notify, rememberedName, warnBreaking } from "./publish.js";

async function restore(name, version) {
  let described;
  try {
    described = await restoreVersion(name, version.version);
  } catch (err) {
    if (err?.type !== "breaking_change") throw err;
    if (!(await confirmBreaking(name, err, `Restoring ${version.short} of`))) return null;
    described = await restoreVersion(name, version.version, true);
  }
  notify("success", `Endpoint "${name}" restored to ${version.short}`, undefined, 4000);
  if (rememberedName() === name) {
    // The restore changed the endpoint, not the canvas: the next save of the workflow publishes its graph again.
    notify("info", `"${name}" is the open workflow`, `Saving the workflow publishes its graph to "${name}" again (live sync).`, 8000);
  }
  warnBreaking(name, described);
  endpointEvents.dispatchEvent(new CustomEvent("saved", { detail: { name } }));
  return described;
}

function row(name, version, h) {
  const label = `${version.short} · ${version.source} · ${version.saved_at.replace("T", " ").slice(0, 19)}`;
  return h.el(
    "li",
    { "data-connect-version": version.version, class: version.current ? "connect-current-version" : "" },
    h.el("code", {}, label),
    version.current
      ? " (current)"
      : [
          " ",
          h.button(
            "Restore",
            "pi pi-replay",
            async () => {
              try {
                await restore(name, version);
              } catch (err) {
                notify("error", `Version ${version.short} not restored`, err?.message ?? String(err), 10000);
              }
            },
            { "data-connect-restore": version.version },
          ),
        ],
  );
}

/** A "Versions" button that lists the endpoint's versions below it; `h` is the manager's {el, button}. */
export function versionsView(name, h) {
  const list = h.el("ul", { class: "connect-versions" });
  const show = async () => {
    try {
      const data = await listVersions(name);
      list.replaceChildren(...data.versions.map((version) => row(name, version, h)));
      list.dataset.connectLoaded = "true";
    } catch (err) {
      list.replaceChildren(h.el("li", { class: "connect-warning" }, "Cannot list versions: ", err?.message ?? String(err)));
    }
  };
  return h.el("div", {}, h.button("Versions", "pi pi-history", show, { "data-connect-versions": name }), list);
}
