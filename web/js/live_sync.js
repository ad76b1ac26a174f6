// Live sync: saving a published workflow in ComfyUI (Ctrl+S, Workflow > Save, Save As) also updates
// its endpoint. A setting turns it off. Only endpoints that still exist are updated: a workflow
// whose endpoint was deleted is not published again behind the user's back.
//
// The hook is comfy_shim.js's onWorkflowSaved: every save path of the frontend ends there, and the
// callback runs only after the file was written.
import { app } from "../../scripts/app.js";
import { describeEndpoint } from "./client.js";
import { activeWorkflow, onWorkflowSaved } from "./comfy_shim.js";
import { notify, notifySaved, publishCurrent, rememberedName, shape, warnBreaking } from "./publish.js";

export const LIVE_SYNC_SETTING = "Connect.LiveSync";

function isActive(workflow) {
  const active = activeWorkflow();
  return Boolean(active && workflow && active.path === workflow.path);
}

async function syncAfterSave(workflow) {
  if (app.extensionManager.setting.get(LIVE_SYNC_SETTING) === false) return;
  // graphToPrompt converts the open graph, so only the open workflow can be synced.
  if (!isActive(workflow)) return;
  const name = rememberedName();
  if (!name) return;
  try {
    await describeEndpoint(name);
  } catch (err) {
    if (err?.status === 404) {
      notify("info", `Endpoint "${name}" was deleted: not updated`, "Workflow > Save API Endpoint publishes it again.", 5000);
      return;
    }
    notify("error", `Endpoint "${name}" not updated`, err?.message ?? String(err), 10000);
    return;
  }
  try {
    const described = await publishCurrent(name);
    notifySaved(`Endpoint "${name}" updated`, described, shape(described), 3000);
    warnBreaking(name, described);
  } catch (err) {
    const refused = err?.type === "breaking_change"; // CONNECT_REFUSE_BREAKING: the menu command asks to force it
    const detail = refused ? `${err.message}. Workflow > Save API Endpoint saves it after asking.` : (err?.message ?? String(err));
    notify("error", `Endpoint "${name}" not updated`, detail, 10000);
  }
}

app.registerExtension({
  name: "Connect.LiveSync",
  settings: [
    {
      id: LIVE_SYNC_SETTING,
      category: ["Connect", "Endpoints", "Live sync"],
      name: "Update the API endpoint when the workflow is saved",
      tooltip: "Once a workflow is saved as an API endpoint, saving the workflow (Ctrl+S) saves the endpoint too.",
      type: "boolean",
      defaultValue: true,
    },
  ],
  setup() {
    if (!onWorkflowSaved(syncAfterSave)) console.warn("ComfyUI-Connect: this frontend has no workflow store hook; live sync is off");
  },
});
