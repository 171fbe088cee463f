"""Read access to ``gaitlab/data/references.json``: constants, classifications, reference ranges and
their sources. The only place clinical numbers enter the code."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np


@lru_cache(maxsize=None)
def data() -> dict:
    text = resources.files("gaitlab").joinpath("data", "references.json").read_text(encoding="utf-8")
    return json.loads(text)


def constant(name: str) -> float:
    return data()["constants"][name]["value"]


def source(key: str) -> str:
    """The full citation of a source: authors, year, title, journal, DOI (or where gaitlab's own
    figures are)."""
    return citation(data()["sources"][key])


def citation(s: dict) -> str:
    if s.get("where"):
        return f"{s['authors']}. {s['title']}: see {s['where']}."
    parts = [f"{s['authors']} ({s['year']}). {s['title'].rstrip('.?')}{'?' if s['title'].endswith('?') else '.'}",
             f"{s['journal']}."]
    if s.get("doi"):
        parts.append(f"doi:{s['doi']}")
    return " ".join(parts)


@dataclass(frozen=True)
class Classification:
    name: str
    labels: tuple[str, ...]
    upper_bounds: tuple[float, ...]  # the last class has no upper bound
    source_key: str | None

    def classify(self, values) -> np.ndarray:
        """Label per value (object array); NaN gives ''."""
        v = np.asarray(values, float)
        k = np.searchsorted(np.asarray(self.upper_bounds), v, side="right")
        out = np.asarray(self.labels, dtype=object)[np.minimum(k, len(self.labels) - 1)]
        return np.where(np.isfinite(v), out, "")


@lru_cache(maxsize=None)
def classification(name: str) -> Classification:
    c = data()["classifications"][name]
    classes = c["classes"]
    return Classification(name, tuple(x["label"] for x in classes),
                          tuple(x["below"] for x in classes[:-1]), c.get("source"))
