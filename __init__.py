"""ComfyUI-Connect: saved ComfyUI workflows served as a REST API (see README.md).

ComfyUI imports this package from custom_nodes/ at start; the one setup call below registers the
routes before ComfyUI starts serving. Imported anywhere else (pytest collecting this folder as a
package, tooling), it does nothing.
"""

import sys

NODE_CLASS_MAPPINGS: dict[str, type] = {}
NODE_DISPLAY_NAME_MAPPINGS: dict[str, str] = {}
WEB_DIRECTORY = "./web/js"


def _inside_comfyui() -> bool:
    server = sys.modules.get("server")
    return getattr(getattr(server, "PromptServer", None), "instance", None) is not None


if _inside_comfyui():
    # Imported here only: pytest imports this file with no parent package when the checkout's folder
    # name is not an identifier (e.g. "ComfyUI-Connect"), and a relative import would fail there.
    from .connect.plugin import setup

    setup()

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]
