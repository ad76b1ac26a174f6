from __future__ import annotations

import io

import pytest
from PIL import Image

from connect.errors import LimitExceeded, PayloadTooLarge, TooManyRequests, Unavailable
from connect.io.pixels import check_image
from connect.run.limits import Admission, check_batch


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height)).save(buffer, "PNG")
    return buffer.getvalue()


def test_admission_per_client_then_overall() -> None:
    depth = [0]
    admission = Admission(max_queue=3, max_per_client=2, queue_depth=lambda: depth[0], seconds_per_run=lambda: 2.5)
    with admission.slot("a"), admission.slot("a"):
        with pytest.raises(TooManyRequests) as refused, admission.slot("a"):
            pass
        assert refused.value.headers == {"Retry-After": "3"}
        with admission.slot("b"):
            assert admission.in_flight == 3
            with pytest.raises(Unavailable) as full, admission.slot("c"):
                pass
            assert full.value.details["queue_depth"] == 3
    assert admission.in_flight == 0
    depth[0] = 3  # prompts queued from ComfyUI's UI count too
    with pytest.raises(Unavailable), admission.slot("a"):
        pass


def test_a_slot_is_released_when_the_run_fails() -> None:
    admission = Admission(10, 1, lambda: 0, lambda: 1.0)
    with pytest.raises(RuntimeError), admission.slot("a"):
        raise RuntimeError("run failed")
    with admission.slot("a"):
        pass


def test_a_detached_slot_is_held_until_its_job_gives_it_back_once() -> None:
    admission = Admission(10, 1, lambda: 0, lambda: 1.0)
    with admission.slot("a") as slot:
        release = slot.detach()
    assert admission.in_flight == 1  # the request ended, its job goes on
    with pytest.raises(TooManyRequests), admission.slot("a"):
        pass
    release()
    release()
    assert admission.in_flight == 0


def test_retry_after_is_bounded() -> None:
    assert Admission(1, 1, lambda: 0, lambda: 0.001).retry_after(1) == 1
    assert Admission(1, 1, lambda: 0, lambda: 30.0).retry_after(10) == 60


def test_check_image() -> None:
    check_image("x", _png(100, 100), 10_000)
    check_image("x", b"not an image at all", 1)  # other files are the loader's business
    with pytest.raises(PayloadTooLarge, match="101x100 = 10100 pixels") as exc:
        check_image("x", _png(101, 100), 10_000)
    assert exc.value.details["width"] == 101


def test_check_batch() -> None:
    check_batch({"canvas": {"batch_size": 4}, "other": False}, 4)
    check_batch({"canvas": {"batch_size": True, "width": 10_000}}, 4)
    with pytest.raises(LimitExceeded, match=r"'canvas\.batch_size': 5 is over the batch limit of 4"):
        check_batch({"canvas": {"batch_size": 5}}, 4)
