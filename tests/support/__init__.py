"""Helpers for the end-to-end tests: a client for the plugin's HTTP API, images, models, a file server."""
