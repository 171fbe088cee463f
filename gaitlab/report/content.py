"""What the clinician report says, as plain data: no HTML, no PDF, no drawing.

:func:`report_content` turns analysed clips (one session, optionally with an earlier session to
compare against) into a :class:`ReportContent`. The one HTML template lays it out for the screen
and, through print CSS, for the PDF; the overlay video labels the same per-step values; the tests
check it against the numbers computed, so what the report shows is what was measured.

Every number, typical error, smallest detectable difference and measurability comes from the
clips' summary tables; reference ranges, flag rules, wording and sources from
``data/references.json`` and ``data/report.json``.
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
from ..references import constant, data as reference_data, source as citation
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


def fmt(value, decimals: int, signed: bool = False) -> str:
    """A number as the report prints it ('-' when missing); never a negative zero."""
    if not _finite(value):
        return "-"
    v = round(float(value), decimals) + 0.0  # + 0.0 turns -0.0 into 0.0
    if v == 0:
        v = 0.0
    return f"{v:+.{decimals}f}" if signed and v != 0 else f"{v:.{decimals}f}"


def pace_text(kmh: float, per: str = "km") -> str:
    """'5:30/km' (or '/mi') for a speed in km/h."""
    km = 1.609344 if per == "mi" else 1.0
    seconds = int(round(3600.0 * km / kmh))
    return f"{seconds // 60}:{seconds % 60:02d}/{per}"


def speed_text(kmh: float | None, short: bool = False) -> str:
    """A treadmill speed the way every part of the report writes it: km/h first, then m/s and the
    pace per km and per mile ('12.0 km/h (3.33 m/s; 5:00/km, 8:03/mi)')."""
    if not _finite(kmh):
        return ""
    if short:
        return f"{kmh:.1f} km/h ({kmh / 3.6:.2f} m/s)"
    return f"{kmh:.1f} km/h ({kmh / 3.6:.2f} m/s; {pace_text(kmh)}, {pace_text(kmh, 'mi')})"


def local_time(utc_iso: str | None = None) -> str:
    """A time in the machine's local zone, with the zone: '2025-03-04 14:05 CET (UTC+01:00)'."""
    t = datetime.fromisoformat(utc_iso) if utc_iso else datetime.now(timezone.utc)
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    t = t.astimezone()
    name, offset = t.strftime("%Z"), t.strftime("%z")
    offset = f"UTC{offset[:3]}:{offset[3:]}" if offset else ""
    if name in ("UTC", "GMT") and offset in ("UTC+00:00", ""):
        return f"{t:%Y-%m-%d %H:%M} UTC"
    zone = f"{name} ({offset})" if name and not name.startswith(("+", "-")) else offset
    return f"{t:%Y-%m-%d %H:%M} {zone}".strip()


@dataclass
class MetricRow:
    """One line of the measures table: a metric of one clip, per side. Every number and its
    uncertainty comes from the clip's summary table."""

    clip: str
    view: str
    metric: str
    label: str
    unit: str
    decimals: int
    values: dict            # side -> median (float, NaN when missing), sides left/right/both
    spread: dict            # side -> (q1, q3)
    n_steps: dict           # side -> int
    right_minus_left: float
    sdd: float | None
    sdd_source: str
    asymmetry_error: float | None   # measured error of a right-minus-left difference (95th percentile)
    asymmetry_limit: float | None   # beyond this the sides probably differ (the summary's rule)
    reference_text: str
    reference_source: str
    reference_low: float | None
    reference_high: float | None
    uncertainty_text: str
    uncertainty_value: float | None
    key: bool               # one of the measures a clinician reads first
    measurable: bool
    reason: str             # why it is not measurable (one sentence)
    warnings: list[str]
    flags: list[dict]       # {"kind", "label", "text", "source"}

    @property
    def unit_suffix(self) -> str:
        return f" ({self.unit})" if self.unit else ""

    @property
    def per_side(self) -> bool:
        """Whether the metric has a value per side (cadence is read for both feet together)."""
        return shown_per_side(self.metric)

    def value_text(self, side: str) -> str:
        return fmt(self.values.get(side), self.decimals) if self.measurable else "-"

    def spread_text(self, side: str) -> str:
        q1, q3 = self.spread.get(side, (np.nan, np.nan))
        if not (self.measurable and _finite(q1) and _finite(q3)):
            return ""
        return f"{fmt(q1, self.decimals)}–{fmt(q3, self.decimals)}"

    def uncertainty_short(self) -> str:
        """The validated typical error, e.g. '±3 deg' ('' where gaitlab has no figure)."""
        if not _finite(self.uncertainty_value):
            return ""
        unit = f" {self.unit}" if self.unit else ""
        return f"±{float(self.uncertainty_value):g}{unit}"

    def asymmetry_text(self) -> str:
        if not (self.measurable and _finite(self.right_minus_left)):
            return "-"
        return fmt(self.right_minus_left, self.decimals, signed=True)


