"""Settings of an analysis, as frozen dataclasses with defaults (unknown keys raise)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


#: The values ``injured_side`` takes.
INJURED_SIDES = ("left", "right", "both", "none")


@dataclass(frozen=True)
class RunnerInfo:
    """What the clinician knows about the runner and the session; all optional. Height enables
    lengths in cm; speed (km/h) sets the cadence reference at the runner's speed."""

    name: str | None = None
    height_m: float | None = None
    speed_kmh: float | None = None
    notes: str | None = None
    age: int | None = None
    sex: str | None = None
    injured_side: str | None = None
    shoe: str | None = None
    session: str | None = None
    clinician: str | None = None
    clinic: str | None = None

    def __post_init__(self):
        if self.height_m is not None and not 0.9 <= self.height_m <= 2.3:
            raise ValueError("height must be between 0.9 and 2.3 m (give it in metres or with --height 178cm)")
        if self.speed_kmh is not None and not 0 < self.speed_kmh <= 45:
            raise ValueError("speed must be between 0 and 45 km/h")
        if self.age is not None and not 5 <= self.age <= 110:
            raise ValueError("age must be between 5 and 110 years")
        if self.injured_side is not None and self.injured_side not in INJURED_SIDES:
            raise ValueError(f"injured side must be one of {', '.join(INJURED_SIDES)}")
        for name in ("name", "notes", "sex", "shoe", "session", "clinician", "clinic"):
            value = getattr(self, name)
            if value is not None and len(value) > (2000 if name == "notes" else 200):
                raise ValueError(f"{name} is too long")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RunnerInfo":
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown runner fields: {', '.join(sorted(unknown))} (known: {', '.join(sorted(names))})")
        return cls(**d)


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
