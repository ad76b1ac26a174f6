"""One error model for every response the plugin sends.

    ConnectError (status 500, "internal_error")
    ├── BadRequest (400)
    │   ├── InvalidJSON            body is not JSON / not an object
    │   ├── InvalidName            workflow name outside the allow-list
    │   ├── InvalidWorkflow        a saved prompt that is not an API-format ComfyUI prompt
    │   ├── AnnotationError        a `$`/`#`/`!` title that cannot be parsed or conflicts
    │   ├── BypassError            a bypassed node whose consumers cannot be rewired
    │   ├── InputFileError         a file input that cannot be decoded, fetched or stored
    │   └── LimitExceeded          a value over a configured cap (e.g. batch_size)
    ├── Unauthorized (401)         no API key, or one that is not configured
    ├── Forbidden (403)            a valid key without access to this workflow or action
    ├── NotFound (404)
    ├── NotAcceptable (406)        the delivery asked for (e.g. raw bytes) does not fit this run's outputs
    ├── PayloadTooLarge (413)
    ├── TooManyRequests (429)      this client already has its maximum of runs in flight
    ├── RunInterrupted (409)       the run was interrupted (from the UI, or cancelled)
    ├── PayloadError (422)         the run body breaks the workflow's contract (its OpenAPI request schema):
    │                              an unknown group or input, a wrong type, a value out of range
    ├── ConvertError (422)         a UI-format workflow that cannot be converted to a prompt (names the node)
    ├── PromptInvalid (422)        ComfyUI's own validation rejected the patched prompt
    ├── IdempotencyMismatch (422)  an Idempotency-Key used before with another request body
    ├── ExecutionFailed (500)      a node raised while the prompt ran
    ├── OutputTooLarge (500)       a cluster job's output files are over CONNECT_CLUSTER_OUTPUT_MAX_BYTES
    ├── DeadLettered (500)         a cluster job taken CONNECT_CLUSTER_ATTEMPTS times without finishing
    ├── WorkflowCorrupt (500)      a stored file that is not a valid saved workflow
    ├── Unavailable (503)          the queue is full or ComfyUI's prompt worker is dead
    │   ├── ServerRestarted (503)  a job was running when ComfyUI stopped (crash or restart); it is not run again
    │   └── ClusterUnavailable (503)  the cluster's Redis does not answer, so jobs can be neither queued nor read
    └── RunTimeout (504)

Every one renders as ``{"error": {"type": ..., "message": ..., "details": ...}}``; ``headers`` are
sent with it (``Retry-After`` on 429/503, ``WWW-Authenticate`` on 401).
"""

from __future__ import annotations

from typing import Any


class ConnectError(Exception):
    status = 500
    type = "internal_error"

    def __init__(self, message: str, details: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.type, self.message, self.details)


def error_body(type_: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"type": type_, "message": message, "details": details}}


class BadRequest(ConnectError):
    status = 400
    type = "bad_request"


class InvalidJSON(BadRequest):
    type = "invalid_json"


class InvalidName(BadRequest):
    type = "invalid_name"


class InvalidWorkflow(BadRequest):
    type = "invalid_workflow"


class AnnotationError(BadRequest):
    type = "invalid_annotation"


class BypassError(BadRequest):
    type = "bypass_failed"


class InputFileError(BadRequest):
    type = "invalid_input_file"


class LimitExceeded(BadRequest):
    type = "limit_exceeded"


class Unauthorized(ConnectError):
    status = 401
    type = "unauthorized"


class Forbidden(ConnectError):
    status = 403
    type = "forbidden"


class NotFound(ConnectError):
    status = 404
    type = "not_found"


class NotAcceptable(ConnectError):
    status = 406
    type = "not_acceptable"


class PayloadTooLarge(ConnectError):
    status = 413
    type = "payload_too_large"


class TooManyRequests(ConnectError):
    status = 429
    type = "too_many_requests"


class RunInterrupted(ConnectError):
    status = 409
    type = "interrupted"


class PayloadError(ConnectError):
    status = 422
    type = "invalid_payload"


class ConvertError(ConnectError):
    status = 422
    type = "unconvertible_workflow"


class PromptInvalid(ConnectError):
    status = 422
    type = "prompt_invalid"


class IdempotencyMismatch(ConnectError):
    status = 422
    type = "idempotency_key_reused"


class ExecutionFailed(ConnectError):
    status = 500
    type = "execution_failed"


class WorkflowCorrupt(ConnectError):
    status = 500
    type = "workflow_corrupt"


class Unavailable(ConnectError):
    status = 503
    type = "unavailable"


class ServerRestarted(Unavailable):
    type = "server_restarted"


class OutputTooLarge(ConnectError):
    type = "output_too_large"


class DeadLettered(ConnectError):
    type = "dead_lettered"


class ClusterUnavailable(Unavailable):
    type = "cluster_unavailable"


class RunTimeout(ConnectError):
    status = 504
    type = "timeout"