def shown_per_side(metric: str) -> bool:
    """Whether the report shows the metric per side; cadence is shown for both feet together."""
    return metric != "cadence_spm"


@dataclass
class ReportContent:
    title: str
    created: str
    version: str
    runner: dict
    details: list[tuple[str, str]]
    clips: list[dict]
    rows: list[MetricRow]
    summary: list[dict]
    findings: list[dict]
    observations: list[str]
    focus: list[dict]
    quality: list[dict]
    comparison: dict | None
    validation: list[dict]
    sources: list[tuple[int, str, str]]  # (number, key, citation)
    foot_strike: dict = field(default_factory=dict)
    validation_note: str = ""

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


def _cadence_reference(ref: dict, speed_kmh: float | None) -> tuple[str, float | None, float | None]:
    """The cadence reference at the runner's speed where the cited data covers it: text, and the
    band (mean +/- the cited spread, None when the source gives no spread)."""
    points = np.asarray(ref["by_speed_mps"], float)
    lo, hi = points[0, 0], points[-1, 0]
    fill = {"speed_low": speed_text(lo * 3.6, short=True), "speed_high": speed_text(hi * 3.6, short=True)}
    if _finite(speed_kmh) and lo <= speed_kmh / 3.6 <= hi:
        expected = float(np.interp(speed_kmh / 3.6, points[:, 0], points[:, 1]))
        text = ref["report_text_at_speed"].format(speed=speed_text(speed_kmh, short=True), expected=f"{expected:.0f}",
                                                  **fill)
        spread = ref.get("spread")
        return text, (expected - spread if spread else None), (expected + spread if spread else None)
    text = ref["report_text"].format(**fill)
    if _finite(speed_kmh):
        text += f" Today's speed ({speed_text(speed_kmh, short=True)}) is outside the speeds studied."
    return text, None, None


def _flags(row: MetricRow) -> list[dict]:
    """The flags the evidence supports for one row: outside a cited reference range (both sides
    together), and a left/right difference beyond the smallest detectable difference."""
    if not row.measurable:
        return []
    words = wording()["flags"]
    out = []
    value = row.values.get("both")
    fill = {"label": row.label, "unit": row.unit, "value": fmt(value, row.decimals),
            "reference_low": fmt(row.reference_low, row.decimals), "reference_high": fmt(row.reference_high, row.decimals)}
    if _finite(value) and _finite(row.reference_low) and value < row.reference_low:
        out.append({"kind": "below_reference", "label": words["below_reference"]["label"],
                    "text": words["below_reference"]["text"].format(**fill), "source": row.reference_source})
    if _finite(value) and _finite(row.reference_high) and value > row.reference_high:
        out.append({"kind": "above_reference", "label": words["above_reference"]["label"],
                    "text": words["above_reference"]["text"].format(**fill), "source": row.reference_source})
    limit = asymmetry_limit(row)
    enough = min(row.n_steps.get("left", 0), row.n_steps.get("right", 0)) >= constant("min_steps_per_side")
    if limit is not None and row.per_side and _finite(row.right_minus_left) and abs(row.right_minus_left) > limit \
            and enough:
        out.append({"kind": "asymmetry", "label": words["asymmetry"]["label"],
                    "text": words["asymmetry"]["text"].format(label=row.label, unit=row.unit,
                                                            sdd=fmt(row.sdd, row.decimals) if _finite(row.sdd) else "none published",
                                                            error=fmt(row.asymmetry_error, row.decimals + 1),
                                                            difference=row.asymmetry_text()),
                    "source": row.sdd_source})
    return out


