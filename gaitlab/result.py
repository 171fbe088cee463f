"""The result of analysing one clip: every table, with ``save`` and ``load``.

On disk (a results folder):

=====================  ==============================================================
``landmarks.parquet``  raw BlazePose landmarks with provenance (:mod:`gaitlab.landmarks`)
``events.csv``         one row per gait event (side, event, frame, time_s, method)
``steps.csv``          one row per step: timing (:mod:`gaitlab.steps`) and metrics
``steps.parquet``      the same, typed
``summary.csv``        per metric and side: median, spread, steps, asymmetry, reference
``result.json``        view, cadence, capture quality, runner details, settings
=====================  ==============================================================
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .config import AnalysisConfig, RunnerInfo
from .errors import LandmarksFileError
from .io.files import read_json, regular_file
from .landmarks import Landmarks, _json_default
from .summary import SUMMARY_COLUMNS

FILES = {"landmarks": "landmarks.parquet", "events": "events.csv", "steps": "steps.csv",
         "steps_parquet": "steps.parquet", "summary": "summary.csv", "result": "result.json"}


@dataclass
class AnalysisResult:
    landmarks: Landmarks
    view: dict
    events: pd.DataFrame
    steps: pd.DataFrame
    cadence: dict
    quality: dict
    summary: pd.DataFrame
    runner: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)

    @property
    def valid_steps(self) -> pd.DataFrame:
        return self.steps[self.steps.valid]

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.landmarks.save(folder / FILES["landmarks"])
        self.events.to_csv(folder / FILES["events"], index=False)
        self.steps.to_csv(folder / FILES["steps"], index=False)
        self.steps.to_parquet(folder / FILES["steps_parquet"], index=False)
        self.summary.to_csv(folder / FILES["summary"], index=False)
        meta = {"view": self.view, "cadence_spm": self.cadence, "quality": self.quality,
                "runner": self.runner, "config": self.config}
        (folder / FILES["result"]).write_text(json.dumps(meta, indent=2, default=_json_default))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "AnalysisResult":
        """Read a folder written by :meth:`save`. Anything that is not what :meth:`save` writes (a
        file missing, empty, truncated or edited into another shape) raises
        :class:`~gaitlab.errors.LandmarksFileError` with one line naming the file."""
        folder = Path(folder)
        meta = check_meta(read_json(folder / FILES["result"], LandmarksFileError, "gaitlab result"),
                          folder / FILES["result"])
        landmarks = Landmarks.load(folder / FILES["landmarks"])
        events = _table(folder / FILES["events"], EVENT_COLUMNS, {"frame": "int", "time_s": "float"})
        steps = _table(folder / FILES["steps_parquet"], ("side", "valid"), {})
        summary = _table(folder / FILES["summary"], SUMMARY_COLUMNS,
                         {c: "float" for c in SUMMARY_NUMBERS} | {"n_steps": "int"})
        if not summary.side.isin(("left", "right", "both")).all() or \
                not summary.groupby("metric").side.apply(lambda s: "both" in set(s)).all():
            raise LandmarksFileError(f"{folder / FILES['summary']} is not a gaitlab summary (its sides are not left, "
                                     "right and both)")
        summary = summary.fillna({"warning": "", "reference_text": "", "reference_source": "", "uncertainty_text": "",
                                  "unit": ""})
        return cls(landmarks=landmarks, view=meta["view"], events=events, steps=steps, cadence=meta["cadence_spm"],
                   quality=meta["quality"], summary=summary, runner=meta.get("runner", {}),
                   config=meta.get("config", {}))


EVENT_COLUMNS = ("side", "event", "frame", "time_s", "method")
SUMMARY_NUMBERS = ("median", "q1", "q3", "sd", "right_minus_left", "sdd", "uncertainty", "reference_low",
                   "reference_high")


def _table(path: Path, columns, types: dict[str, str]) -> pd.DataFrame:
    """A CSV or Parquet table of a results folder, with ``columns`` present and ``types`` numeric;
    one line when it is missing, empty, unreadable or of another shape."""
    regular_file(path, LandmarksFileError, "results table")
    try:
        df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, keep_default_na=True)
    except Exception:  # pandas and pyarrow raise many types for a damaged table; the line says which file
        raise LandmarksFileError(f"{path} is not a readable gaitlab table (empty or damaged)") from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise LandmarksFileError(f"{path} is not a gaitlab table (no column {missing[0]})")
    for column, kind in types.items():
        values = pd.to_numeric(df[column], errors="coerce")
        bad = values.isna() & df[column].notna()
        if kind == "int":
            bad |= ~np.isfinite(values) | (values != np.round(values))
        if bad.any():
            raise LandmarksFileError(f"{path} is not a gaitlab table (column {column} holds a value that is not "
                                     f"{'a whole number' if kind == 'int' else 'a number'})")
        df[column] = values.astype("int64" if kind == "int" else "float64")
    return df


def _is_number(x, allow_none: bool = False) -> bool:
    if x is None:
        return allow_none
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def check_meta(meta, path: Path) -> dict:
    """``result.json``'s content, checked to be what :meth:`AnalysisResult.save` writes."""
    def bad(what: str):
        return LandmarksFileError(f"{path} is not a gaitlab result file ({what})")

    if not isinstance(meta, dict):
        raise bad("not a JSON object")
    view = meta.get("view")
    if not (isinstance(view, dict) and view.get("kind") in VIEW_KINDS and view.get("facing") in (-1, 0, 1)
            and all(_is_number(view.get(k), allow_none=True) for k in ("width_ratio", "confidence"))):
        raise bad("its view is not side, rear or front")
    cadence = meta.get("cadence_spm")
    if not (isinstance(cadence, dict) and set(cadence) <= {"both", "left", "right"}
            and all(_is_number(v, allow_none=True) for v in cadence.values())):
        raise bad("its cadence is not a number per side")
    quality = meta.get("quality")
    if not isinstance(quality, dict) or any(not isinstance(quality.get(k, {}), dict) for k in QUALITY_DICTS) \
            or any(not _is_number(quality.get(k), allow_none=True) for k in QUALITY_NUMBERS):
        raise bad("its capture quality is not what gaitlab writes")
    for name, kind in (("runner", RunnerInfo), ("config", AnalysisConfig)):
        value = meta.get(name, {})
        try:
            if not isinstance(value, dict):
                raise TypeError
            kind.from_dict(value)
        except (TypeError, ValueError):
            raise bad(f"its {name} details are not what gaitlab writes") from None
    return meta


VIEW_KINDS = ("side", "rear", "front")
#: Entries of ``quality`` that are objects, and that are numbers, when present.
QUALITY_DICTS = ("view", "rhythm", "camera_roll", "pelvis")
QUALITY_NUMBERS = ("fps", "detected_fraction")
