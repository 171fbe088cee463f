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
* ``knee_reflexion_deg``: the knee is straightest in terminal swing, ``knee_reflexion_lead_s``
  seconds before initial contact, at ``knee_flexion_ic_deg`` minus this, and flexes from there onto
  the contact (0: the knee is straightest at contact). A side that lands with more flexion than
  ``knee_flexion_ic_deg`` (the one reaching less far, when overstride differs between sides)
  flexes that much more.

Views: ``side_left`` (camera on the runner's left; the runner faces image-left), ``side_right``
(faces image-right), ``rear`` (camera behind; runner's left is image-left) and ``front``.

Body proportions are fractions of stature (defaults: Winter 2009, the segment table gaitlab's own
cm conversion uses); ``girth`` scales every limb and trunk radius. ``appearance`` chooses the
outfit (:data:`APPEARANCE_DEFAULTS`) and ``colours`` any material's RGB (0..1, names in
:data:`gaitlab.synth.scene.MATERIALS`). ``lighting`` sets the lights (:data:`LIGHTING_DEFAULTS`).
``camera_yaw_deg`` turns the camera about the runner off the ideal view (+ = toward the runner's
front). ``noise_sigma`` (grey levels) and ``blur_sigma`` (pixels) imitate a phone sensor; ``crf``
is the H.264 quality (higher = more compression).
:func:`gaitlab.synth.randomize.random_params` draws all of these from a seed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

VIEWS = ("side_left", "side_right", "rear", "front")
FPS_CHOICES = (24, 25, 30, 50, 60, 120, 240)


#: Outfit switches and their defaults.
APPEARANCE_DEFAULTS = {
    "tights": False,        # legs covered to the ankle in the ``tights`` colour
    "loose_top": False,     # the top hangs over the waistband and the hips
    "sleeves": "short",     # short | none | long
    "hair": "short",        # short | long (a ponytail) | none
    "socks": "crew",        # crew | low
}
#: Lights, relative to the camera: a key light (azimuth from the camera's viewing direction, + = from
#: the image's right; elevation above the horizon), a fill light from the camera, hemispherical
#: ambient, an ``exposure`` factor on the whole image and an optional bright ``window`` on the
#: wall behind the runner.
LIGHTING_DEFAULTS = {"key_azimuth_deg": None, "key_elevation_deg": None, "key_power": 0.55,
                     "fill_power": 0.25, "ambient": 0.32, "exposure": 1.0, "window": False}


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
    knee_reflexion_deg: float = 0.0
    knee_reflexion_lead_s: float = 0.04
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
    camera_yaw_deg: float = 0.0
    # body (fractions of stature) and look
    thigh_fraction: float = 0.245
    shank_fraction: float = 0.246
    foot_fraction: float = 0.152
    hip_width_fraction: float = 0.100
    trunk_fraction: float = 0.288
    girth: float = 1.0
    appearance: dict = field(default_factory=dict)
    lighting: dict = field(default_factory=dict)
    # rendering
    seed: int = 0
    supersample: int = 2
    colours: dict = field(default_factory=dict)
    noise_sigma: float = 0.0
    blur_sigma: float = 0.0
    crf: int = 24

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
        if not (0.38 <= self.thigh_fraction + self.shank_fraction <= 0.58):
            raise ValueError("thigh and shank together must be 0.38-0.58 of the stature")
        if not 0.6 <= self.girth <= 1.6:
            raise ValueError("girth must be within 0.6-1.6")
        if not 0 <= self.knee_reflexion_deg <= 20:
            raise ValueError("knee_reflexion_deg must be within 0-20")
        if not 0.005 <= self.knee_reflexion_lead_s <= 0.15:
            raise ValueError("knee_reflexion_lead_s must be within 0.005-0.15 s")
        if abs(self.camera_yaw_deg) > 45:
            raise ValueError("camera_yaw_deg must be within +-45")
        if not 0 <= self.crf <= 51:
            raise ValueError("crf must be within 0-51")
        for name, known in (("appearance", APPEARANCE_DEFAULTS), ("lighting", LIGHTING_DEFAULTS)):
            unknown = set(getattr(self, name)) - set(known)
            if unknown:
                raise ValueError(f"unknown {name} keys: {', '.join(sorted(unknown))}")

    def look(self, key: str):
        """An appearance setting (its default when not given)."""
        return self.appearance.get(key, APPEARANCE_DEFAULTS[key])

    def light(self, key: str):
        """A lighting setting (its default when not given)."""
        return self.lighting.get(key, LIGHTING_DEFAULTS[key])

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