def asymmetry_limit(row: MetricRow) -> float | None:
    """The left/right difference beyond which the sides probably differ (the summary's
    ``asymmetry_limit``: the smallest detectable difference and gaitlab's measured error of a
    right-minus-left difference); None where gaitlab has no such figure."""
    return float(row.asymmetry_limit) if _finite(row.asymmetry_limit) else None


def _not_measurable_reason(warnings: list[str]) -> str:
    """One sentence saying why a metric is not measurable, whatever the summary's wording."""
    reason = "; ".join(dict.fromkeys(w for w in warnings if w))
    for prefix in ("not measurable from this video:", "not measurable:", "not measured"):
        if reason.lower().startswith(prefix):
            reason = reason[len(prefix):].strip(" :;")
    reason = reason.strip()
    if not reason:
        return "Not measurable from this video."
    if reason.lower().startswith("not printed"):  # measured, but not as accurately as the measure needs
        return reason[0].upper() + reason[1:].rstrip(".") + "."
    return f"Not measurable from this video: {reason}."


def _optional(x) -> float | None:
    return float(x) if _finite(x) else None


def metric_rows(summary: pd.DataFrame, clip: str, view: str = "", speed_kmh: float | None = None) -> list[MetricRow]:
    """Measure rows of one clip, in the order of ``references.json``'s metrics; overstride once
    (in cm where the runner's height was given, else in leg lengths)."""
    specs = reference_data()["metrics"]
    rows = []
    # In cm wherever it was measured in cm (the height given), printed or withheld.
    has_cm = {m[:-3] for m in specs if m.endswith("_cm")
              and (summary.loc[summary.metric == m, "n_steps"].fillna(0).astype(int) > 0).any()}
    for metric, spec in specs.items():
        part = summary[summary.metric == metric]
        if part.empty:
            continue
        by_side = {r.side: r for r in part.itertuples()}
        if metric.endswith("_cm") and metric[:-3] not in has_cm:
            continue  # needs the runner's height; the leg-length version is shown instead
        if metric.endswith("_leg") and metric[:-4] in has_cm:
            continue  # the same measure in cm is shown
        both = by_side["both"]
        measurable = bool(both.measurable)
        # The typical error shown is the larger of the printed sides' (the far leg's where both are printed).
        printed_sides = [r for s, r in by_side.items() if s != "both" and bool(r.measurable)
                         and _finite(getattr(r, "uncertainty", np.nan))]
        typical = (max(printed_sides, key=lambda r: float(r.uncertainty))
                   if printed_sides and shown_per_side(metric) else both)
        # Notes about a side's value only where the report shows values per side.
        shown = part if shown_per_side(metric) else part[part.side == "both"]
        warnings = list(dict.fromkeys(str(w) for w in shown.warning if isinstance(w, str) and w))
        ref = spec.get("reference", {})
        low, high = _optional(getattr(both, "reference_low", None)), _optional(getattr(both, "reference_high", None))
        ref_text = str(both.reference_text or "")
        if "by_speed_mps" in ref:
            ref_text, low, high = _cadence_reference(ref, speed_kmh)
        row = MetricRow(
            clip=clip, view=view, metric=metric, label=spec["label"], unit=spec["unit"],
            decimals=int(spec.get("decimals", 1)),
            values={s: float(r.median) for s, r in by_side.items()},
            spread={s: (float(r.q1), float(r.q3)) for s, r in by_side.items()},
            n_steps={s: int(r.n_steps) for s, r in by_side.items()},
            right_minus_left=float(both.right_minus_left),
            sdd=_optional(both.sdd), sdd_source=str(getattr(both, "sdd_source", "") or ""),
            asymmetry_error=_optional(getattr(both, "asymmetry_error", None)),
            asymmetry_limit=_optional(getattr(both, "asymmetry_limit", None)),
            reference_text=ref_text, reference_source=str(both.reference_source or ""),
            reference_low=low, reference_high=high,
            uncertainty_text=str(typical.uncertainty_text or ""), uncertainty_value=_optional(typical.uncertainty),
            key=bool(spec.get("key")), measurable=measurable,
            reason="" if measurable else _not_measurable_reason(warnings),
            warnings=warnings if measurable else [], flags=[])
        row.flags = _flags(row)
        rows.append(row)
    return sorted(rows, key=lambda r: not r.key)  # stable: key measures first, each in data-file order


