"""What the clinician report says, as plain data: no HTML, no PDF, no drawing.

:func:`report_content` turns analysed clips (one session, optionally with an earlier session to
compare against) into a :class:`ReportContent`. The HTML and PDF writers only lay it out, and the
tests check it against the numbers computed, so what the report shows is what was measured.

Every number comes from the clips' summary tables; every reference range, flag rule, wording and
source from ``data/references.json`` and ``data/report.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from .. import __version__
from ..references import constant, data as reference_data
from ..summary import foot_strike_counts


@lru_cache(maxsize=None)
def wording() -> dict:
    text = resources.files("gaitlab").joinpath("data", "report.json").read_text(encoding="utf-8")
    return json.loads(text)


def _finite(x) -> bool:
    try:
        return x is not None and bool(np.isfinite(float(x)))
    except (TypeError, ValueError):
        return False


def fmt(value, decimals: int) -> str:
    """A number as the report prints it ('-' when missing)."""
    return f"{float(value):.{decimals}f}" if _finite(value) else "-"


@dataclass
class MetricRow:
    """One line of the at-a-glance table: a metric of one clip, per side."""

    clip: str
    metric: str
    label: str
    unit: str
    decimals: int
    values: dict            # side -> median (float, NaN when missing), sides left/right/both
    spread: dict            # side -> (q1, q3)
    n_steps: dict           # side -> int
    right_minus_left: float
    sdd: float | None
    reference_text: str
    reference_source: str
    uncertainty_text: str
    uncertainty_value: float | None
    key: bool               # one of the measures a clinician reads first
    measurable: bool
    warnings: list[str]
    flags: list[dict]       # {"kind", "label", "text"}

    def value_text(self, side: str) -> str:
        if not self.measurable:
            return "not measurable"
        return fmt(self.values.get(side), self.decimals)

    def spread_text(self, side: str) -> str:
        q1, q3 = self.spread.get(side, (np.nan, np.nan))
        if not (self.measurable and _finite(q1) and _finite(q3)):
            return ""
        return f"{fmt(q1, self.decimals)} to {fmt(q3, self.decimals)}"

    def uncertainty_short(self) -> str:
        """The validated typical error, e.g. '+/- 3 deg' ('' where gaitlab has no figure)."""
        if self.uncertainty_value is None:
            return ""
        unit = f" {self.unit}" if self.unit else ""
        return f"±{self.uncertainty_value:g}{unit}"

    def asymmetry_text(self) -> str:
        if not (self.measurable and _finite(self.right_minus_left)):
            return "-"
        return f"{float(self.right_minus_left):+.{self.decimals}f}"


@dataclass
class ReportContent:
    title: str
    created: str
    version: str
    runner: dict
    clips: list[dict]
    rows: list[MetricRow]
    findings: list[str]
    focus: list[dict]
    quality: list[dict]
    comparison: list[dict]
    sources: list[tuple[int, str, str]]  # (number, key, citation)
    foot_strike: dict = field(default_factory=dict)

    def source_number(self, key: str) -> int | None:
        for n, k, _ in self.sources:
            if k == key:
                return n
        return None

    def row(self, metric: str, clip: str | None = None) -> MetricRow | None:
        for r in self.rows:
            if r.metric == metric and (clip is None or r.clip == clip):
                return r
        return None


def _flags(spec: dict, row: MetricRow) -> list[dict]:
    """The flags the evidence supports for one row: outside a cited reference range (both sides
    together), and a left/right difference beyond the smallest detectable difference."""
    if not row.measurable:
        return []
    words = wording()["flags"]
    ref = spec.get("reference", {})
    out = []
    value = row.values.get("both")
    fill = {"label": row.label, "unit": row.unit, "value": fmt(value, row.decimals),
            "reference_low": ref.get("low"), "reference_high": ref.get("high")}
    if _finite(value) and ref.get("low") is not None and value < ref["low"]:
        out.append({"kind": "below_reference", "label": words["below_reference"]["label"],
                    "text": words["below_reference"]["text"].format(**fill), "source": ref.get("source", "")})
    if _finite(value) and ref.get("high") is not None and value > ref["high"]:
        out.append({"kind": "above_reference", "label": words["above_reference"]["label"],
                    "text": words["above_reference"]["text"].format(**fill), "source": ref.get("source", "")})
    sdd = row.sdd
    enough = min(row.n_steps.get("left", 0), row.n_steps.get("right", 0)) >= constant("min_steps_per_side")
    if sdd is not None and _finite(row.right_minus_left) and abs(row.right_minus_left) > sdd and enough:
        out.append({"kind": "asymmetry", "label": words["asymmetry"]["label"],
                    "text": words["asymmetry"]["text"].format(label=row.label, unit=row.unit, sdd=sdd,
                                                            difference=f"{row.right_minus_left:+.{row.decimals}f}"),
                    "source": spec.get("sdd", {}).get("source", "")})
    return out


def metric_rows(summary: pd.DataFrame, clip: str) -> list[MetricRow]:
    """At-a-glance rows of one clip, in the order of ``references.json``'s metrics."""
    specs = reference_data()["metrics"]
    rows = []
    for metric, spec in specs.items():
        part = summary[summary.metric == metric]
        if part.empty:
            continue
        by_side = {r.side: r for r in part.itertuples()}
        if metric.endswith("_cm") and not any(_finite(r.median) for r in by_side.values()):
            continue  # needs the runner's height; the leg-length version is shown instead
        measurable = bool(by_side["both"].measurable)
        warnings = sorted({str(w) for w in part.warning if isinstance(w, str) and w})
        row = MetricRow(
            clip=clip, metric=metric, label=spec["label"], unit=spec["unit"], decimals=int(spec.get("decimals", 1)),
            values={s: float(r.median) for s, r in by_side.items()},
            spread={s: (float(r.q1), float(r.q3)) for s, r in by_side.items()},
            n_steps={s: int(r.n_steps) for s, r in by_side.items()},
            right_minus_left=float(by_side["both"].right_minus_left),
            sdd=spec.get("sdd", {}).get("value"),
            reference_text=spec.get("reference", {}).get("text", ""),
            reference_source=spec.get("reference", {}).get("source", ""),
            uncertainty_text=spec.get("uncertainty", {}).get("text", ""),
            uncertainty_value=spec.get("uncertainty", {}).get("value"),
            key=bool(spec.get("key")), measurable=measurable, warnings=warnings, flags=[])
        row.flags = _flags(spec, row)
        rows.append(row)
    return sorted(rows, key=lambda r: not r.key)  # stable: key measures first, each in data-file order


