"""The one test kit every suite uses (tests import `support.<module>`; pytest's pythonpath has tests/).

    server.py     prepare() a base directory and serve() a real ComfyUI with the plugin (one way to start one)
    client.py     Client: the plugin's API and the bits of ComfyUI's own the tests read
    filehost.py   FileHost: a local HTTP server for URL inputs, redirects, slow and held answers, webhooks
    images.py     PNGs, base64, pixels and colour checks
    media.py      video, audio, animations and bombs made on the spot
    errors.py     assert_error: status, the one JSON error shape, and what it names
    workflows.py  API-format prompts and builders, assert_still_serving
    redis_server.py  RedisServer: a real redis-server on a free loopback port (cluster suites)
    suites.py     each e2e suite's settings, keys and saved endpoints
    disk.py, documents.py, streaming.py, models.py, specimens.py: snapshots, OpenAPI checks, raw uploads,
                  tiny upscale models, /object_info excerpts for tests without ComfyUI

The log tail of every server a failing test used is added to its report by tests/conftest.py.
"""