def _observation(row: MetricRow, strikes: dict) -> str | None:
    texts = wording()["observations"]
    template = texts.get(row.metric)
    if not template or not row.measurable:
        return None
    if row.metric == "foot_angle_ic_deg":
        parts = []
        for side in ("left", "right"):
            counts = strikes.get(row.clip, {}).get(side, {})
            total = sum(counts.values())
            if total:
                kind = max(counts, key=counts.get)
                parts.append(f"{kind} on the {side} ({counts[kind]} of {total} steps)")
        return template.format(strike="; ".join(parts)) if parts else None
    return template.format(left=fmt(row.values.get("left"), row.decimals),
                           right=fmt(row.values.get("right"), row.decimals),
                           both=fmt(row.values.get("both"), row.decimals), reference=row.reference_text)


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
        out.append({"key": area["key"], "title": area["title"], "when": area.get("when", ""),
                    "text": area["text"], "suggestion": suggestion,
                    "sources": list(area["sources"]), "flagged": bool(flagged & set(area["metrics"])),
                    "metrics": list(area["metrics"])})
    return out


def _focus_for(metric: str, focus: list[dict]) -> dict | None:
    """The focus area a finding on ``metric`` suggests: the one that lists the metric first."""
    candidates = [f for f in focus if metric in f["metrics"]]
    return min(candidates, key=lambda f: f["metrics"].index(metric)) if candidates else None


def _frame_side(row: MetricRow) -> str:
    """The side whose key frame shows a finding best: the larger value."""
    left, right = row.values.get("left"), row.values.get("right")
    if _finite(left) and _finite(right):
        return "right" if abs(right) > abs(left) else "left"
    return "right" if _finite(right) else "left"


def _findings(rows: list[MetricRow], strikes: dict, focus: list[dict]) -> tuple[list[dict], list[str]]:
    """At most ``max_findings`` findings for page 1 (flags first, then the key measures in the
    summary's order), each with the focus area it suggests and the key frame that shows it; and the
    remaining observations."""
    words = wording()
    order = [m for group in words["summary_measures"] for m in group]
    rank = {m: i for i, m in enumerate(order)}
    candidates = []
    for row in rows:
        event = words["finding_frames"].get(row.metric)
        for f in row.flags:
            candidates.append((0, rank.get(row.metric, 99), row, f["text"], f.get("source")))
        text = _observation(row, strikes)
        if text:
            candidates.append((1 if row.metric in rank else 2, rank.get(row.metric, 99), row, text, row.reference_source))
        elif not row.measurable and (unmeasured := words["not_measurable_observation"].get(row.metric, {}).get(row.view)) \
                and event:
            candidates.append((3, rank.get(row.metric, 99), row, unmeasured, ""))
    candidates.sort(key=lambda c: (c[0], c[1]))
    findings, rest, used, frames_used = [], [], set(), set()
    for level, _, row, text, src in candidates:
        if len(findings) < words["max_findings"] and (row.clip, row.metric) not in used:
            used.add((row.clip, row.metric))
            area = _focus_for(row.metric, focus) if row.measurable else None
            event = words["finding_frames"].get(row.metric)
            frame = None
            if event:  # the side that shows it best, or the other side's frame when that one is taken
                side = _frame_side(row)
                frame = next((f"{row.clip}|{s}|{event}" for s in (side, "right" if side == "left" else "left")
                              if f"{row.clip}|{s}|{event}" not in frames_used), None)
                frames_used.add(frame)
            findings.append({"metric": row.metric, "clip": row.clip, "text": text, "flagged": level == 0,
                             "source": src or "", "focus": area, "frame": frame})
        else:
            rest.append(text)
    return findings, list(dict.fromkeys(rest))


