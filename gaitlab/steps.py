"""From events to the steps table: one row per foot contact, the hand-off to every metric.

A *step* here is one stance: the contact of one foot from its initial contact (IC) to its toe-off
(TO), with the timing around it:

==================  ============================================================================
column              meaning
==================  ============================================================================
step                running number, in time order
side                the stance foot (the runner's side)
ic_frame, ic_time_s initial contact
midstance_frame,    halfway between IC and TO
midstance_time_s
to_frame, to_time_s toe-off
step_time_s         IC minus the previous IC of the other foot (empty for the first contact, or
                    when the other foot's previous contact was not found)
stride_time_s       IC minus the previous IC of the same foot
contact_time_s      TO minus IC
flight_time_s       next IC of the other foot minus TO (negative: both feet down together)
duty_factor         contact time / stride time
valid               the step can be used for metrics
reason              why not, when ``valid`` is False ('' otherwise)
==================  ============================================================================

Everything is computed for all steps at once with ``np.searchsorted``; invalid steps are kept and
flagged, never dropped, so a researcher sees what was excluded and why.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

STEP_COLUMNS = ["step", "side", "ic_frame", "ic_time_s", "midstance_frame", "midstance_time_s",
                "to_frame", "to_time_s", "step_time_s", "stride_time_s", "contact_time_s",
                "flight_time_s", "duty_factor", "valid", "reason"]

#: Step times further than this fraction from the median step time mark a step invalid.
STEP_TIME_TOLERANCE = 0.25


def build_steps(events: pd.DataFrame, timing_event: str = "initial_contact") -> pd.DataFrame:
    """The steps table (columns :data:`STEP_COLUMNS`) from an events table.

    Step and stride times are measured between consecutive ``timing_event`` events: initial contacts
    in a side view; midstances in rear and front views, where midstance is the better-placed event.
    """
    ic = events[events.event == "initial_contact"].sort_values("time_s").reset_index(drop=True)
    if ic.empty:
        return pd.DataFrame(columns=STEP_COLUMNS)
    n = len(ic)
    side = ic.side.to_numpy()
    t_ic = ic.time_s.to_numpy(float)
    f_ic = ic.frame.to_numpy(int)

    def next_event(kind: str):
        """For each IC, the same side's first `kind` event after it (and before its next IC)."""
        frames = np.full(n, -1)
        times = np.full(n, np.nan)
        for s in ("left", "right"):
            ev = events[(events.side == s) & (events.event == kind)].sort_values("time_s")
            mine = side == s
            if ev.empty or not mine.any():
                continue
            et = ev.time_s.to_numpy(float)
            j = np.searchsorted(et, t_ic[mine], side="right")
            ok = j < et.size
            jj = np.where(ok, j, 0)
            same_ic = np.sort(t_ic[mine])
            k = np.searchsorted(same_ic, t_ic[mine], side="right")
            next_same = np.where(k < same_ic.size, same_ic[np.minimum(k, same_ic.size - 1)], np.inf)
            ok &= et[jj] < next_same
            frames[mine] = np.where(ok, ev.frame.to_numpy(int)[jj], -1)
            times[mine] = np.where(ok, et[jj], np.nan)
        return frames, times

    f_to, t_to = next_event("toe_off")
    f_ms, t_ms = next_event("midstance")
    t_ref = t_ic if timing_event == "initial_contact" else t_ms

    prev_any = np.concatenate([[np.nan], t_ref[:-1]])
    prev_side = np.concatenate([[""], side[:-1]])
    step_time = np.where(prev_side != side, t_ref - prev_any, np.nan)
    step_time[0] = np.nan
    stride_time = np.full(n, np.nan)
    for s in ("left", "right"):
        mine = np.nonzero(side == s)[0]
        stride_time[mine[1:]] = np.diff(t_ref[mine])
    next_any = np.concatenate([t_ic[1:], [np.nan]])
    next_side = np.concatenate([side[1:], [""]])
    flight = np.where(next_side != side, next_any - t_to, np.nan)
    contact = t_to - t_ic

    reason = np.full(n, "", dtype=object)
    reason[f_to < 0] = "no toe-off found"
    med = np.nanmedian(step_time) if np.isfinite(step_time).any() else np.nan
    outlier = np.isfinite(step_time) & (np.abs(step_time - med) > STEP_TIME_TOLERANCE * med)
    reason[(reason == "") & outlier] = "step time far from the median (a missed or extra contact)"

    steps = pd.DataFrame({
        "step": np.arange(n),
        "side": side,
        "ic_frame": f_ic,
        "ic_time_s": t_ic,
        "midstance_frame": f_ms,
        "midstance_time_s": t_ms,
        "to_frame": f_to,
        "to_time_s": t_to,
        "step_time_s": step_time,
        "stride_time_s": stride_time,
        "contact_time_s": contact,
        "flight_time_s": flight,
        "duty_factor": contact / stride_time,
        "valid": reason == "",
        "reason": reason.astype(str),
    })
    return steps[STEP_COLUMNS]


def mark_implausible(table: pd.DataFrame, view: str = "side") -> pd.DataFrame:
    """The steps table with every step whose values fall outside the per-step screens in
    ``data/references.json`` (``plausible``) marked invalid, with the reason; valid steps only.

    ``view``: contact times are screened in side views only. The screens catch what a misplaced keypoint or a wrong event produces (a 0.14 s contact, a
    108 deg knee in stance, a leg suddenly longer than the runner's), not unusual running: their
    ranges lie well outside what running produces. Marked steps stay in the table.
    """
    from .references import data

    ranges = data()["plausible"]["ranges"]
    out = table.copy()
    values = {name: pd.to_numeric(out[name], errors="coerce") for name in ranges if name in out.columns}
    if view == "side" and {"contact_time_s", "step_time_s"} <= set(out.columns):
        # Contact times are measured from the side only (frontal contacts are placed, not seen).
        values["contact_step_ratio"] = out.contact_time_s / out.step_time_s
    reason = out.reason.to_numpy(object).copy()
    for name, v in values.items():
        r = ranges[name]
        bad = (v < r["low"]) | (v > r["high"])
        fill = out.valid.to_numpy() & bad.to_numpy() & (reason == "")
        reason[fill] = [f"implausible {r['what']}: {x:.2f} (plausible {r['low']:g} to {r['high']:g})"
                        for x in v.to_numpy()[fill]]
    out["reason"] = reason.astype(str)
    out["valid"] = out.valid & (out.reason == "")
    return out