def _observations(rows: list[MetricRow], strikes: dict) -> list[str]:
    texts = wording()["observations"]
    out = []
    for row in rows:
        template = texts.get(row.metric)
        if not template or not row.measurable:
            continue
        if row.metric == "foot_angle_ic_deg":
            parts = []
            for side in ("left", "right"):
                counts = strikes.get(row.clip, {}).get(side, {})
                total = sum(counts.values())
                if total:
                    kind = max(counts, key=counts.get)
                    parts.append(f"{kind} on the {side} ({counts[kind]} of {total} steps)")
            if parts:
                out.append(template.format(strike="; ".join(parts)))
            continue
        out.append(template.format(left=fmt(row.values.get("left"), row.decimals),
                                   right=fmt(row.values.get("right"), row.decimals)))
    return out


def _focus_areas(rows: list[MetricRow], cadence: float | None) -> list[dict]:
    measured = {r.metric for r in rows if r.measurable}
    flagged = {r.metric for r in rows if r.flags}
    out = []
    for area in wording()["focus_areas"]:
        relevant = [m for m in area["metrics"] if m in measured]
        if not relevant:
            continue
        suggestion = area["suggestion"]
        if "{cadence" in suggestion:
            if not _finite(cadence):
                continue
            suggestion = suggestion.format(cadence=f"{cadence:.0f}", cadence_5=f"{1.05 * cadence:.0f}",
                                           cadence_10=f"{1.10 * cadence:.0f}")
        out.append({"key": area["key"], "title": area["title"], "text": area["text"], "suggestion": suggestion,
                    "sources": list(area["sources"]), "flagged": bool(flagged & set(area["metrics"])),
                    "metrics": relevant})
    return out