def _summary(rows: list[MetricRow], clips: list[dict]) -> list[dict]:
    """Page 1's measures: cadence, overstride, pelvic drop, knee valgus per side (from whichever
    clip gives them), or what view each needs."""
    words = wording()
    out = []
    for group in words["summary_measures"]:
        row = next((r for m in group for r in rows if r.metric == m), None)
        if row is None:
            spec = reference_data()["metrics"][group[0]]
            out.append({"metric": group[0], "label": spec["label"], "row": None,
                        "text": words["summary_needs_view"].get(group[0], "not measured in this session")})
        else:
            out.append({"metric": row.metric, "label": row.label, "row": row, "text": row.reason})
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
    min_steps = int(constant("min_steps_per_side"))
    for side in ("left", "right"):
        n = int((valid.side == side).sum())
        if n < min_steps:
            out.append(words["few_steps"].format(n=n, side=side, min_steps=min_steps))
    frac = (lm.attrs.get("subject") or {}).get("runner_height_fraction")
    if _finite(frac) and frac < 0.4:
        out.append(words["small_runner"].format(fraction=f"{frac:.0%}"))
    roll = (q.get("camera_roll") or {}).get("roll_deg")
    if _finite(roll) and abs(roll) >= 2.0:
        out.append(words["roll"].format(roll=fmt(roll, 0, signed=True)))
    for side, vis in zip(("left", "right"), _leg_visibility(lm)):
        if _finite(vis) and vis < 0.5:
            out.append(words["visibility"].format(side=side, visibility=f"{vis:.0%}"))
    source = lm.attrs.get("imported_from") or {}
    if source:
        layout = f" ({source['layout']})" if source.get("layout") else ""
        out.append(words["imported"].format(software=source.get("software") or "another pose tool", layout=layout))
    pelvis = q.get("pelvis") or {}
    if view in ("rear", "front") and not pelvis.get("measurable", True):
        out.append(words["pelvis"].format(reason=pelvis.get("reason", "")))
    return out


def _leg_visibility(lm) -> list[float]:
    """Mean keypoint visibility (the pose model's confidence, 0-1) of each leg's knee and ankle."""
    if not lm.detected.any():
        return [float("nan"), float("nan")]
    return [float(np.nanmean(lm.visibility[lm.detected][:, [lm_index(f"{s}_knee"), lm_index(f"{s}_ankle")]]))
            for s in ("left", "right")]


#: Said beside the clip's view and in its capture line where gaitlab could not tell whether the runner
#: was filmed from behind or in front (``quality["sides_uncertain"]``, see gaitlab.analysis).
SIDES_UNCERTAIN = "uncertain whether filmed from behind or in front, so no value is given per side"
#: ... and beside each key frame's caption there, whose left and right come from the same labels.
SIDES_MAY_BE_SWAPPED = "left and right may be swapped: uncertain whether filmed from behind or in front"


def capture_summary(result) -> str:
    """One line on how the clip was filmed, whether or not anything is wrong with it."""
    q, lm = result.quality, result.landmarks
    parts = [f"{float(q.get('fps', lm.fps)):.0f} frames/s"]
    frac = (lm.attrs.get("subject") or {}).get("runner_height_fraction")
    if _finite(frac):
        parts.append(f"runner {frac:.0%} of the frame height")
    vis = _leg_visibility(lm)
    if all(_finite(v) for v in vis):
        parts.append(f"the pose model was on average {vis[0]:.0%} (left) and {vis[1]:.0%} (right) sure of the knees "
                     "and ankles (below 50 %: hard to see)")
    roll = (q.get("camera_roll") or {}).get("roll_deg")
    if _finite(roll):
        parts.append(f"camera roll {fmt(roll, 1, signed=True)} deg")
    parts.append(f"runner found in {float(q.get('detected_fraction', lm.detected.mean())):.0%} of frames")
    if q.get("sides_uncertain"):
        parts.append(SIDES_UNCERTAIN)
    return "; ".join(parts)


def lm_index(name: str) -> int:
    from ..schema import KEYPOINT_INDEX

    return KEYPOINT_INDEX[name]


