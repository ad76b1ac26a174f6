"""The middlewares in front of every route; gate.py puts them in order.

Each has one job. Those in ``plugin_only`` act on the plugin's own paths (``/connect/...`` and
``/api/connect/...``) and hand every other request straight on.
"""
