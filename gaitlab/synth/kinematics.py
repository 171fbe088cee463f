"""Kinematics of the synthetic treadmill runner, exact by construction.

World frame: x forward (running direction), y up, z to the runner's right; metres; the belt surface
is y = 0 and the pelvis stays over x = 0 (treadmill).

How the motion is built (every quantity below is a smooth function of time, vectorised over t):

* **Timing.** Step time ``60 / cadence``; left initial contacts at ``t0 + n * stride``, right ones
  half a stride later. Contact time per side is solved so the knee is flexed
  ``knee_flexion_to_deg`` at toe-off (the foot cannot leave the belt further back than the leg
  reaches), which gives realistic duty factors (0.3-0.4).
* **Stance foot.** The foot is a rigid sole that rolls over the belt, which moves backward at the
  belt speed: heel rocker (rotation about the heel, from ``foot_angle_ic_deg`` to flat, first 15 %
  of stance), foot flat, then heel rise about the metatarsal heads to toe-off (from 55 %).
  At initial contact the back of the heel is ``overstride_cm`` ahead of the hip joint centre.
* **Swing foot.** A cubic Hermite spline of the ankle from toe-off, up behind the runner (heel
  recovery), forward past the next contact point and down onto it, continuous in position and
  velocity at both ends. With ``knee_reflexion_deg`` > 0 the knee is straightest
  ``knee_reflexion_lead_s`` before contact, at ``knee_flexion_ic_deg - knee_reflexion_deg``, and
  flexes from there onto the contact while the leg swings back (with 0, the knee is straightest
  exactly at contact).
* **Pelvis.** Height oscillates once per step (lowest at mid-stance; its mean is set so the knee is
  flexed at least ``knee_flexion_ic_deg`` at initial contact on both sides). Obliquity follows a bump during each stance
  peaking at 55 % of stance with the side's ``pelvic_drop_deg`` (swing side down). A small
  transverse rotation brings the hip of the forward leg forward.
* **Knee.** Two-segment inverse kinematics in the plane holding hip, ankle and a knee-direction
  vector; rotating that vector medially during stance moves the knee medially (dynamic valgus),
  by the angle that makes the frontal plane projection angle seen from behind equal
  ``knee_valgus_deg`` at peak knee flexion.
* **Upper body.** Trunk leaning ``trunk_lean_deg`` forward, shoulders counter-rotating the pelvis,
  arms swinging opposite the legs with bent elbows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.interpolate import CubicHermiteSpline

from ..geometry import angle_between_deg, fppa_deg
from .params import SynthParams

SIDES = ("left", "right")
#: Downward speed of the foot at initial contact (m/s), about 1 m/s in running.
TOUCHDOWN_VERTICAL_SPEED = 1.0
LATERAL = {"left": -1.0, "right": 1.0}  # z sign of each side (z points to the runner's right)


@dataclass(frozen=True)
class Body:
    """Segment dimensions in metres, scaled from stature. The default fractions are Winter's (2009,
    Biomechanics and Motor Control of Human Movement, anthropometric segment lengths as fractions of
    height); randomised runners vary thigh, shank, foot, hip width and trunk."""

    height: float
    thigh_fraction: float = 0.245
    shank_fraction: float = 0.246
    foot_fraction: float = 0.152
    hip_width_fraction: float = 0.100
    trunk_fraction: float = 0.288

    @classmethod
    def of(cls, p: SynthParams) -> "Body":
        return cls(p.height_m, p.thigh_fraction, p.shank_fraction, p.foot_fraction, p.hip_width_fraction,
                   p.trunk_fraction)

    @property
    def thigh(self): return self.thigh_fraction * self.height
    @property
    def shank(self): return self.shank_fraction * self.height
    @property
    def foot_length(self): return self.foot_fraction * self.height
    @property
    def ankle_height(self): return 0.045 * self.height
    @property
    def foot_radius(self): return 0.024 * self.height
    @property
    def hip_width(self): return self.hip_width_fraction * self.height  # between hip joint centres
    @property
    def trunk(self): return self.trunk_fraction * self.height          # hip-joint midpoint to shoulder midpoint
    @property
    def shoulder_width(self): return 0.200 * self.height  # between shoulder joint centres
    @property
    def upper_arm(self): return 0.186 * self.height
    @property
    def forearm(self): return 0.146 * self.height
    @property
    def head_radius(self): return 0.060 * self.height

    @property
    def leg_length(self):
        """Hip joint centre to the floor when standing (thigh + shank + ankle height)."""
        return self.thigh + self.shank + self.ankle_height

    # Points of the foot in its own sagittal frame: origin at the sole under the back of the heel,
    # x forward along the sole, y up.
    def foot_points(self) -> dict[str, np.ndarray]:
        L, r = self.foot_length, self.foot_radius
        return {
            "heel_centre": np.array([r, r]),
            "toe_centre": np.array([L - r, r]),
            "heel": np.array([0.0, r]),             # back of the heel (BlazePose's 'heel')
            "toe": np.array([L, r]),                # tip of the shoe (BlazePose's 'foot_index')
            "ankle": np.array([0.24 * L, self.ankle_height]),
            "heel_ground": np.array([r, 0.0]),      # pivot of the heel rocker
            "toe_ground": np.array([L - r, 0.0]),   # pivot of heel rise and toe-off
        }


def _rot2(theta):
    """(..., 2, 2) rotations by theta (radians), +theta turns +x toward +y (toes up)."""
    c, s = np.cos(theta), np.sin(theta)
    return np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)


def _smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _stance_bump(u, tc, peak_fraction):
    """0 outside stance, sin^2 bump inside, peaking at ``peak_fraction`` of stance."""
    x = np.clip(u / tc, 0.0, 1.0)
    gamma = np.log(0.5) / np.log(peak_fraction)
    b = np.sin(np.pi * x ** gamma) ** 2
    return np.where((u >= 0) & (u <= tc), b, 0.0)


def two_link_knee(hip, ankle, knee_dir, l1, l2):
    """Knee positions (N, 3) for hips and ankles (N, 3): the knee lies in the plane of hip, ankle
    and ``knee_dir`` (N, 3), on the ``knee_dir`` side. Returns knees and the hip-ankle distance
    before any clamping (for feasibility checks)."""
    d_vec = ankle - hip
    d_raw = np.linalg.norm(d_vec, axis=-1)
    d = np.clip(d_raw, abs(l1 - l2) + 1e-6, (l1 + l2) * (1 - 1e-9))
    axis = d_vec / d_raw[:, None]
    a = (l1 ** 2 - l2 ** 2 + d ** 2) / (2 * d)
    h = np.sqrt(np.maximum(l1 ** 2 - a ** 2, 0.0))
    perp = knee_dir - np.sum(knee_dir * axis, -1, keepdims=True) * axis
    perp /= np.linalg.norm(perp, axis=-1, keepdims=True)
    return hip + a[:, None] * axis + h[:, None] * perp, d_raw


class RunnerModel:
    """Joint trajectories of one synthetic runner. Evaluate with :meth:`joints` at any times."""

    GAMMA_PEAK_DROP = 0.55    # obliquity peaks at 55 % of stance
    HEEL_ROCKER_END = 0.15    # fraction of stance
    HEEL_RISE_START = 0.55
    TOE_OFF_FOOT_ANGLE = np.radians(-32.0)
    PELVIS_ROTATION = np.radians(5.0)

    def __init__(self, params: SynthParams):
        self.p = params
        self.body = Body.of(params)
        self.step_time = 60.0 / params.cadence_spm
        self.stride_time = 2 * self.step_time
        rng = np.random.default_rng(params.seed)
        self.t0 = float(rng.uniform(0.05, 0.05 + self.stride_time))  # first left contact
        self.ic_offset = {"left": self.t0, "right": self.t0 + self.step_time}
        self.side_index = {"left": 0, "right": 1}
        self._solve()

    # -- small helpers ----------------------------------------------------------------------
    def _side_value(self, name, side):
        return getattr(self.p, name)[self.side_index[side]]

    def phase(self, t, side):
        """Time since the side's most recent initial contact (s), in [0, stride)."""
        return np.mod(np.asarray(t, float) - self.ic_offset[side], self.stride_time)

    # -- pelvis ------------------------------------------------------------------------------
    def obliquity(self, t):
        """Pelvic obliquity (rad), + = the right hip joint lower than the left."""
        out = np.zeros_like(np.asarray(t, float))
        for side, sign in (("left", 1.0), ("right", -1.0)):
            drop = np.radians(self._side_value("pelvic_drop_deg", side))
            out = out + sign * drop * _stance_bump(self.phase(t, side), self.tc[side], self.GAMMA_PEAK_DROP)
        return out

    def pelvis_height(self, t):
        t = np.asarray(t, float)
        tc = 0.5 * (self.tc["left"] + self.tc["right"])
        mid = self.ic_offset["left"] + tc / 2
        return self.y_mean - 0.5 * self.vo * np.cos(2 * np.pi * (t - mid) / self.step_time)

    def pelvis_rotation(self, t):
        """Transverse rotation (rad): + brings the left hip forward (peaks at left contact)."""
        return self.PELVIS_ROTATION * np.cos(2 * np.pi * self.phase(t, "left") / self.stride_time)

    def hip_joint(self, t, side):
        t = np.asarray(t, float)
        w = self.body.hip_width / 2
        alpha = self.obliquity(t)
        rho = self.pelvis_rotation(t)
        s = LATERAL[side]
        # Lateral offset (0, 0, s*w) rotated by obliquity about x, then by rho about y.
        y = self.pelvis_height(t) - s * w * np.sin(alpha)
        zo = s * w * np.cos(alpha)
        x = -s * np.sin(rho) * w  # left (s=-1) forward when rho > 0
        z = zo * np.cos(rho)
        return np.stack([x, y, z], -1)

    # -- stance foot ---------------------------------------------------------------------------
    def _foot_angle_stance(self, u, side):
        tc = self.tc[side]
        th_ic = np.radians(self._side_value("foot_angle_ic_deg", side))
        u1, u2 = self.HEEL_ROCKER_END * tc, self.HEEL_RISE_START * tc
        rocker = th_ic * (1 - _smoothstep(u / u1))
        rise = self.TOE_OFF_FOOT_ANGLE * np.clip((u - u2) / (tc - u2), 0, 1) ** 2
        return np.where(u < u1, rocker, np.where(u < u2, 0.0, rise))

    def _stance_foot(self, u, side, belt0=None):
        """Foot frame origin (N, 2) in world x, y and foot angle (N,) during stance, u in [0, tc]."""
        fp = self.body.foot_points()
        tc = self.tc[side]
        theta = self._foot_angle_stance(u, side)
        belt0 = self.belt0[side] if belt0 is None else belt0
        anchor = belt0 - self.p.speed_mps * u  # world x of heel_ground when the foot is flat
        th_ic = self._side_value("foot_angle_ic_deg", side)
        first_pivot = fp["heel_ground"] if th_ic >= 0 else fp["toe_ground"]
        late = u >= self.HEEL_RISE_START * tc
        pivot_local = np.where(late[:, None], fp["toe_ground"], first_pivot)
        pivot_world = np.stack([anchor + (pivot_local[:, 0] - fp["heel_ground"][0]), np.zeros_like(u)], -1)
        origin = pivot_world - np.einsum("nij,nj->ni", _rot2(theta), pivot_local)
        return origin, theta

    def _foot_point(self, origin, theta, name):
        return origin + np.einsum("nij,j->ni", _rot2(theta), self.body.foot_points()[name])

    # -- solving the free constants ---------------------------------------------------------
    def _reach_squared(self, knee_flexion_deg):
        """Squared hip-ankle distance with the knee flexed ``knee_flexion_deg``."""
        l1, l2 = self.body.thigh, self.body.shank
        return l1 ** 2 + l2 ** 2 + 2 * l1 * l2 * np.cos(np.radians(knee_flexion_deg))

    def _knee_flexion_from_distance(self, d):
        l1, l2 = self.body.thigh, self.body.shank
        c = (l1 ** 2 + l2 ** 2 - d ** 2) / (2 * l1 * l2)
        return np.degrees(np.pi - np.arccos(np.clip(c, -1, 1)))

    def _solve(self):
        p, b = self.p, self.body
        self.vo = p.vertical_oscillation_cm / 100.0
        self.tc = {"left": 0.28, "right": 0.28}
        self.belt0 = {"left": 0.0, "right": 0.0}
        self.y_mean = b.leg_length
        for _ in range(6):
            # Belt anchor so the back of the heel is overstride ahead of the hip at contact.
            for side in SIDES:
                t_ic = self.ic_offset[side]
                hip = self.hip_joint(np.array([t_ic]), side)[0]
                origin, theta = self._stance_foot(np.array([0.0]), side, belt0=0.0)
                heel_x = self._foot_point(origin, theta, "heel")[0, 0]
                self.belt0[side] = hip[0] + self._side_value("overstride_cm", side) / 100.0 - heel_x
            # Pelvis mean height so the knee is flexed at least knee_flexion_ic_deg at contact on both
            # sides (exactly that on the side that reaches further).
            d_ic = np.sqrt(self._reach_squared(p.knee_flexion_ic_deg))
            shifts = []
            for side in SIDES:
                t_ic = self.ic_offset[side]
                hip = self.hip_joint(np.array([t_ic]), side)[0]
                origin, theta = self._stance_foot(np.array([0.0]), side)
                ankle = self._foot_point(origin, theta, "ankle")[0]
                dz = hip[2] - self._ankle_z(side)
                need_y = ankle[1] + np.sqrt(max(d_ic ** 2 - (hip[0] - ankle[0]) ** 2 - dz ** 2, 1e-6))
                shifts.append(need_y - hip[1])
            self.y_mean += float(np.min(shifts))
            # Contact time per side: knee flexed knee_flexion_to_deg at toe-off.
            d_to = np.sqrt(self._reach_squared(p.knee_flexion_to_deg))
            for side in SIDES:
                self.tc[side] = self._solve_contact_time(side, d_to)
        for side in SIDES:
            if self.tc[side] >= 0.95 * self.step_time:
                raise ValueError(
                    f"no flight phase: contact time {self.tc[side]:.3f} s exceeds the step time "
                    f"{self.step_time:.3f} s; raise the cadence or the speed")
        self.swing = {side: self._swing_spline(side) for side in SIDES}
        self.valgus_rotation = {side: self._solve_valgus(side) for side in SIDES}
        t = np.linspace(0, self.stride_time, 400, endpoint=False) + self.t0
        for side in SIDES:
            reach = self.leg(t, side)["reach"]
            if reach.max() > 0.999:
                raise ValueError(f"the {side} leg cannot reach its foot (hip-ankle distance "
                                 f"{reach.max():.3f} of leg length): parameters out of range")

    def _ankle_z(self, side):
        return LATERAL[side] * self.p.step_width_cm / 200.0

    def _solve_contact_time(self, side, d_target):
        lo, hi = 0.05, 0.9 * self.stride_time
        for _ in range(50):
            tc = 0.5 * (lo + hi)
            self.tc[side] = tc
            t_to = self.ic_offset[side] + tc
            hip = self.hip_joint(np.array([t_to]), side)[0]
            origin, theta = self._stance_foot(np.array([tc]), side)
            ankle = self._foot_point(origin, theta, "ankle")[0]
            d = np.sqrt((hip[0] - ankle[0]) ** 2 + (hip[1] - ankle[1]) ** 2 + (hip[2] - self._ankle_z(side)) ** 2)
            if d < d_target:
                lo = tc
            else:
                hi = tc
        return 0.5 * (lo + hi)

    def _swing_spline(self, side):
        """Swing of one side as splines over the phase u in [tc, stride]: the ankle (x, y) relative
        to the hip joint, and the foot angle. Working relative to the hip keeps the ankle within the
        leg's reach while the pelvis rises and falls."""
        tc, T, L = self.tc[side], self.stride_time, self.body.leg_length
        eps = 1e-4
        t_ic0 = self.ic_offset[side]

        def hip_xy(u):
            return self.hip_joint(t_ic0 + np.atleast_1d(np.asarray(u, float)), side)[:, :2]

        u = np.array([tc - eps, tc])
        o, th = self._stance_foot(u, side)
        a = self._foot_point(o, th, "ankle") - hip_xy(u)
        r_to, rv_to, th_to = a[1], (a[1] - a[0]) / eps, th[1]
        u = np.array([0.0, eps])
        o, th = self._stance_foot(u, side)
        a_world = self._foot_point(o, th, "ankle")
        r_ic, th_ic = a_world[0] - hip_xy(T)[0], th[0]
        hip_v_ic = (hip_xy(T + eps)[0] - hip_xy(T)[0]) / eps
        sw = T - tc
        knots = np.array([tc, tc + 0.38 * sw, tc + 0.78 * sw, T])
        recovery_height = float(np.clip(0.35 + 0.05 * self.p.speed_mps, 0.40, 0.65)) * L
        via1 = np.array([-0.32 * L, recovery_height]) - np.array([0.0, hip_xy(knots[1])[0, 1]])
        # Late swing: the foot reaches its most forward point a little ahead of and above the
        # contact point, then is pulled back and down onto it (swing-leg retraction): at contact it
        # moves backward at half the belt speed and down at TOUCHDOWN_VERTICAL_SPEED (at least;
        # faster when needed for the leg to be still lengthening as it lands, so it never
        # over-reaches).
        via2 = r_ic + np.array([0.04 * L, 0.09 * L])
        pts = np.array([r_to, via1, via2, r_ic])
        vel = np.zeros_like(pts)
        vel[0] = rv_to
        vx = -0.5 * self.p.speed_mps - hip_v_ic[0]
        lengthening = 0.05 * np.linalg.norm(r_ic)
        vy = min(-TOUCHDOWN_VERTICAL_SPEED - hip_v_ic[1], (lengthening - r_ic[0] * vx) / r_ic[1])
        vel[3] = np.array([vx, vy])
        if self.p.knee_reflexion_deg > 0:
            knot, at_knot, vel_knot, vel[3] = self._terminal_swing(side, r_ic, vel[3])
            # The most forward point comes before the knee is straightest.
            knots[2] = min(knots[2], knot - 0.05 * sw)
            if knots[2] <= knots[1]:
                raise ValueError("swing too short for the knee's re-flexion lead")
            knots = np.insert(knots, 3, knot)
            pts = np.insert(pts, 3, at_knot, axis=0)
            vel = np.insert(vel, 3, vel_knot, axis=0)
        vel[1] = (pts[2] - pts[0]) / (knots[2] - knots[0])
        vel[2] = (pts[3] - pts[1]) / (knots[3] - knots[1])
        vel[2, 0] = 0.0  # the most forward point
        ankle = CubicHermiteSpline(knots, pts, vel, axis=0)
        # The foot stops rotating about the toe as it leaves the belt, so the toe lifts at once.
        foot = CubicHermiteSpline([tc, T], [th_to, th_ic], [0.0, 0.0])
        return ankle, foot

    def _terminal_swing(self, side, r_ic, v_ic):
        """Terminal swing with the knee re-flexing before contact: the knee is straightest
        (``knee_flexion_ic_deg - knee_reflexion_deg``) ``knee_reflexion_lead_s`` before contact, and
        flexes from there onto the contact while the leg keeps swinging back. Works in the sagittal
        plane relative to the hip: the leg (hip to ankle) keeps the angular speed ``v_ic`` gives it
        at contact; its length peaks at the knot and shortens, along a parabola, to the contact.
        Returns the knot's phase, the ankle there and its velocity, and the ankle's velocity at
        contact."""
        p = self.p
        T, lead = self.stride_time, p.knee_reflexion_lead_s
        dz = self.hip_joint(np.array([self.ic_offset[side] + T - lead]), side)[0, 2] - self._ankle_z(side)
        d_max = np.sqrt(self._reach_squared(p.knee_flexion_ic_deg - p.knee_reflexion_deg) - dz ** 2)
        d_ic = float(np.linalg.norm(r_ic))
        e_r = r_ic / d_ic                          # along the leg, hip to ankle
        e_phi = np.array([-e_r[1], e_r[0]])        # perpendicular; + swings the foot forward
        omega = float(v_ic @ e_phi) / d_ic         # angular speed (negative: retraction)
        phi_ic = np.arctan2(r_ic[0], -r_ic[1])     # leg angle, + = foot ahead of the hip
        phi_k = phi_ic - omega * lead
        e_rk = np.array([np.sin(phi_k), -np.cos(phi_k)])
        e_phik = np.array([-e_rk[1], e_rk[0]])
        at_knot = d_max * e_rk
        vel_knot = omega * d_max * e_phik
        v_contact = 2 * (d_ic - d_max) / lead * e_r + omega * d_ic * e_phi
        return T - lead, at_knot, vel_knot, v_contact

    def _solve_valgus(self, side):
        """Medial rotation (rad) of the knee direction at peak stance that gives the target FPPA
        seen from directly behind (orthographic) at peak knee flexion."""
        target = self._side_value("knee_valgus_deg", side)
        if target == 0:
            return 0.0
        tc = self.tc[side]
        u = np.linspace(0, tc, 201)
        t = self.ic_offset[side] + u
        self.valgus_rotation = getattr(self, "valgus_rotation", {"left": 0.0, "right": 0.0})
        flex = self.knee_flexion(t, side)
        t_peak = t[np.argmax(flex)][None]

        def fppa_for(psi):
            self.valgus_rotation[side] = psi
            j = self.leg(t_peak, side)
            other = self.hip_joint(t_peak, "right" if side == "left" else "left")
            to2 = lambda a: np.stack([a[:, 2], -a[:, 1]], -1)  # rear view: image x = z, image y = -y
            return float(fppa_deg(to2(j["hip"]), to2(j["knee"]), to2(j["ankle"]), to2(other))[0])

        # FPPA grows monotonically with the medial rotation: bisect for the target.
        lo, hi = np.radians(-70.0), np.radians(70.0)
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if fppa_for(mid) < target:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    # -- legs ------------------------------------------------------------------------------
    def _foot(self, t, side):
        """Foot frame origin (N, 3) and foot angle (N,) at times t."""
        u = self.phase(t, side)
        tc = self.tc[side]
        stance = u <= tc
        o_st, th_st = self._stance_foot(np.where(stance, u, 0.0), side)
        ankle_spline, foot_spline = self.swing[side]
        us = np.where(stance, tc, u)
        a_sw = ankle_spline(us) + self.hip_joint(np.asarray(t, float), side)[:, :2]
        th_sw = foot_spline(us)
        fp = self.body.foot_points()
        o_sw = a_sw - np.einsum("nij,j->ni", _rot2(th_sw), fp["ankle"])
        origin = np.where(stance[:, None], o_st, o_sw)
        theta = np.where(stance, th_st, th_sw)
        z = np.full(origin.shape[0], self._ankle_z(side))
        return np.column_stack([origin, z]), theta, stance

    def knee_flexion(self, t, side):
        j = self.leg(np.asarray(t, float), side)
        return angle_between_deg(j["hip"] - j["knee"], j["ankle"] - j["knee"], supplement=True)

    def leg(self, t, side):
        """Hip, knee, ankle, heel, toe (N, 3 each), foot angle (N,) and stance flag (N,)."""
        t = np.atleast_1d(np.asarray(t, float))
        origin, theta, stance = self._foot(t, side)
        rot = _rot2(theta)
        fp = self.body.foot_points()

        def world(name):
            xy = origin[:, :2] + np.einsum("nij,j->ni", rot, fp[name])
            return np.column_stack([xy, origin[:, 2]])

        hip = self.hip_joint(t, side)
        ankle = world("ankle")
        psi = getattr(self, "valgus_rotation", {}).get(side, 0.0)
        psi_t = psi * _stance_bump(self.phase(t, side), self.tc[side], 0.5)
        medial = -LATERAL[side]
        knee_dir = np.stack([np.cos(psi_t), np.zeros_like(psi_t), medial * np.sin(psi_t)], -1)
        knee, d = two_link_knee(hip, ankle, knee_dir, self.body.thigh, self.body.shank)
        return {"hip": hip, "knee": knee, "ankle": ankle, "heel": world("heel"), "toe": world("toe"),
                "heel_centre": world("heel_centre"), "toe_centre": world("toe_centre"),
                "foot_angle": theta, "stance": stance, "reach": d / (self.body.thigh + self.body.shank)}

    # -- upper body -------------------------------------------------------------------------
    def upper_body(self, t):
        t = np.atleast_1d(np.asarray(t, float))
        b = self.body
        hl, hr = self.hip_joint(t, "left"), self.hip_joint(t, "right")
        pelvis = 0.5 * (hl + hr)
        lean = np.radians(self.p.trunk_lean_deg)
        axis = np.array([np.sin(lean), np.cos(lean), 0.0])
        sc = pelvis + b.trunk * axis
        rho_s = -1.5 * self.pelvis_rotation(t)
        out = {"pelvis": pelvis, "shoulder_centre": sc, "trunk_axis": np.broadcast_to(axis, sc.shape)}
        for side in SIDES:
            s = LATERAL[side]
            w = b.shoulder_width / 2
            sh = sc + np.stack([-s * np.sin(rho_s) * w, np.zeros_like(t), s * np.cos(rho_s) * w], -1)
            # Arm swing opposite the same-side leg: arm back at that side's contact.
            swing = np.radians(5.0) - np.radians(self.p.arm_swing_deg) * np.cos(
                2 * np.pi * self.phase(t, side) / self.stride_time)
            abduct = np.radians(10.0)
            upper = np.stack([np.sin(swing) * np.cos(abduct), -np.cos(swing) * np.cos(abduct),
                              s * np.full_like(t, np.sin(abduct))], -1)
            elbow = sh + b.upper_arm * upper
            flex = np.radians(80.0) + 0.25 * (swing - np.radians(5.0))
            ang = swing + flex
            fore = np.stack([np.sin(ang), -np.cos(ang), np.full_like(t, -s * 0.15)], -1)
            fore /= np.linalg.norm(fore, axis=-1, keepdims=True)
            wrist = elbow + b.forearm * fore
            out[f"{side}_shoulder"], out[f"{side}_elbow"], out[f"{side}_wrist"] = sh, elbow, wrist
        out["neck"] = sc + 0.045 * b.height * axis
        out["head"] = sc + 0.125 * b.height * axis + np.array([0.02 * b.height, 0, 0])
        return out

    def joints(self, t) -> dict[str, np.ndarray]:
        """All named points (N, 3) at times t: '<side>_<hip|knee|ankle|heel|toe|shoulder|elbow|wrist>',
        plus 'pelvis', 'shoulder_centre', 'neck', 'head', and per side the foot capsule ends."""
        t = np.atleast_1d(np.asarray(t, float))
        out = dict(self.upper_body(t))
        for side in SIDES:
            leg = self.leg(t, side)
            for k, v in leg.items():
                out[f"{side}_{k}"] = v
        return out