def _threshold(row: MetricRow, source_number) -> tuple[float | None, str]:
    """The smallest change that counts for one measure: the larger of its published (or gaitlab
    repeat-run) smallest detectable difference and twice gaitlab's typical error, and the words
    saying which it is."""
    words = wording()["comparison"]
    unit = f" {row.unit}" if row.unit else ""
    candidates = []
    if _finite(row.sdd):
        if row.sdd_source.startswith("gaitlab"):
            candidates.append((row.sdd, words["gaitlab_retest"], f"gaitlab's repeat runs ({row.sdd:g}{unit})"))
        else:
            n = source_number(row.sdd_source)
            candidates.append((row.sdd, words["published"].format(source=n or row.sdd_source),
                               f"published figure ({row.sdd:g}{unit} [{n or row.sdd_source}])"))
    if _finite(row.uncertainty_value):
        v = 2 * float(row.uncertainty_value)
        candidates.append((v, words["measurement"], f"twice gaitlab's typical error ({v:g}{unit})"))
    if not candidates:
        return None, words["unknown"]
    best = max(candidates, key=lambda c: c[0])
    text = f"{best[0]:g}{unit}: {best[1]}"
    for other in candidates:
        if other is not best:
            text += f"; larger than the {other[2]}"
    return best[0], text


def _comparison(rows: list[MetricRow], earlier_rows: list[MetricRow], now: dict, before: dict, source_number) -> dict:
    """Today's values against the earlier session's: per measure the change per side, the smallest
    change that counts and a verdict; the earlier session's date; warnings where the sessions were
    filmed differently."""
    words = wording()["comparison"]
    out_rows, not_compared = [], []
    for row in rows:
        prev = next((r for r in earlier_rows if r.metric == row.metric and r.view == row.view), None)
        if prev is None:
            continue
        if not (row.measurable and prev.measurable):
            not_compared.append(row.label)
            continue
        threshold, threshold_text = _threshold(row, source_number)
        sides = ("left", "right") if row.per_side else ("both",)
        cells, changed = [], []
        for side in sides:
            a, b = prev.values.get(side), row.values.get(side)
            change = b - a if _finite(a) and _finite(b) else float("nan")
            cells.append({"side": side, "before": fmt(a, row.decimals), "now": fmt(b, row.decimals),
                          "change": fmt(change, row.decimals, signed=True), "change_value": change})
            if threshold is not None and _finite(change) and abs(change) > threshold:
                changed.append(side)
        if threshold is None:
            verdict = words["cannot_tell"]
        elif changed:
            where = "" if not row.per_side else " on both sides" if len(changed) == 2 else f" on the {changed[0]}"
            verdict = words["changed"] + where
        else:
            verdict = words["no_change"]
        out_rows.append({"metric": row.metric, "label": row.label, "unit": row.unit, "per_side": row.per_side,
                         "cells": cells, "threshold": threshold, "threshold_text": threshold_text,
                         "verdict": verdict, "changed": bool(changed), "known": threshold is not None})
    warn = words["warnings"]
    warnings = []
    views_now, views_before = set(now["views"]), set(before["views"])
    if views_now != views_before:
        warnings.append(warn["views"].format(before=", ".join(sorted(views_before)) or "none",
                                             now=", ".join(sorted(views_now)) or "none"))
    for view in sorted(views_now & views_before):
        a, b = before["near_side"].get(view), now["near_side"].get(view)
        if a and b and a != b:
            warnings.append(warn["near_side"].format(view=view, before=a, now=b))
        fa, fb = before["fps"].get(view), now["fps"].get(view)
        if _finite(fa) and _finite(fb) and abs(fa - fb) > 0.1 * max(fa, fb):
            warnings.append(warn["fps"].format(before=f"{fa:.0f}", now=f"{fb:.0f}"))
    sa, sb = before.get("speed_kmh"), now.get("speed_kmh")
    if _finite(sa) and _finite(sb):
        if abs(sa - sb) > 0.25:
            warnings.append(warn["speed"].format(before=speed_text(sa, short=True), now=speed_text(sb, short=True)))
    elif _finite(sa) or _finite(sb):
        warnings.append(warn["speed_unknown"].format(before=speed_text(sa, short=True) or "not given",
                                                     now=speed_text(sb, short=True) or "not given"))
    return {"date": before.get("date") or "date not recorded", "rows": out_rows, "warnings": warnings,
            "not_compared": not_compared}


