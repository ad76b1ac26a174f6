"""The OpenAPI document (document.py assembles it); the names the HTTP layer and tests use."""

from .document import build_document, operation_suffixes
from .io import PAYLOAD_PART
from .responses import documented_errors, error_schema_name
from .service import DOCS_ASSETS

__all__ = ["DOCS_ASSETS", "PAYLOAD_PART", "build_document", "documented_errors", "error_schema_name", "operation_suffixes"]
