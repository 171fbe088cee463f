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
        for name in ("name", "notes"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise ValueError(f"the runner's {name} must be text")
        for name in ("height_m", "speed_kmh"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise ValueError(f"the runner's {name} must be a number")
        if self.height_m is not None and not 0.9 <= self.height_m <= 2.3:
            raise ValueError("height must be between 0.9 and 2.3 m (give it in metres or with --height 178cm)")
        if self.speed_kmh is not None and not 0 < self.speed_kmh <= 45:
            raise ValueError("speed must be between 0 and 45 km/h")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RunnerInfo":
        return cls(**_known(cls, d))


def _known(cls, d: dict) -> dict:
    unknown = set(d) - {f.name for f in fields(cls)}
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields: {', '.join(sorted(map(str, unknown)))}")
    return d


#: Frame rates gaitlab accepts for --capture-fps and --keypoints-fps (frames per second).
FPS_RANGE = (1.0, 10000.0)


@dataclass(frozen=True)
class AnalysisConfig:
    """How to analyse. ``capture_fps``: the frame rate the phone filmed at, for slow-motion clips whose
    file plays slower (e.g. 240 for an iPhone slo-mo exported at 30 fps)."""

    capture_fps: float | None = None

    def __post_init__(self):
        fps = self.capture_fps
        if fps is not None and (isinstance(fps, bool) or not isinstance(fps, (int, float))
                                or not FPS_RANGE[0] <= fps <= FPS_RANGE[1]):
            raise ValueError(f"the capture frame rate must be between {FPS_RANGE[0]:g} and {FPS_RANGE[1]:g}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "AnalysisConfig":
        return cls(**_known(cls, d))
