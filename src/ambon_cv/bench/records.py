"""What the workers tell the harness, per frame and per alert: small typed records that cross
process queues (named tuples: as cheap to pickle as the tuples they name)."""

from __future__ import annotations

from typing import NamedTuple


class FrameRecord(NamedTuple):
    """One analysed slot of one stream. Times are `time.monotonic()` seconds; a gated slot
    (the view had not changed, its last detections were reused) has `batch` 0."""

    stream: int  # the stream's index in the run's profiles
    captured: float  # when the frame was captured (the latency's start)
    queued: float  # when it was waiting for the detector
    started: float  # when its batch went in
    done: float  # when its boxes and alerts were out
    infer_s: float  # its share of the batch's inference
    post_s: float  # its share of decoding the boxes and updating the alerts
    batch: int  # frames in its batch
    boxes: int  # boxes the detector found (or that were reused)


class AlertRecord(NamedTuple):
    """An alert the load raised."""

    camera: str
    kind: str  # garbage, fight
    raised_s: float  # on the stream's clock
