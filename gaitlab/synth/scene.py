"""The scene: a gym wall, a floor, a treadmill with a moving belt, and the runner's body as lit
capsules and ellipsoids around the joint trajectories of :mod:`gaitlab.synth.kinematics`."""

from __future__ import annotations

import cv2
import numpy as np

from .kinematics import LATERAL, SIDES, RunnerModel
from .params import SynthParams
from .raycast import Camera, Canvas, intersect_box, intersect_plane, shade

DECK = 0.18  # belt height above the room floor (m)
#: The shorts' waistband: its middle's height above the hip-joint centres (m for a 1.75 m runner)
#: and its half-height (m for a runner of average girth), as a band of fabric on the body at the
#: top of the pelvis.
WAISTBAND_CENTRE, WAISTBAND_HALF_HEIGHT = 0.145, 0.022

# Materials: id -> default RGB albedo (0..1). Distinct tones for skin, shirt, shorts and shoes.
MATERIALS = {
    "wall": (0.80, 0.78, 0.72),
    "skirting": (0.35, 0.33, 0.31),
    "poster": (0.30, 0.45, 0.60),
    "floor": (0.45, 0.44, 0.42),
    "belt": (0.13, 0.13, 0.14),
    "deck": (0.22, 0.22, 0.23),
    "rail": (0.62, 0.63, 0.65),
    "hood": (0.16, 0.16, 0.17),
    "skin": (0.78, 0.57, 0.45),
    "hair": (0.18, 0.12, 0.08),
    "eye": (0.06, 0.05, 0.05),
    "mouth": (0.45, 0.18, 0.18),
    "shirt": (0.80, 0.20, 0.18),
    "shorts": (0.10, 0.14, 0.30),
    "waistband": (0.05, 0.06, 0.10),
    "sock": (0.92, 0.92, 0.90),
    "shoe": (0.30, 0.42, 0.62),
    "sole": (0.90, 0.90, 0.88),
    "tights": (0.08, 0.08, 0.10),
    "window": (0.97, 0.97, 0.95),
}
MATERIAL_ID = {name: i + 1 for i, name in enumerate(MATERIALS)}


def make_camera(p: SynthParams, body_height: float) -> Camera:
    """Camera placed for the requested view, aimed at the runner's mid-height."""
    fov = p.vertical_fov_deg
    if p.camera_distance_m is not None:
        d = p.camera_distance_m
    else:
        # Fit 1.5x the stature into the shorter image dimension.
        short_fov = fov if p.height <= p.width else 2 * np.degrees(np.arctan(np.tan(np.radians(fov) / 2) * p.width / p.height))
        d = 0.75 * body_height / np.tan(np.radians(short_fov) / 2)
    target = np.array([0.0, 0.50 * body_height, 0.0])
    pos = {
        "side_left": np.array([0.0, p.camera_height_m, -d]),
        "side_right": np.array([0.0, p.camera_height_m, d]),
        "rear": np.array([-d, p.camera_height_m, 0.0]),
        "front": np.array([d, p.camera_height_m, 0.0]),
    }[p.view]
    if p.camera_yaw_deg:
        # Round the runner about the vertical axis, + = counter-clockwise seen from above.
        a = np.radians(p.camera_yaw_deg)
        x, z = pos[0], pos[2]
        pos = np.array([x * np.cos(a) + z * np.sin(a), pos[1], -x * np.sin(a) + z * np.cos(a)])
    return Camera(position=pos, target=target, width=p.width, height=p.height,
                  vertical_fov_deg=fov, roll_deg=p.camera_roll_deg)