def clip_quality(result) -> list[str]:
    """Capture-quality advice for one clip: what limits its numbers and how to refilm."""
    words = wording()["quality"]
    q = result.quality
    lm = result.landmarks
    out = []
    fps = float(q.get("fps", lm.fps))
    view = result.view.get("kind")
    if view == "side" and not (result.runner or {}).get("height_m"):
        out.append(words["no_height"])
    if view == "side" and fps < constant("timing_min_fps"):
        out.append(words["timing_fps"].format(fps=f"{fps:.0f}", frame_ms=f"{1000 / fps:.0f}"))
    valid = result.valid_steps
    for side in ("left", "right"):
        n = int((valid.side == side).sum())
        if n < constant("min_steps_per_side"):
            out.append(words["few_steps"].format(n=n, side=side))
    frac = (lm.attrs.get("subject") or {}).get("runner_height_fraction")
    if _finite(frac) and frac < 0.4:
        out.append(words["small_runner"].format(fraction=f"{frac:.0%}"))
    roll = (q.get("camera_roll") or {}).get("roll_deg")
    if _finite(roll) and abs(roll) >= 2.0:
        out.append(words["roll"].format(roll=f"{roll:+.0f}"))
    for side in ("left", "right"):
        vis = float(np.nanmean(lm.visibility[lm.detected][:, [lm_index(f"{side}_knee"), lm_index(f"{side}_ankle")]])) \
            if lm.detected.any() else float("nan")
        if _finite(vis) and vis < 0.5:
            out.append(words["visibility"].format(side=side, visibility=f"{vis:.2f}"))
    source = lm.attrs.get("imported_from") or {}
    if source:
        layout = f" ({source['layout']})" if source.get("layout") else ""
        out.append(words["imported"].format(software=source.get("software") or "another pose tool", layout=layout))
    pelvis = q.get("pelvis") or {}
    if view in ("rear", "front") and not pelvis.get("measurable", True):
        out.append(words["pelvis"].format(reason=pelvis.get("reason", "")))
    return out


def capture_summary(result) -> str:
    """One line on how the clip was filmed, whether or not anything is wrong with it."""
    q, lm = result.quality, result.landmarks
    parts = [f"{float(q.get('fps', lm.fps)):.0f} frames/s"]
    frac = (lm.attrs.get("subject") or {}).get("runner_height_fraction")
    if _finite(frac):
        parts.append(f"runner {frac:.0%} of the frame height")
    if lm.detected.any():
        vis = [float(np.nanmean(lm.visibility[lm.detected][:, [lm_index(f"{s}_knee"), lm_index(f"{s}_ankle")]]))
               for s in ("left", "right")]
        parts.append(f"leg visibility {vis[0]:.2f} left, {vis[1]:.2f} right")
    roll = (q.get("camera_roll") or {}).get("roll_deg")
    if _finite(roll):
        parts.append(f"camera roll {roll:+.1f} deg")
    parts.append(f"runner found in {float(q.get('detected_fraction', lm.detected.mean())):.0%} of frames")
    return "; ".join(parts)


def lm_index(name: str) -> int:
    from ..schema import KEYPOINT_INDEX

    return KEYPOINT_INDEX[name]


