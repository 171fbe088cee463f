"""Randomised synthetic runners: every parameter that changes what a camera sees, drawn from a seed.

``random_params(seed)`` gives the same :class:`~gaitlab.synth.params.SynthParams` for the same seed on
every machine (numpy's PCG64 generator). What varies, and over which ranges:

* **Body**: leg (thigh + shank) 0.75-1.00 m at 0.465-0.515 of stature (so stature 1.46-2.15 m and a
  leg/stature ratio that gaitlab's own cm conversion does not assume), the thigh's share of the leg,
  foot length, hip width, trunk length, limb and trunk girth 0.8-1.35.
* **Look**: skin tone from very light to very dark, hair (colour; short, long or none); top and
  shorts colours (sometimes the same colour), a waistband that contrasts or not, tights, a loose top
  hanging over the waistband, sleeves, socks and shoe colours.
* **Room and light**: wall, floor, belt and poster colours; key light direction and strength, fill,
  ambient, exposure, sometimes a bright window behind the runner.
* **Camera**: view (side facing either way, rear, front), distance (the runner fills 1/1.9 to 1/1.2
  of the frame height), height 0.5-1.4 m (knee to chest), yaw off the ideal view up to 8 deg, roll up
  to 5 deg, vertical field of view 38-62 deg, resolution 480p to 1080p in landscape and portrait,
  30/60/120 fps (4.5-6 s; 3.5-4.5 s at 120 fps: 12-20 steps; any runner can be filmed again at 240 fps,
  :func:`random_params` ``fps``), H.264 quality, sensor noise and blur.
* **Running**: cadence 150-195 steps/min, speed 2.3-4.2 m/s, duty factor (through knee flexion at
  toe-off), overstride 0-25 cm per side (sometimes asymmetric), foot strike (rearfoot, midfoot,
  forefoot), knee flexion at contact, pelvic drop 0-12 deg per side, knee valgus 0-15 deg per side,
  trunk lean, vertical oscillation, step width, arm swing; the knee straightest in terminal swing,
  20-70 ms before contact, 0-8 deg straighter than ``knee_flexion_ic_deg`` (and at least 6 deg
  flexed), flexing from there onto the contact. A side that reaches less far than the other lands
  more flexed and so flexes more: over 180 randomised runners (seeds 9000-9149, 9400-9429) the
  flexion from the straightest point to contact is 0-20 deg per side, median 3.8, 90 % under 9.3.
  That is a range for testing contact detectors, from the knee straightest at contact to the knee
  already flexing well before it, not a measured distribution of runners.

Draws that give an impossible motion (no flight phase, a leg that cannot reach its foot) are drawn
again from the same generator, so a seed always gives one feasible runner.
"""

from __future__ import annotations

import numpy as np

from .kinematics import RunnerModel
from .params import SynthParams

#: Skin albedo (RGB 0..1) from very light to very dark; a runner's tone lies between two neighbours.
SKIN_TONES = np.array([
    (0.96, 0.80, 0.69), (0.90, 0.72, 0.60), (0.82, 0.62, 0.49), (0.72, 0.52, 0.38),
    (0.60, 0.42, 0.30), (0.47, 0.32, 0.22), (0.36, 0.24, 0.17), (0.26, 0.17, 0.12)])
HAIR = [(0.06, 0.05, 0.05), (0.18, 0.12, 0.08), (0.35, 0.24, 0.14), (0.75, 0.62, 0.38),
        (0.55, 0.55, 0.55), (0.55, 0.25, 0.12)]
CLOTHES = [(0.92, 0.92, 0.92), (0.07, 0.07, 0.08), (0.45, 0.45, 0.46), (0.25, 0.25, 0.27),
           (0.10, 0.14, 0.32), (0.15, 0.35, 0.75), (0.80, 0.18, 0.16), (0.15, 0.50, 0.25),
           (0.95, 0.85, 0.20), (0.95, 0.50, 0.10), (0.95, 0.55, 0.65), (0.45, 0.25, 0.60),
           (0.10, 0.50, 0.50), (0.80, 0.72, 0.58), (0.45, 0.20, 0.15)]
WALLS = [(0.85, 0.84, 0.80), (0.80, 0.78, 0.72), (0.70, 0.72, 0.75), (0.75, 0.80, 0.85),
         (0.78, 0.84, 0.76), (0.55, 0.55, 0.56), (0.40, 0.38, 0.36), (0.88, 0.80, 0.68)]
FLOORS = [(0.45, 0.44, 0.42), (0.55, 0.40, 0.25), (0.30, 0.30, 0.32), (0.65, 0.62, 0.58), (0.20, 0.22, 0.25)]
VIEWS = (("side_left", 0.28), ("side_right", 0.28), ("rear", 0.30), ("front", 0.14))
RESOLUTIONS = (((640, 480), 0.30), ((854, 480), 0.17), ((1280, 720), 0.25), ((720, 1280), 0.17),
               ((1920, 1080), 0.06), ((1080, 1920), 0.05))