class Scene:
    """Renders frames of one synthetic clip."""

    def __init__(self, params: SynthParams, model: RunnerModel):
        self.p = params
        self.model = model
        self.body = model.body
        self.scale = params.supersample
        self.camera = make_camera(params, self.body.height)
        self.dirs = self.camera.ray_directions(self.scale)
        rng = np.random.default_rng(params.seed + 1)
        self.albedo = self._palette(rng)
        self._build_background(rng)
        r, u, f = self.camera.basis()
        az, el = params.light("key_azimuth_deg"), params.light("key_elevation_deg")
        if az is None or el is None:
            key = np.array([0.0, 1.0, 0.0]) * 0.8 - f * 0.6 + r * 0.3
        else:
            az, el = np.radians(az), np.radians(el)
            horizontal = -np.cos(az) * f + np.sin(az) * r
            horizontal[1] = 0.0
            key = np.cos(el) * horizontal / max(np.linalg.norm(horizontal), 1e-9) + np.sin(el) * np.array([0.0, 1.0, 0.0])
        self.lights = [key, -f + np.array([0, 0.3, 0])]
        self.light_power = [params.light("key_power"), params.light("fill_power")]
        self.ambient = params.light("ambient")
        self.girth = params.girth
        self._prepare_background_shading()

    # -- materials ---------------------------------------------------------------------------
    def _palette(self, rng) -> np.ndarray:
        table = np.zeros((len(MATERIALS) + 1, 3), np.float32)
        for name, rgb in MATERIALS.items():
            rgb = np.array(self.p.colours.get(name, rgb), np.float32)
            if name == "skin" and "skin" not in self.p.colours:
                rgb = rgb * rng.uniform(0.75, 1.1)  # vary skin tone between seeds
            table[MATERIAL_ID[name]] = np.clip(rgb, 0, 1)
        return table

    # -- static background -------------------------------------------------------------------
    def _build_background(self, rng):
        h, w = self.dirs.shape[:2]
        o = np.asarray(self.camera.position, np.float32)
        depth = np.full((h, w), np.inf, np.float32)
        normal = np.zeros((h, w, 3), np.float32)
        material = np.zeros((h, w), np.int16)

        def put(t, n, mat):
            hit = t < depth
            depth[hit] = t[hit]
            normal[hit] = n if np.ndim(n) == 1 else n[hit]
            material[hit] = mat

        put(intersect_plane(o, self.dirs, (0, -DECK, 0), (0, 1, 0)), np.array([0, 1, 0], np.float32),
            MATERIAL_ID["floor"])
        # Wall behind the runner, facing the camera.
        cam = np.asarray(self.camera.position, float)
        axis = int(np.argmax(np.abs(cam[[0, 2]])) * 2)  # 0 (x) or 2 (z)
        wall_n = np.zeros(3, np.float32)
        wall_n[axis] = np.sign(cam[axis])
        wall_pt = -wall_n * 2.6
        t_wall = intersect_plane(o, self.dirs, wall_pt, wall_n)
        put(t_wall, wall_n, MATERIAL_ID["wall"])
        # Treadmill: deck, foot rails, motor hood.
        boxes = [
            ((-1.0, -DECK, -0.30), (1.0, 0.0, 0.30), "belt"),
            ((-1.0, -DECK, 0.30), (1.05, 0.025, 0.40), "rail"),
            ((-1.0, -DECK, -0.40), (1.05, 0.025, -0.30), "rail"),
            ((1.0, -DECK, -0.40), (1.35, 0.10, 0.40), "hood"),
        ]
        for lo, hi, mat in boxes:
            t, n = intersect_box(o, self.dirs, lo, hi)
            put(t, n, MATERIAL_ID[mat])
        # Belt top versus deck sides.
        belt = material == MATERIAL_ID["belt"]
        side = belt & (normal[..., 1] < 0.5)
        material[side] = MATERIAL_ID["deck"]
        p = o + depth[..., None] * self.dirs
        # Wall decoration: skirting board and a few posters (seeded).
        on_wall = material == MATERIAL_ID["wall"]
        lateral = p[..., 2 - axis] if axis in (0, 2) else p[..., 0]
        material[on_wall & (p[..., 1] < -DECK + 0.12)] = MATERIAL_ID["skirting"]
        for _ in range(3):
            cx, cy = rng.uniform(-2.5, 2.5), rng.uniform(1.0, 1.7)
            pw, ph = rng.uniform(0.3, 0.6), rng.uniform(0.4, 0.7)
            poster = on_wall & (np.abs(lateral - cx) < pw / 2) & (np.abs(p[..., 1] - cy) < ph / 2)
            material[poster] = MATERIAL_ID["poster"]
        if self.p.light("window"):
            # A bright window on the wall behind the runner: the runner is seen against the light.
            material[on_wall & (np.abs(lateral - 0.35) < 0.7) & (p[..., 1] > 0.9) & (p[..., 1] < 2.2)] = MATERIAL_ID["window"]
        self.bg_depth, self.bg_normal, self.bg_material = depth, normal, material
        self.bg_point = p
        self.belt_mask = material == MATERIAL_ID["belt"]
        # Static fine texture (wall paint, floor) as a multiplicative factor.
        noise = rng.normal(0, 1, (h // 4 + 1, w // 4 + 1)).astype(np.float32)
        noise = cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC)
        self.bg_texture = 1.0 + 0.025 * noise

    # -- body ------------------------------------------------------------------------------
    def _draw_body(self, canvas: Canvas, j: dict, i: int):
        s = self.body.height / 1.75
        g = s * self.girth  # limb and trunk radii
        M = MATERIAL_ID
        look = self.p.look
        leg_skin = M["tights"] if look("tights") else M["skin"]
        P = {k: v[i] for k, v in j.items() if isinstance(v, np.ndarray) and v.ndim == 2 and v.shape[1] == 3}
        pelvis = P["pelvis"]
        axis = P["trunk_axis"]
        lateral = P["right_hip"] - P["left_hip"]
        lateral /= np.linalg.norm(lateral)
        fwd = np.cross(axis, lateral)
        fwd /= np.linalg.norm(fwd)
        up_p = np.cross(lateral, fwd)
        pelvis_rot = np.column_stack([fwd, up_p, lateral])
        sh_lat = P["right_shoulder"] - P["left_shoulder"]
        sh_lat /= np.linalg.norm(sh_lat)
        sh_fwd = np.cross(axis, sh_lat)
        sh_fwd /= np.linalg.norm(sh_fwd)
        chest_rot = np.column_stack([sh_fwd, axis, np.cross(sh_fwd, axis)])
        trunk = self.body.trunk

        # Pelvis and shorts (the pelvis ellipsoid follows the pelvis's own obliquity and rotation).
        canvas.ellipsoid(pelvis + 0.05 * s * up_p, pelvis_rot, np.array([0.115, 0.12, 0.175]) * g, M["shorts"])
        # Trunk: abdomen and chest.
        canvas.ellipsoid(pelvis + 0.40 * trunk * axis, chest_rot, np.array([0.105, 0.20, 0.155]) * g, M["shirt"])
        canvas.ellipsoid(pelvis + 0.72 * trunk * axis, chest_rot, np.array([0.115, 0.20, 0.175]) * g, M["shirt"])
        # The clothes divide where they sit on the pelvis, not where the solids above meet: below the
        # waistband the torso's surface is the shorts, then the waistband (fixed to the pelvis, so it
        # follows its obliquity and rotation), then the top.
        band = WAISTBAND_CENTRE * s + np.array([-1.0, 1.0]) * WAISTBAND_HALF_HEIGHT * g
        reach = 0.3 * g
        canvas.repaint(pelvis, up_p, pelvis - reach, pelvis + reach, (M["shorts"], M["shirt"]), band,
                       (M["shorts"], M["waistband"], M["shirt"]))
        if look("loose_top"):
            # A loose top hangs from the chest over the waistband and the top of the hips.
            canvas.ellipsoid(pelvis + 0.22 * trunk * axis, chest_rot, np.array([0.128, 0.23, 0.188]) * g, M["shirt"])
        # Neck and head.
        canvas.capsule(P["shoulder_centre"], P["neck"] + 0.03 * s * axis, 0.050 * s, M["skin"])
        canvas.ellipsoid(P["head"], chest_rot, np.array([0.095, 0.115, 0.082]) * s, M["skin"])
        if look("hair") != "none":
            canvas.ellipsoid(P["head"] + (-0.015 * sh_fwd + 0.03 * axis) * s, chest_rot,
                             np.array([0.098, 0.105, 0.085]) * s, M["hair"])
        if look("hair") == "long":
            canvas.ellipsoid(P["head"] + (-0.10 * sh_fwd - 0.06 * axis) * s, chest_rot,
                             np.array([0.035, 0.10, 0.035]) * s, M["hair"])
        # Face, so that front and back views are unambiguous: eyes, brows, nose, mouth, ears.
        side_axis = chest_rot[:, 2]
        face = P["head"] + 0.078 * s * sh_fwd
        for lr in (-1.0, 1.0):
            canvas.ellipsoid(face + (0.012 * axis + lr * 0.032 * side_axis) * s, chest_rot,
                             np.array([0.012, 0.010, 0.014]) * s, M["eye"])
            canvas.ellipsoid(face + (0.035 * axis + lr * 0.033 * side_axis - 0.002 * sh_fwd) * s, chest_rot,
                             np.array([0.010, 0.005, 0.020]) * s, M["hair"])
            canvas.ellipsoid(P["head"] + (lr * 0.082 * side_axis) * s, chest_rot,
                             np.array([0.020, 0.030, 0.012]) * s, M["skin"])
        canvas.ellipsoid(face + (-0.012 * axis + 0.012 * sh_fwd) * s, chest_rot,
                         np.array([0.022, 0.026, 0.015]) * s, M["skin"])
        canvas.ellipsoid(face + (-0.050 * axis - 0.004 * sh_fwd) * s, chest_rot,
                         np.array([0.010, 0.007, 0.024]) * s, M["mouth"])
        for side in SIDES:
            hip, knee, ankle = P[f"{side}_hip"], P[f"{side}_knee"], P[f"{side}_ankle"]
            # Legs: shorts leg, thigh, shank, sock, shoe.
            canvas.capsule(hip, hip + 0.38 * (knee - hip), 0.083 * g, M["shorts"])
            canvas.capsule(hip, knee, 0.066 * g, leg_skin)
            canvas.capsule(knee, ankle + 0.05 * s * (knee - ankle) / np.linalg.norm(knee - ankle), 0.050 * g, leg_skin)
            sock = 0.10 if look("socks") == "crew" else 0.03
            canvas.capsule(ankle, ankle + sock * (knee - ankle), 0.046 * s * max(self.girth, 1.0) ** 0.5, M["sock"])
            hc, tc = P[f"{side}_heel_centre"], P[f"{side}_toe_centre"]
            r = self.body.foot_radius
            along = (tc - hc) / np.linalg.norm(tc - hc)
            down = np.array([along[1], -along[0], 0.0])  # toward the sole, in the foot's sagittal plane
            across = np.cross(along, down)
            foot_rot = np.column_stack([along, -down, across])
            # Shoe: a tapered upper (higher at the heel), a heel counter, a collar round the ankle,
            # and a light midsole that is thicker under the heel.
            length = np.linalg.norm(tc - hc) + 2 * r
            mid = 0.5 * (hc + tc) - 0.1 * r * down
            canvas.ellipsoid(mid, foot_rot, np.array([0.5 * length, 0.85 * r, 0.95 * r]), M["shoe"])
            canvas.ellipsoid(hc - 0.1 * r * along, foot_rot, np.array([1.1 * r, 1.05 * r, 0.95 * r]), M["shoe"])
            canvas.capsule(hc + 0.4 * r * along, ankle, 0.85 * r, M["shoe"])
            canvas.capsule(hc + 0.55 * r * down, tc + 0.75 * r * down, 0.45 * r, M["sole"])
            # Arms: shoulder, sleeve, upper arm, forearm, hand.
            sh, el, wr = P[f"{side}_shoulder"], P[f"{side}_elbow"], P[f"{side}_wrist"]
            canvas.ellipsoid(sh, chest_rot, np.array([0.065, 0.06, 0.06]) * g, M["shirt"])
            sleeves = look("sleeves")
            if sleeves != "none":
                canvas.capsule(sh, sh + (1.0 if sleeves == "long" else 0.40) * (el - sh), 0.054 * g, M["shirt"])
            if sleeves == "long":
                canvas.capsule(el, el + 0.9 * (wr - el), 0.045 * g, M["shirt"])
            canvas.capsule(sh, el, 0.043 * g, M["skin"])
            canvas.capsule(el, wr, 0.036 * g, M["skin"])
            dirn = (wr - el) / np.linalg.norm(wr - el)
            canvas.ellipsoid(wr + 0.045 * s * dirn, chest_rot, np.array([0.045, 0.045, 0.03]) * s, M["skin"])

    def _prepare_background_shading(self):
        """Shade the static background once; per frame only the belt texture and shadows change."""
        albedo = self.albedo[self.bg_material] * self.bg_texture[..., None]
        self.bg_rgb = shade(self.bg_normal, albedo, self.lights, self.light_power, ambient=self.ambient)
        window = self.bg_material == MATERIAL_ID["window"]
        self.bg_rgb[window] = self.albedo[MATERIAL_ID["window"]] / max(self.p.light("exposure"), 1e-3)
        belt = self.belt_mask
        self.belt_idx = np.nonzero(belt)
        self.belt_x = self.bg_point[belt][:, 0]
        self.belt_rgb = self.bg_rgb[belt]
        ground = (self.bg_normal[..., 1] > 0.5) & np.isfinite(self.bg_depth)
        near = ground & (np.abs(self.bg_point[..., 0]) < 1.5) & (np.abs(self.bg_point[..., 2]) < 1.0)
        self.ground_idx = np.nonzero(near)
        self.ground_xz = self.bg_point[near][:, [0, 2]]

    def render(self, t: float, joints: dict, i: int) -> np.ndarray:
        """RGB uint8 frame (H, W, 3) at time t, from precomputed joints at index i."""
        canvas = Canvas(self.camera, self.dirs, self.bg_depth.copy(), self.bg_normal.copy(),
                        self.bg_material.copy(), self.scale)
        self._draw_body(canvas, joints, i)
        img = self.bg_rgb.copy()
        # Moving belt texture: fine grooves that travel backward at the belt speed.
        groove = (np.sin(2 * np.pi * (self.belt_x + self.p.speed_mps * t) / 0.06) > 0.85).astype(np.float32)
        img[self.belt_idx] = self.belt_rgb * (1.0 - 0.35 * groove)[:, None]
        # Soft contact shadows of the feet and the body on the belt and floor.
        gx, gz = self.ground_xz[:, 0], self.ground_xz[:, 1]
        shadow = np.zeros(gx.shape[0], np.float32)
        for side in SIDES:
            for part in ("heel_centre", "toe_centre"):
                f = joints[f"{side}_{part}"][i]
                height = max(f[1], 0.0)
                sigma = 0.05 + 0.5 * height
                d2 = (gx - f[0]) ** 2 + (gz - f[2]) ** 2
                shadow = np.maximum(shadow, 0.55 * np.exp(-d2 / (2 * sigma ** 2)) / (1 + 4 * height))
        pel = joints["pelvis"][i]
        shadow = np.maximum(shadow, 0.25 * np.exp(-((gx - pel[0]) ** 2 / 0.09 + (gz - pel[2]) ** 2 / 0.05)))
        img[self.ground_idx] *= (1.0 - shadow)[:, None]
        # The runner.
        body = canvas.material != self.bg_material
        colour = shade(canvas.normal[body], self.albedo[canvas.material[body]], self.lights, self.light_power,
                       ambient=self.ambient)
        # The far side of the body lies in the near side's shadow: dim it with depth behind the pelvis.
        pelvis_depth = float(np.linalg.norm(joints["pelvis"][i] - self.camera.position))
        behind = canvas.depth[body] - pelvis_depth
        colour *= np.clip(1.0 - 1.6 * behind, 0.55, 1.0)[:, None]
        img[body] = colour
        exposure = self.p.light("exposure")
        img = np.clip(img * (255.0 * exposure), 0, 255)
        if self.scale > 1:
            img = cv2.resize(img, (self.p.width, self.p.height), interpolation=cv2.INTER_AREA)
        if self.p.blur_sigma > 0:
            img = cv2.GaussianBlur(img, (0, 0), self.p.blur_sigma)
        if self.p.noise_sigma > 0:
            # Sensor noise, seeded per frame so the same parameters give the same pixels.
            noise_rng = np.random.default_rng((self.p.seed, i, int(round(t * 1e6))))
            img = img + noise_rng.normal(0.0, self.p.noise_sigma, img.shape).astype(np.float32)
        return np.clip(np.round(img), 0, 255).astype(np.uint8)
