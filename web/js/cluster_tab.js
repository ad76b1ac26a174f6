// A "Cluster" tab in ComfyUI's sidebar: the plugin's statistics page (GET /api/connect/cluster/dashboard)
// in its compact form, in a frame. One page for both: the same data, drawn by the same code. The
// frame is same-origin, so it carries the login cookie like the page itself; without a key it asks
// for one through the plugin's login form.
import { api } from "../../scripts/api.js";
import { app } from "../../scripts/app.js";
import { addSidebarTab } from "./comfy_shim.js";

const TAB_ID = "connect-cluster";

function render(container) {
  if (container.querySelector("iframe[data-connect-cluster]")) return; // the frontend may render again
  const frame = document.createElement("iframe");
  frame.src = api.apiURL("/connect/cluster/dashboard") + "?embed=1";
  frame.title = "ComfyUI-Connect: cluster statistics";
  frame.dataset.connectCluster = "";
  frame.style.cssText = "border:0;width:100%;height:100%;min-height:85vh;display:block";
  container.replaceChildren(frame);
}

app.registerExtension({
  name: "Connect.ClusterTab",
  setup() {
    addSidebarTab({
      id: TAB_ID,
      icon: "pi pi-chart-bar",
      title: "Cluster",
      tooltip: "ComfyUI-Connect: cluster statistics",
      type: "custom",
      render,
    });
  },
});