def _comparison(rows: list[MetricRow], earlier: list[MetricRow]) -> list[dict]:
    """Per metric and side, today's value against the earlier session's, and whether the change
    exceeds the metric's smallest detectable difference (where one is known)."""
    out = []
    for row in rows:
        prev = next((r for r in earlier if r.metric == row.metric), None)
        if prev is None or not (row.measurable and prev.measurable):
            continue
        for side in ("left", "right", "both"):
            now, then = row.values.get(side), prev.values.get(side)
            if not (_finite(now) and _finite(then)):
                continue
            change = now - then
            out.append({"metric": row.metric, "label": row.label, "unit": row.unit, "side": side,
                        "before": fmt(then, row.decimals), "now": fmt(now, row.decimals),
                        "change": f"{change:+.{row.decimals}f}", "change_value": float(change),
                        "sdd": row.sdd, "exceeds_sdd": (bool(abs(change) > row.sdd) if row.sdd is not None else None)})
    return out


def _source_list(rows: list[MetricRow], flags: list[dict], focus: list[dict]) -> list[tuple[int, str, str]]:
    sources = reference_data()["sources"]
    keys: list[str] = []

    def add(key):
        if key and key in sources and key not in keys:
            keys.append(key)

    for r in rows:
        add(r.reference_source)
        spec = reference_data()["metrics"][r.metric]
        add(spec.get("sdd", {}).get("source"))
        add(spec.get("uncertainty", {}).get("source"))
    for f in flags:
        add(f.get("source"))
    for area in focus:
        for k in area["sources"]:
            add(k)
    return [(i + 1, k, sources[k]) for i, k in enumerate(keys)]


def report_content(results: list, names: list[str], runner: dict | None = None,
                   earlier: list | None = None, created: str | None = None) -> ReportContent:
    """Everything the report shows for one session.

    ``results``: :class:`~gaitlab.result.AnalysisResult` per clip, with ``names`` (clip file names).
    ``earlier``: the results of an earlier session of the same runner, to compare against.
    """
    runner = {k: v for k, v in (runner or {}).items() if v not in (None, "")}
    rows: list[MetricRow] = []
    strikes = {}
    seen_cadence = False
    order = sorted(range(len(results)), key=lambda i: results[i].view.get("kind") != "side")
    clips = []
    for i in order:
        res, name = results[i], names[i]
        clip_rows = metric_rows(res.summary, name)
        if seen_cadence:
            clip_rows = [r for r in clip_rows if r.metric != "cadence_spm"]
        seen_cadence = seen_cadence or any(r.metric == "cadence_spm" for r in clip_rows)
        rows += clip_rows
        strikes[name] = foot_strike_counts(res.steps)
        video = res.landmarks.attrs.get("video", {})
        clips.append({"name": name, "view": res.view.get("kind"), "near_side": res.view.get("near_side"),
                      "fps": float(res.quality.get("fps", res.landmarks.fps)),
                      "duration_s": float(res.landmarks.time[-1]) if res.landmarks.n_frames else 0.0,
                      "width": video.get("width"), "height": video.get("height"),
                      "steps_valid": int(res.steps.valid.sum()), "steps_total": int(len(res.steps)),
                      "quality": clip_quality(res), "capture": capture_summary(res)})
    flags = [f for r in rows for f in r.flags]
    cadence_row = next((r for r in rows if r.metric == "cadence_spm"), None)
    cadence = cadence_row.values.get("both") if cadence_row else None
    findings = [f["text"] for f in flags] + _observations(rows, strikes)
    focus = _focus_areas(rows, cadence)
    comparison = []
    if earlier:
        earlier_rows = []
        for res in earlier:
            earlier_rows += metric_rows(res.summary, "earlier")
        comparison = _comparison(rows, earlier_rows)
    quality = [{"clip": c["name"], "items": c["quality"], "capture": c["capture"]} for c in clips]
    views = {c["view"] for c in clips}
    general = []
    if "side" not in views:
        general.append(wording()["quality"]["side_view_needed"])
    if not views & {"rear", "front"}:
        general.append(wording()["quality"]["rear_view_needed"])
    if general:
        quality.append({"clip": "session", "items": general})
    return ReportContent(
        title="Running gait analysis",
        created=created or datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__, runner=runner, clips=clips, rows=rows, findings=findings, focus=focus,
        quality=quality, comparison=comparison, sources=_source_list(rows, flags, focus),
        foot_strike=strikes)
