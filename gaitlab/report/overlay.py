"""The annotated overlay video: the clip with the measured skeleton, each gait event as it happens,
and the measured values of each step, held through its stance.

The values are those of the steps table, formatted by :func:`.content.value_text` like the report
and its key frames, so at any frame the overlay and the report say the same; a box in the corner
repeats the report's medians. Measures the report calls not measurable are not shown as numbers.
Text is at least :data:`TEXT_HEIGHT` of the frame height, light on a dark box with a black outline.

The clip is decoded once more, frame by frame, drawn on and encoded to H.264 (PyAV) at no more than
:data:`MAX_HEIGHT` pixels high, so the file stays small enough to mail and play on any phone.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from ..references import data as reference_data
from ..schema import KEYPOINT_INDEX
from .content import value_text
from .keyframes import LEFT_BGR, RIGHT_BGR, draw_skeleton

#: The overlay video is scaled down to at most this height (pixels).
MAX_HEIGHT = 720
#: Height of a line of text (capital letters) as a fraction of the frame height.
TEXT_HEIGHT = 0.026
#: An event's label stays on screen this long (s).
EVENT_HOLD_S = 0.25
EVENT_NAMES = {"initial_contact": "contact", "midstance": "midstance", "toe_off": "toe-off"}
#: Per view: (metric, short label, the event from which it is shown in the step's stance).
STEP_VALUES = {
    "side": (("knee_flexion_ic_deg", "knee flexion at contact", "initial_contact"),
             ("overstride_cm", "overstride", "initial_contact"),
             ("overstride_leg", "overstride", "initial_contact"),
             ("shank_angle_deg", "shank at contact", "initial_contact"),
             ("peak_knee_flexion_deg", "peak knee flexion", "midstance")),
    "rear": (("knee_fppa_deg", "knee FPPA", "initial_contact"),
             ("hip_adduction_deg", "hip adduction", "initial_contact"),
             ("pelvic_drop_peak_deg", "pelvic drop", "initial_contact")),
}
STEP_VALUES["front"] = STEP_VALUES["rear"]
FONT = cv2.FONT_HERSHEY_SIMPLEX
TEXT_BGR, BOX_BGR = (245, 245, 245), (25, 25, 25)


def font_scale(height: int) -> float:
    """The font scale whose capital letters are :data:`TEXT_HEIGHT` of ``height`` pixels."""
    (_, th), _ = cv2.getTextSize("H", FONT, 1.0, 1)
    return TEXT_HEIGHT * height / th


def _panel(img, lines: list[tuple[str, tuple]], corner: str, scale: float) -> None:
    """Lines of outlined text on a dark box in one corner of the frame ('tl', 'tr', 'bl')."""
    if not lines:
        return
    thick = max(1, int(round(scale * 1.6)))
    sizes = [cv2.getTextSize(t, FONT, scale, thick)[0] for t, _ in lines]
    pad = int(round(6 * scale))
    line_h = max(h for _, h in sizes) + 2 * pad
    w = max(w for w, _ in sizes) + 2 * pad
    h = line_h * len(lines) + pad
    H, W = img.shape[:2]
    x0 = 8 if corner in ("tl", "bl") else max(W - w - 8, 0)
    y0 = 8 if corner in ("tl", "tr") else max(H - h - 8, 0)
    x1, y1 = min(x0 + w, W), min(y0 + h, H)
    roi = img[y0:y1, x0:x1]
    roi[:] = (0.35 * roi + 0.65 * np.array(BOX_BGR)).astype(np.uint8)
    for k, ((text, colour), (_, th)) in enumerate(zip(lines, sizes)):
        org = (x0 + pad, y0 + (k + 1) * line_h - pad)
        cv2.putText(img, text, org, FONT, scale, (0, 0, 0), thick + 3, cv2.LINE_AA)
        cv2.putText(img, text, org, FONT, scale, colour, thick, cv2.LINE_AA)


def overlay_plan(result) -> tuple[list[list[tuple[str, tuple]]], list[tuple[str, tuple]]]:
    """What the overlay writes: per frame position, the lines of the current steps' values (and
    the events happening), and the constant lines of the report's medians."""
    from ..summary import printable_steps

    kind = result.view.get("kind")
    summary = result.summary
    steps = printable_steps(result.steps, summary)  # a side's value only where the summary prints it
    measurable = {m for m in summary.metric.unique() if summary[(summary.metric == m)].measurable.any()}
    has_cm = "overstride_cm" in measurable and np.isfinite(summary.loc[summary.metric == "overstride_cm", "median"]).any()
    items = [(m, label, ev) for m, label, ev in STEP_VALUES.get(kind, ())
             if m in measurable and m in steps.columns and not (m == "overstride_leg" and has_cm)
             and not (m == "overstride_cm" and not has_cm)]
    n = result.landmarks.n_frames
    lines: list[list[tuple[str, tuple]]] = [[] for _ in range(n)]
    for step in steps.itertuples():
        # Step frames are positions on the landmarks' time axis, like the events'.
        colour = LEFT_BGR if step.side == "left" else RIGHT_BGR
        start, end = int(step.ic_frame), min(int(step.to_frame), n - 1)
        if start < 0 or end < start:
            continue
        if not step.valid:
            for p in range(start, end + 1):
                lines[p].append((f"{step.side} step not used: {step.reason}"[:60], colour))
            continue
        mid = int(step.midstance_frame)
        event_pos = {"initial_contact": start, "midstance": mid if start <= mid <= end else start}
        for metric, label, event in items:
            if not np.isfinite(float(getattr(step, metric))):
                continue
            text = f"{step.side} {label} {value_text(metric, getattr(step, metric))}"
            for p in range(event_pos.get(event, start), end + 1):
                lines[p].append((text, colour))
    medians = []
    for metric, label, _ in items:
        rows = summary[summary.metric == metric].set_index("side")
        medians.append((f"report median {label}: L {value_text(metric, rows.loc['left', 'median'])}, "
                        f"R {value_text(metric, rows.loc['right', 'median'])}", TEXT_BGR))
    return lines, medians