def _session_info(results: list, runner: dict | None) -> dict:
    info = {"views": [], "near_side": {}, "fps": {}, "speed_kmh": (runner or {}).get("speed_kmh")}
    for res in results:
        kind = res.view.get("kind")
        info["views"].append(kind)
        info["near_side"].setdefault(kind, res.view.get("near_side"))
        info["fps"].setdefault(kind, float(res.quality.get("fps", res.landmarks.fps)))
    return info


def _details(runner: dict, created: str) -> list[tuple[str, str]]:
    """The header's runner and session details, in a clinic's order; only what was given."""
    out = []
    if runner.get("name"):
        out.append(("Runner", str(runner["name"])))
    person = [f"{runner['age']} years" if runner.get("age") else "", str(runner.get("sex") or "")]
    if any(person):
        out.append(("Age, sex", ", ".join(p for p in person if p)))
    if runner.get("height_m"):
        out.append(("Height", f"{float(runner['height_m']) * 100:.0f} cm"))
    if runner.get("injured_side"):
        out.append(("Injured side", str(runner["injured_side"])))
    if runner.get("speed_kmh"):
        out.append(("Treadmill speed", speed_text(float(runner["speed_kmh"]))))
    if runner.get("shoe"):
        out.append(("Shoe", str(runner["shoe"])))
    if runner.get("session"):
        out.append(("Session", str(runner["session"])))
    out.append(("Date", created))
    if runner.get("clinician"):
        out.append(("Clinician", str(runner["clinician"])))
    if runner.get("clinic"):
        out.append(("Clinic", str(runner["clinic"])))
    return out


def _validation_note() -> str:
    """How the typical errors were measured, with the clips and date they come from (accuracy.json)."""
    from .. import accuracy

    prov = accuracy.published().get("provenance", {})
    runs = prov.get("runs") or []
    sets = {}
    for run in runs:
        for name, n in (run.get("sets") or {}).items():
            sets[name] = sets.get(name, 0) + n
    dates = sorted({str(r.get("date_utc", ""))[:10] for r in runs if r.get("date_utc")})
    where = f" on {prov.get('clips', 0)} clips ({', '.join(f'{k}: {v}' for k, v in sets.items())}; {', '.join(dates)})" \
        if prov.get("clips") else ""
    return (f"gaitlab validate ran the whole pipeline{where}: synthetic runners whose every joint is known exactly "
            "(randomised bodies, clothing, rooms, cameras and gaits that no setting was tuned on, and another "
            "renderer's runners) and a real treadmill clip with contacts marked by hand, and compared each printed "
            "value with the truth. The typical error is the 95th percentile of those errors for the same view, side "
            "(the near or the far leg from the side) and frame rate: 95 % of clips were within it. A value is "
            "printed only where that is within what the measure needs; elsewhere the report says it is withheld.")


def _validation(rows: list[MetricRow]) -> list[dict]:
    seen, out = set(), []
    for r in rows:
        if r.uncertainty_text and r.metric not in seen:
            seen.add(r.metric)
            out.append({"label": r.label, "text": r.uncertainty_text})
    return out


def _source_list(rows: list[MetricRow], findings: list[dict], focus: list[dict]) -> list[tuple[int, str, str]]:
    sources = reference_data()["sources"]
    keys: list[str] = []

    def add(key):
        if key and key in sources and key not in keys:
            keys.append(key)

    for f in findings:
        add(f.get("source"))
        for k in (f.get("focus") or {}).get("sources", []):
            add(k)
    for r in rows:
        add(r.reference_source)
        for flag in r.flags:
            add(flag.get("source"))
    for r in rows:
        add(r.sdd_source)
    for area in focus:
        for k in area["sources"]:
            add(k)
    if any(r.uncertainty_text for r in rows):
        add("gaitlab_validation")
    return [(i + 1, k, citation(k)) for i, k in enumerate(keys)]


