"""Parameters of a synthetic treadmill runner and the camera that films it.

Per-side values accept one number (both sides) or a ``(left, right)`` pair. Signs:

* ``overstride_cm``: heel ahead of the ipsilateral hip joint centre at initial contact (+ = ahead).
* ``pelvic_drop_deg``: contralateral pelvic drop during that side's stance, at its peak
  (+ = the swing side's hip drops below the stance side's). ``(8, 3)`` means 8 deg of right-side
  drop during left stance and 3 deg of left-side drop during right stance.
* ``knee_valgus_deg``: frontal plane projection angle (FPPA) of that leg seen from directly behind,
  at peak knee flexion in stance (+ = valgus, the knee medial of the hip-ankle line).
* ``foot_angle_ic_deg``: foot (sole) angle to the belt at initial contact (+ = toes up: rearfoot
  strike; about 0: midfoot; - = forefoot).
* ``trunk_lean_deg``: forward lean of the trunk from vertical.

Views: ``side_left`` (camera on the runner's left; the runner faces image-left), ``side_right``
(faces image-right), ``rear`` (camera behind; runner's left is image-left) and ``front``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

VIEWS = ("side_left", "side_right", "rear", "front")
FPS_CHOICES = (24, 25, 30, 50, 60, 120, 240)


def _pair(value) -> tuple[float, float]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"expected one value or a (left, right) pair, got {value!r}")
        return float(value[0]), float(value[1])
    return float(value), float(value)


@dataclass(frozen=True)
class SynthParams:
    # runner
    height_m: float = 1.75
    cadence_spm: float = 170.0
    speed_mps: float = 3.0
    overstride_cm: tuple[float, float] = (8.0, 8.0)
    pelvic_drop_deg: tuple[float, float] = (0.0, 0.0)
    knee_valgus_deg: tuple[float, float] = (0.0, 0.0)
    foot_angle_ic_deg: tuple[float, float] = (12.0, 12.0)
    trunk_lean_deg: float = 6.0
    knee_flexion_ic_deg: float = 14.0
    knee_flexion_to_deg: float = 22.0
    vertical_oscillation_cm: float = 8.0
    step_width_cm: float = 10.0
    arm_swing_deg: float = 32.0
    # camera
    view: str = "side_left"
    camera_roll_deg: float = 0.0
    camera_distance_m: float | None = None
    camera_height_m: float = 0.95
    vertical_fov_deg: float = 50.0
    width: int = 640
    height: int = 480
    fps: float = 60.0
    duration_s: float = 6.0
    # rendering
    seed: int = 0
    supersample: int = 2
    colours: dict = field(default_factory=dict)

    def __post_init__(self):
        for name in ("overstride_cm", "pelvic_drop_deg", "knee_valgus_deg", "foot_angle_ic_deg"):
            object.__setattr__(self, name, _pair(getattr(self, name)))
        if self.view not in VIEWS:
            raise ValueError(f"view must be one of {', '.join(VIEWS)}, not {self.view!r}")
        if not 100 <= self.cadence_spm <= 240:
            raise ValueError("cadence_spm must be within 100-240 steps/min")
        if not 1.5 <= self.speed_mps <= 7.0:
            raise ValueError("speed_mps must be within 1.5-7 m/s (running)")
        if not 1.3 <= self.height_m <= 2.2:
            raise ValueError("height_m must be within 1.3-2.2 m")
        if not (160 <= self.width <= 3840 and 120 <= self.height <= 3840):
            raise ValueError("width and height must be within 160-3840 pixels")
        if self.width % 2 or self.height % 2:
            raise ValueError("width and height must be even (H.264 4:2:0)")
        if not 10 <= self.fps <= 480:
            raise ValueError("fps must be within 10-480")
        if not 0.5 <= self.duration_s <= 600:
            raise ValueError("duration_s must be within 0.5-600 s")
        if self.supersample not in (1, 2, 3):
            raise ValueError("supersample must be 1, 2 or 3")

    @property
    def n_frames(self) -> int:
        return int(round(self.duration_s * self.fps))

    def to_dict(self) -> dict:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "SynthParams":
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown synthetic-runner parameters: {', '.join(sorted(unknown))}")
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()})