FPS = ((30, 0.30), (60, 0.45), (120, 0.25))


def _choice(rng, options):
    values, weights = zip(*options)
    return values[int(rng.choice(len(values), p=np.asarray(weights) / np.sum(weights)))]


def _colour(rng, palette, jitter=0.06):
    base = np.asarray(palette[int(rng.integers(len(palette)))], float)
    return tuple(np.round(np.clip(base * rng.uniform(1 - jitter, 1 + jitter, 3), 0, 1), 3).tolist())


def _skin(rng):
    k = rng.uniform(0, len(SKIN_TONES) - 1)
    i = int(k)
    j = min(i + 1, len(SKIN_TONES) - 1)
    tone = SKIN_TONES[i] * (1 - (k - i)) + SKIN_TONES[j] * (k - i)
    return tuple(np.round(tone, 3).tolist())


def _look(rng) -> tuple[dict, dict]:
    colours = {"skin": _skin(rng), "hair": _colour(rng, HAIR), "shirt": _colour(rng, CLOTHES)}
    colours["shorts"] = colours["shirt"] if rng.random() < 0.15 else _colour(rng, CLOTHES)
    band = rng.random()
    colours["waistband"] = (colours["shorts"] if band < 0.5 else
                            _colour(rng, [(0.05, 0.05, 0.06), (0.92, 0.92, 0.92)]) if band < 0.8 else
                            _colour(rng, CLOTHES))
    colours["tights"] = _colour(rng, [(0.07, 0.07, 0.08), (0.25, 0.25, 0.27), (0.10, 0.14, 0.32)])
    colours["sock"] = _colour(rng, [(0.92, 0.92, 0.90), (0.07, 0.07, 0.08), (0.45, 0.45, 0.46)] + CLOTHES[5:9])
    colours["shoe"] = _colour(rng, CLOTHES)
    colours["sole"] = _colour(rng, [(0.90, 0.90, 0.88), (0.10, 0.10, 0.10), (0.55, 0.55, 0.55), (0.60, 0.45, 0.25)])
    appearance = {
        "tights": bool(rng.random() < 0.25),
        "loose_top": bool(rng.random() < 0.2),
        "sleeves": _choice(rng, (("short", 0.6), ("none", 0.25), ("long", 0.15))),
        "hair": _choice(rng, (("short", 0.5), ("long", 0.35), ("none", 0.15))),
        "socks": _choice(rng, (("crew", 0.6), ("low", 0.4))),
    }
    return colours, appearance


def _room(rng, colours: dict) -> dict:
    window = bool(rng.random() < 0.25)
    colours.update({"wall": _colour(rng, WALLS), "floor": _colour(rng, FLOORS),
                    "belt": _colour(rng, [(0.13, 0.13, 0.14), (0.08, 0.08, 0.09), (0.22, 0.22, 0.24)]),
                    "poster": _colour(rng, CLOTHES)})
    return {"key_azimuth_deg": round(float(rng.uniform(-70, 70)), 1),
            "key_elevation_deg": round(float(rng.uniform(15, 70)), 1),
            "key_power": round(float(rng.uniform(0.35, 0.75)), 3),
            "fill_power": round(float(rng.uniform(0.08, 0.35)), 3),
            "ambient": round(float(rng.uniform(0.18, 0.40)), 3),
            "exposure": round(float(rng.uniform(0.75, 0.95) if window else rng.uniform(0.85, 1.15)), 3),
            "window": window}


def _per_side(rng, lo, hi, asymmetric=0.5, spread=None):
    a = float(rng.uniform(lo, hi))
    if rng.random() < asymmetric:
        b = float(rng.uniform(lo, hi)) if spread is None else float(np.clip(a + rng.uniform(-spread, spread), lo, hi))
    else:
        b = a
    return round(a, 2), round(b, 2)


def _gait(rng) -> dict:
    strike = _choice(rng, (("rear", 0.7), ("mid", 0.2), ("fore", 0.1)))
    foot = {"rear": (6, 20), "mid": (-2, 5), "fore": (-10, -3)}[strike]
    return {
        "cadence_spm": round(float(rng.uniform(150, 195)), 1),
        "speed_mps": round(float(rng.uniform(2.3, 4.2)), 2),
        "overstride_cm": _per_side(rng, 0, 25, asymmetric=0.3, spread=8),
        "pelvic_drop_deg": _per_side(rng, 0, 12, asymmetric=0.7),
        "knee_valgus_deg": _per_side(rng, 0, 15, asymmetric=0.7),
        "foot_angle_ic_deg": _per_side(rng, *foot, asymmetric=0.2, spread=3),
        "trunk_lean_deg": round(float(rng.uniform(2, 14)), 1),
        "knee_flexion_ic_deg": round(float(rng.uniform(8, 22)), 1),
        "knee_flexion_to_deg": round(float(rng.uniform(16, 28)), 1),
        "vertical_oscillation_cm": round(float(rng.uniform(5, 11)), 1),
        "step_width_cm": round(float(rng.uniform(4, 14)), 1),
        "arm_swing_deg": round(float(rng.uniform(20, 45)), 1),
    }


