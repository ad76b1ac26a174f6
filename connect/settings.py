"""Server-side configuration, from environment variables prefixed ``CONNECT_``.

CONNECT_RUN_TIMEOUT=600            seconds a synchronous run may take before 504
CONNECT_MAX_FILE_BYTES=52428800    largest file accepted as base64 or from a URL
CONNECT_URL_TIMEOUT=30             seconds to download one URL input
CONNECT_ALLOW_PRIVATE_URLS=false   allow URL inputs on loopback/private/link-local addresses
CONNECT_WORKFLOWS_DIR=             where endpoints are stored (default <user dir>/connect/workflows)
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONNECT_", extra="ignore")

    run_timeout: float = Field(600.0, gt=0)
    max_file_bytes: int = Field(50 * 1024 * 1024, gt=0)
    url_timeout: float = Field(30.0, gt=0)
    allow_private_urls: bool = False
    workflows_dir: Path | None = None