def report_content(results: list, names: list[str], runner: dict | None = None,
                   earlier: list | None = None, created: str | None = None,
                   earlier_record: dict | None = None) -> ReportContent:
    """Everything the report shows for one session.

    ``results``: :class:`~gaitlab.result.AnalysisResult` per clip, with ``names`` (clip file names).
    ``earlier``: the results of an earlier session of the same runner, to compare against, with
    its run record (``run.json``: date, runner details) as ``earlier_record``.
    ``created``: the session's date and time as shown (default: now, local time with the zone).
    """
    runner = {k: v for k, v in (runner or {}).items() if v not in (None, "")}
    created = created or local_time()
    speed = runner.get("speed_kmh")
    rows: list[MetricRow] = []
    strikes = {}
    seen_cadence = False
    order = sorted(range(len(results)), key=lambda i: results[i].view.get("kind") != "side")
    clips = []
    for i in order:
        res, name = results[i], names[i]
        kind = res.view.get("kind")
        clip_rows = metric_rows(res.summary, name, kind, speed)
        if seen_cadence:
            clip_rows = [r for r in clip_rows if r.metric != "cadence_spm"]
        seen_cadence = seen_cadence or any(r.metric == "cadence_spm" for r in clip_rows)
        rows += clip_rows
        strikes[name] = foot_strike_counts(res.steps)
        video = res.landmarks.attrs.get("video", {})
        clips.append({"name": name, "view": kind, "near_side": res.view.get("near_side"),
                      "view_note": SIDES_UNCERTAIN if res.quality.get("sides_uncertain") else "",
                      "fps": float(res.quality.get("fps", res.landmarks.fps)),
                      "duration_s": float(res.landmarks.time[-1]) if res.landmarks.n_frames else 0.0,
                      "width": video.get("width"), "height": video.get("height"),
                      "steps_valid": int(res.steps.valid.sum()), "steps_total": int(len(res.steps)),
                      "quality": clip_quality(res), "capture": capture_summary(res)})
    cadence_row = next((r for r in rows if r.metric == "cadence_spm"), None)
    cadence = cadence_row.values.get("both") if cadence_row else None
    focus = _focus_areas(rows, cadence)
    findings, observations = _findings(rows, strikes, focus)
    quality = [{"clip": c["name"], "items": c["quality"], "capture": c["capture"]} for c in clips]
    views = {c["view"] for c in clips}
    general = []
    if "side" not in views:
        general.append(wording()["quality"]["side_view_needed"])
    if "rear" not in views:  # from the front the top and the hands cover the waistband
        general.append(wording()["quality"]["rear_view_needed"])
    if general:
        quality.append({"clip": "session", "items": general, "capture": ""})
    sources = _source_list(rows, findings, focus)

    def number(key):
        return next((n for n, k, _ in sources if k == key), None)

    comparison = None
    if earlier:
        record = earlier_record or {}
        earlier_runner = record.get("runner") or (earlier[0].runner if earlier else {}) or {}
        earlier_rows = []
        for res, name in zip(earlier, [c.get("name", "earlier") for c in record.get("clips", [])] or ["earlier"] * len(earlier)):
            earlier_rows += metric_rows(res.summary, name, res.view.get("kind"), earlier_runner.get("speed_kmh"))
        before = _session_info(earlier, earlier_runner)
        before["date"] = local_time(record["created_utc"]) if record.get("created_utc") else None
        comparison = _comparison(rows, earlier_rows, _session_info(results, runner), before, number)
    return ReportContent(
        title="Running gait analysis", created=created, version=__version__, runner=runner,
        details=_details(runner, created), clips=clips, rows=rows, summary=_summary(rows, clips),
        findings=findings, observations=observations, focus=focus, quality=quality, comparison=comparison,
        validation=_validation(rows), validation_note=_validation_note(), sources=sources, foot_strike=strikes)


def value_text(metric: str, value, signed: bool | None = None) -> str:
    """One measured value the way the report and the overlay both write it: '9.1 cm',
    '+6.2 deg' (signed for the signed angles), '-' when missing."""
    spec = reference_data()["metrics"][metric]
    if signed is None:
        signed = metric in SIGNED_METRICS
    unit = f" {spec['unit']}" if spec["unit"] else ""
    text = fmt(value, int(spec.get("decimals", 1)), signed=signed)
    return text if text == "-" else text + unit


#: Angles whose sign carries meaning (valgus/varus, toward/away from the midline, foot ahead/behind).
SIGNED_METRICS = ("knee_fppa_deg", "hip_adduction_deg", "shank_angle_deg", "pelvic_drop_peak_deg", "pelvic_drop_deg")