def _terminal_swing(rng, knee_flexion_ic_deg: float) -> dict:
    reflexion = float(rng.uniform(0, 8))
    return {"knee_reflexion_deg": round(min(reflexion, max(knee_flexion_ic_deg - 6, 0)), 1),
            "knee_reflexion_lead_s": round(float(rng.uniform(0.02, 0.07)), 3)}


def _body(rng) -> dict:
    leg = float(rng.uniform(0.75, 1.00))
    fraction = float(rng.uniform(0.465, 0.515))
    thigh_share = float(rng.uniform(0.48, 0.53))
    height = leg / fraction
    return {"height_m": round(height, 3),
            "thigh_fraction": round(fraction * thigh_share, 4),
            "shank_fraction": round(fraction * (1 - thigh_share), 4),
            "foot_fraction": round(float(rng.uniform(0.14, 0.165)), 4),
            "hip_width_fraction": round(float(rng.uniform(0.085, 0.12)), 4),
            "trunk_fraction": round(float(rng.uniform(0.27, 0.31)), 4),
            "girth": round(float(rng.uniform(0.8, 1.35)), 3)}


def _camera(rng, stature: float) -> dict:
    view = _choice(rng, VIEWS)
    width, height = _choice(rng, RESOLUTIONS)
    fps = _choice(rng, FPS)
    fov = float(rng.uniform(38, 62))
    portrait = height > width
    fill = float(rng.uniform(1.5, 1.9) if portrait else rng.uniform(1.2, 1.9))  # frame height / stature
    distance = 0.5 * fill * stature / np.tan(np.radians(fov) / 2)
    duration = float(rng.uniform(3.5, 4.5) if fps >= 120 else rng.uniform(4.5, 6.0))
    return {"view": view, "width": width, "height": height, "fps": float(fps),
            "vertical_fov_deg": round(fov, 2), "camera_distance_m": round(float(distance), 3),
            "camera_height_m": round(float(rng.uniform(0.5, 1.4)), 3),
            "camera_yaw_deg": round(float(rng.uniform(-8, 8)), 2),
            "camera_roll_deg": round(float(rng.uniform(-5, 5)), 2) if rng.random() < 0.6 else 0.0,
            "duration_s": round(duration, 2),
            "crf": int(rng.integers(18, 31)),
            "noise_sigma": round(float(rng.uniform(0, 3)), 2),
            "blur_sigma": round(float(rng.uniform(0, 0.8)), 2)}


def random_params(seed: int, fps: float | None = None) -> SynthParams:
    """One feasible randomised runner and camera for ``seed`` (see the module docstring). ``fps``
    films the same runner at another frame rate (30-240; everything else as drawn, so a set can be
    rendered again at a rate the draw does not give, such as a phone's 240 fps slow-motion mode)."""
    rng = np.random.default_rng([int(seed), 0x6A17])
    body = _body(rng)
    colours, appearance = _look(rng)
    lighting = _room(rng, colours)
    camera = _camera(rng, body["height_m"])
    if fps is not None:
        camera["fps"] = float(fps)
    # The terminal swing is drawn from a generator of its own, so the other draws are as they were
    # before it was added.
    swing_rng = np.random.default_rng([int(seed), 0x5717])
    for _ in range(200):
        gait = _gait(rng)
        gait.update(_terminal_swing(swing_rng, gait["knee_flexion_ic_deg"]))
        params = SynthParams(**body, **camera, **gait, colours=colours, appearance=appearance,
                             lighting=lighting, seed=int(seed), supersample=1)
        try:
            RunnerModel(params)
        except ValueError:
            continue
        return params
    raise RuntimeError(f"no feasible runner found for seed {seed}")


def seeds_with_view(view: str, start: int, n: int) -> list[int]:
    """The first ``n`` seeds from ``start`` whose randomised camera (:func:`random_params`) is ``view``."""
    seeds, seed = [], int(start)
    while len(seeds) < n:
        if random_params(seed).view == view:
            seeds.append(seed)
        seed += 1
    return seeds


def describe(params: SynthParams) -> str:
    """A one-line description of a randomised clip, for file names and tables."""
    od = params.overstride_cm
    return (f"{params.view}_{params.width}x{params.height}_{params.fps:g}fps_c{params.cadence_spm:.0f}"
            f"_os{od[0]:.0f}-{od[1]:.0f}")
