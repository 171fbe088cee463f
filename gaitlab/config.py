"""Settings of an analysis, as frozen dataclasses with defaults (unknown keys raise)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class RunnerInfo:
    """What the clinician knows about the runner; all optional. Height enables lengths in cm."""

    name: str | None = None
    height_m: float | None = None
    speed_kmh: float | None = None
    notes: str | None = None

    def __post_init__(self):
        if self.height_m is not None and not 0.9 <= self.height_m <= 2.3:
            raise ValueError("height must be between 0.9 and 2.3 m (give it in metres or with --height 178cm)")
        if self.speed_kmh is not None and not 0 < self.speed_kmh <= 45:
            raise ValueError("speed must be between 0 and 45 km/h")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class AnalysisConfig:
    """How to analyse. ``capture_fps``: the frame rate the phone filmed at, for slow-motion clips whose
    file plays slower (e.g. 240 for an iPhone slo-mo exported at 30 fps)."""

    capture_fps: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "AnalysisConfig":
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown analysis settings: {', '.join(sorted(unknown))}")
        return cls(**d)
