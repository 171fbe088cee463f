"""The annotated overlay video: the clip with the measured skeleton, each gait event as it happens,
and live angles (knee flexion from the side; pelvis tilt and knee frontal angle from behind).

The clip is decoded once more, frame by frame, drawn on and encoded to H.264 (PyAV) at no more than
:data:`MAX_HEIGHT` pixels high, so the file stays small enough to mail and play on any phone.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from ..geometry import flexion_deg, fppa_deg
from ..schema import KEYPOINT_INDEX
from .keyframes import LEFT_BGR, RIGHT_BGR, _label, draw_skeleton

#: The overlay video is scaled down to at most this height (pixels).
MAX_HEIGHT = 720
#: An event's label stays on screen this long (s).
EVENT_HOLD_S = 0.12
EVENT_NAMES = {"initial_contact": "contact", "midstance": "midstance", "toe_off": "toe-off"}


def write_overlay(result, clean, tilt: np.ndarray | None, out: str | Path, video: str | Path | None = None) -> Path | None:
    """Write the overlay video of one analysed clip to ``out``; None when the video is not at hand."""
    import av

    from ..io.video import VideoReader

    info = clean.attrs.get("video", {})
    path = Path(video) if video else Path(info.get("path", ""))
    if not (info and path.is_file()):
        return None
    kind = result.view.get("kind")
    n = clean.n_frames
    sides = ("left", "right")
    if kind == "side":
        live = {s: flexion_deg(clean.xy(f"{s}_hip"), clean.xy(f"{s}_knee"), clean.xy(f"{s}_ankle")) for s in sides}
        live_label = "knee flexion"
    else:
        live = {s: fppa_deg(clean.xy(f"{s}_hip"), clean.xy(f"{s}_knee"), clean.xy(f"{s}_ankle"),
                            clean.xy(f"{'right' if s == 'left' else 'left'}_hip")) for s in sides}
        live_label = "knee FPPA"
    # Event labels per frame position.
    labels: list[list[tuple[str, str]]] = [[] for _ in range(n)]
    hold = max(int(round(EVENT_HOLD_S * clean.fps)), 1)
    for ev in result.events.itertuples():
        for p in range(int(ev.frame), min(int(ev.frame) + hold, n)):
            labels[p].append((ev.side, EVENT_NAMES.get(ev.event, ev.event)))
    position = {int(f): i for i, f in enumerate(clean.frame)}
    h0, w0 = int(info.get("height") or 0), int(info.get("width") or 0)
    scale = min(1.0, MAX_HEIGHT / max(h0, 1))
    w, h = (int(round(w0 * scale)) // 2) * 2, (int(round(h0 * scale)) // 2) * 2
    out = Path(out)
    tmp = out.with_name(f".{out.name}.partial")
    rate = Fraction(clean.fps).limit_denominator(1001) if np.isfinite(clean.fps) else Fraction(30)
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
                xy = clean.image[p, :, :2] * scale
                draw_skeleton(img, xy, KEYPOINT_INDEX, thickness=2)
                for k, s in enumerate(sides):
                    v = live[s][p]
                    colour = LEFT_BGR if s == "left" else RIGHT_BGR
                    if np.isfinite(v):
                        _label(img, f"{s} {live_label} {v:+.0f} deg" if kind != "side" else f"{s} {live_label} {v:.0f} deg",
                               (10, 24 + 22 * k), colour)
                if kind in ("rear", "front") and tilt is not None and np.isfinite(tilt[p]):
                    _label(img, f"pelvis tilt {tilt[p]:+.1f} deg (+ = right side lower)", (10, 24 + 44), (230, 230, 230))
                for k, (s, name) in enumerate(labels[p]):
                    _label(img, f"{s} {name}", (w - 170, 24 + 22 * k), LEFT_BGR if s == "left" else RIGHT_BGR, 0.65)
            _label(img, f"{frame.time_s:6.2f} s", (10, h - 12), (230, 230, 230), 0.5)
            vf = av.VideoFrame.from_ndarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), format="rgb24")
            vf.pts, vf.time_base = i, 1 / rate
            for packet in stream.encode(vf):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    tmp.replace(out)
    return out
