// Annotation help where the user types: a node whose title carries `$input`, `#output`, `!bypass`
// or `!cache` gets a badge saying what the API will make of it ("API: in sampler · out preview"),
// updated as the title is edited, and a warning badge for an annotation that cannot be read.
// A setting hides the badges.
import { app } from "../../scripts/app.js";
import { addNodeBadge } from "./comfy_shim.js";
import { readTitle, summarize } from "./titles.js";

export const BADGES_SETTING = "Connect.AnnotationBadges";
const withBadge = new WeakSet();

/** The badge text for a title, "" when it has no annotation (an empty badge is not drawn). */
export function badgeText(title) {
  const notes = readTitle(title);
  return notes.length ? `API: ${summarize(notes)}` : "";
}

function attach(node) {
  if (!node || withBadge.has(node)) return;
  // The badge is evaluated each time the node is drawn, so it follows title edits.
  const added = addNodeBadge(node, () => {
    const text = app.extensionManager.setting.get(BADGES_SETTING) === false ? "" : badgeText(node.title);
    const problem = text.includes("⚠");
    return { text, fgColor: "#fff", bgColor: problem ? "#a33" : "#2a5d8a" };
  });
  if (added) withBadge.add(node);
}

app.registerExtension({
  name: "Connect.AnnotationBadges",
  settings: [
    {
      id: BADGES_SETTING,
      category: ["Connect", "Annotations", "Badges"],
      name: "Show what the API makes of $input / #output / ! titles as node badges",
      type: "boolean",
      defaultValue: true,
    },
  ],
  nodeCreated: attach,
  loadedGraphNode: attach,
});
