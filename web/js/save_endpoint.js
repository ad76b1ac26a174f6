// "Workflow > Save API Endpoint": asks for a name (prefilled with the one this workflow was saved
// under before) and saves the open workflow as an endpoint. Says "saved" only after the server did.
import { app } from "../../scripts/app.js";
import { confirmBreaking, notify, notifySaved, publishCurrent, rememberedName, shape, suggestedName, warnBreaking } from "./publish.js";

export const SAVE_COMMAND = "Connect.SaveEndpoint";

async function saveEndpointCommand() {
  const answer = await app.extensionManager.dialog.prompt({
    title: "Save API Endpoint",
    message: "Endpoint name (letters, digits, - and _; use / for folders):",
    defaultValue: rememberedName() ?? suggestedName(),
  });
  if (answer === null || answer === undefined) return; // cancelled
  const name = String(answer).trim();
  if (!name) {
    notify("error", "Endpoint not saved", "The endpoint name is empty.", 6000);
    return;
  }
  try {
    let described;
    try {
      described = await publishCurrent(name);
    } catch (err) {
      // The server refuses breaking saves (CONNECT_REFUSE_BREAKING): the user may confirm them.
      if (err?.type !== "breaking_change" || !(await confirmBreaking(name, err))) throw err;
      described = await publishCurrent(name, { force: true });
    }
    notifySaved(`Endpoint "${name}" saved`, described, `POST /api/connect/workflows/${name} · ${shape(described)}`, 5000);
    warnBreaking(name, described);
  } catch (err) {
    notify("error", `Endpoint "${name}" not saved`, err?.message ?? String(err), 10000);
  }
}

app.registerExtension({
  name: "Connect.SaveEndpoint",
  commands: [{ id: SAVE_COMMAND, label: "Save API Endpoint", icon: "pi pi-cloud-upload", function: saveEndpointCommand }],
  menuCommands: [{ path: ["Workflow"], commands: [SAVE_COMMAND] }],
});
