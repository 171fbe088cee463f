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

import pandas as pd

from .landmarks import Landmarks, _json_default

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
        folder = Path(folder)
        meta = json.loads((folder / FILES["result"]).read_text())
        return cls(
            landmarks=Landmarks.load(folder / FILES["landmarks"]),
            view=meta["view"],
            events=pd.read_csv(folder / FILES["events"]),
            steps=pd.read_parquet(folder / FILES["steps_parquet"]),
            cadence=meta["cadence_spm"],
            quality=meta["quality"],
            summary=pd.read_csv(folder / FILES["summary"], keep_default_na=True).fillna({"warning": "", "reference_text": "", "reference_source": "", "uncertainty_text": "", "unit": ""}),
            runner=meta.get("runner", {}),
            config=meta.get("config", {}),
        )