def write_overlay(result, clean, tilt: np.ndarray | None, out: str | Path, video: str | Path | None = None,
                  progress=None) -> Path | None:
    """Write the overlay video of one analysed clip to ``out``; None when the video is not at hand.
    ``progress(done, total, stage)`` is told of each frame written."""
    import av

    from ..io.video import VideoReader

    info = clean.attrs.get("video", {})
    path = Path(video) if video else Path(info.get("path", ""))
    if not (info and path.is_file()):
        return None
    n = clean.n_frames
    step_lines, medians = overlay_plan(result)
    events: list[list[tuple[str, tuple]]] = [[] for _ in range(n)]
    hold = max(int(round(EVENT_HOLD_S * clean.fps)), 1)
    for ev in result.events.itertuples():
        for p in range(int(ev.frame), min(int(ev.frame) + hold, n)):
            events[p].append((f"{ev.side} {EVENT_NAMES.get(ev.event, ev.event)}",
                              LEFT_BGR if ev.side == "left" else RIGHT_BGR))
    position = {int(f): i for i, f in enumerate(clean.frame)}
    h0, w0 = int(info.get("height") or 0), int(info.get("width") or 0)
    scale = min(1.0, MAX_HEIGHT / max(h0, 1))
    w, h = (int(round(w0 * scale)) // 2) * 2, (int(round(h0 * scale)) // 2) * 2
    text_scale = font_scale(h)
    out = Path(out)
    tmp = out.with_name(f".{out.name}.partial")
    rate = Fraction(clean.fps).limit_denominator(1001) if np.isfinite(clean.fps) else Fraction(30)
    total = int(info.get("frames") or n)
    try:
        with av.open(str(tmp), mode="w", format="mp4") as container, VideoReader(path) as reader:
            stream = container.add_stream("libx264", rate=rate)
            stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
            stream.options = {"crf": "26", "preset": "veryfast"}
            for i, frame in enumerate(reader):
                p = position.get(frame.index)
                img = cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR)
                if scale != 1.0:
                    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
                if p is not None and clean.detected[p]:
                    draw_skeleton(img, clean.image[p, :, :2] * scale, KEYPOINT_INDEX, thickness=2)
                _panel(img, medians, "tl", 0.8 * text_scale)
                if p is not None:
                    _panel(img, step_lines[p], "bl", text_scale)
                    _panel(img, events[p], "tr", text_scale)
                vf = av.VideoFrame.from_ndarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), format="rgb24")
                vf.pts, vf.time_base = i, 1 / rate
                for packet in stream.encode(vf):
                    container.mux(packet)
                if progress is not None and i % 10 == 0:
                    progress(i + 1, max(total, i + 1), "overlay")
            for packet in stream.encode():
                container.mux(packet)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
