"""A small analytic ray caster in numpy: capsules, ellipsoids, axis-aligned boxes and planes.

Each primitive is intersected only with the rays inside its projected screen rectangle, so a frame
costs roughly the figure's area, not the image's. Shading is Lambertian with two lights and a
hemispherical ambient term: enough for the lit, volumetric look that BlazePose detects, and fully
deterministic (no GPU, no OpenGL).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class Camera:
    """Pinhole camera. ``roll_deg`` rotates the camera about its viewing axis; positive roll makes a
    level world line appear with its right end lower in the image (y down)."""

    position: np.ndarray
    target: np.ndarray
    width: int
    height: int
    vertical_fov_deg: float
    roll_deg: float = 0.0

    @property
    def focal_px(self) -> float:
        return 0.5 * self.height / np.tan(np.radians(self.vertical_fov_deg) / 2)

    def basis(self):
        """Unit vectors (right, up, forward) of the camera in world coordinates."""
        return self._basis

    @cached_property
    def _basis(self):
        # Computed once per camera: every primitive of every frame projects through it.
        f = np.asarray(self.target, float) - np.asarray(self.position, float)
        f /= np.linalg.norm(f)
        r = np.cross(f, [0.0, 1.0, 0.0])
        r /= np.linalg.norm(r)
        u = np.cross(r, f)
        a = np.radians(self.roll_deg)
        # Turning (right, up) about the viewing axis; for roll > 0 a level world line appears
        # rotated clockwise on screen (its right end lower).
        r2 = np.cos(a) * r + np.sin(a) * u
        u2 = -np.sin(a) * r + np.cos(a) * u
        return r2, u2, f

    def project(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) world points -> (..., 2) pixel coordinates (x right, y down), pixel centres at +0.5."""
        r, u, f = self.basis()
        d = np.asarray(points, float) - np.asarray(self.position, float)
        xc, yc, zc = d @ r, d @ u, d @ f
        fp = self.focal_px
        return np.stack([self.width / 2 + fp * xc / zc, self.height / 2 - fp * yc / zc], -1)

    def ray_directions(self, scale: int = 1) -> np.ndarray:
        """(H*scale, W*scale, 3) unit ray directions through pixel centres (float32)."""
        r, u, f = self.basis()
        h, w = self.height * scale, self.width * scale
        fp = self.focal_px * scale
        xs = (np.arange(w) + 0.5 - w / 2) / fp
        ys = (np.arange(h) + 0.5 - h / 2) / fp
        d = f[None, None, :] + xs[None, :, None] * r[None, None, :] - ys[:, None, None] * u[None, None, :]
        d /= np.linalg.norm(d, axis=-1, keepdims=True)
        return d.astype(np.float32)


class Canvas:
    """Depth, normal and material buffers for one frame at render resolution."""

    def __init__(self, camera: Camera, dirs: np.ndarray, depth: np.ndarray, normal: np.ndarray,
                 material: np.ndarray, scale: int):
        self.camera = camera
        self.dirs = dirs
        self.depth = depth
        self.normal = normal
        self.material = material
        self.scale = scale
        self.origin = np.asarray(camera.position, np.float32)
        self.h, self.w = depth.shape

    def _rect(self, lo: np.ndarray, hi: np.ndarray):
        """Screen rectangle (render pixels) covering the 3D box lo..hi, or None if off-screen."""
        corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
        r, u, f = self.camera.basis()
        d = corners - self.origin
        zc = d @ f
        if np.any(zc <= 1e-3):
            return 0, self.h, 0, self.w
        px = self.camera.project(corners) * self.scale
        x0 = int(max(np.floor(px[:, 0].min()) - 1, 0))
        x1 = int(min(np.ceil(px[:, 0].max()) + 1, self.w))
        y0 = int(max(np.floor(px[:, 1].min()) - 1, 0))
        y1 = int(min(np.ceil(px[:, 1].max()) + 1, self.h))
        if x0 >= x1 or y0 >= y1:
            return None
        return y0, y1, x0, x1

    def _commit(self, sl, t, normal, material_id):
        hit = np.isfinite(t) & (t > 0) & (t < self.depth[sl])
        if not hit.any():
            return
        self.depth[sl][hit] = t[hit]
        self.normal[sl][hit] = normal[hit]
        self.material[sl][hit] = material_id

    def capsule(self, a, b, radius: float, material_id: int):
        a = np.asarray(a, np.float32)
        b = np.asarray(b, np.float32)
        lo = np.minimum(a, b) - radius
        hi = np.maximum(a, b) + radius
        rect = self._rect(lo, hi)
        if rect is None:
            return
        y0, y1, x0, x1 = rect
        sl = (slice(y0, y1), slice(x0, x1))
        rd = self.dirs[sl]
        ro = self.origin
        ba = b - a
        oa = ro - a
        baba = float(ba @ ba)
        bard = rd @ ba
        baoa = float(ba @ oa)
        rdoa = rd @ oa
        oaoa = float(oa @ oa)
        A = baba - bard * bard
        B = baba * rdoa - baoa * bard
        C = baba * oaoa - baoa * baoa - radius * radius * baba
        h = B * B - A * C
        t = np.full(A.shape, np.inf, np.float32)
        ok = h >= 0
        with np.errstate(invalid="ignore", divide="ignore"):
            tb = (-B - np.sqrt(np.where(ok, h, 0))) / A
            y = baoa + tb * bard
            body = ok & (y > 0) & (y < baba)
            t = np.where(body, tb, t)
            # Hemispherical caps.
            cap_centre_is_a = y <= 0
            oc = np.where(cap_centre_is_a[..., None], oa, ro - b)
            Bc = np.sum(rd * oc, -1)
            Cc = np.sum(oc * oc, -1) - radius * radius
            hc = Bc * Bc - Cc
            tc = -Bc - np.sqrt(np.where(hc > 0, hc, 0))
            caps = ok & ~body & (hc > 0)
            t = np.where(caps, tc, t)
        t = np.where(np.isfinite(t), t, np.inf).astype(np.float32)
        p = ro + np.where(np.isfinite(t), t, 0)[..., None] * rd
        s = np.clip(((p - a) @ ba) / baba, 0, 1)
        n = p - (a + s[..., None] * ba)
        n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-9)
        self._commit(sl, t, n, material_id)

    def ellipsoid(self, centre, rotation, radii, material_id: int):
        """``rotation`` (3, 3): columns are the ellipsoid's axes in world coordinates."""
        c = np.asarray(centre, np.float32)
        R = np.asarray(rotation, np.float32)
        rad = np.asarray(radii, np.float32)
        ext = np.abs(R) @ rad
        rect = self._rect(c - ext, c + ext)
        if rect is None:
            return
        y0, y1, x0, x1 = rect
        sl = (slice(y0, y1), slice(x0, x1))
        rd = self.dirs[sl]
        M = (R / rad[None, :]).T  # world -> unit-sphere coordinates
        o = M @ (self.origin - c)
        d = rd @ M.T
        a = np.sum(d * d, -1)
        b = d @ o
        cc = float(o @ o) - 1.0
        h = b * b - a * cc
        with np.errstate(invalid="ignore"):
            t = np.where(h >= 0, (-b - np.sqrt(np.where(h >= 0, h, 0))) / a, np.inf).astype(np.float32)
        q = o + np.where(np.isfinite(t), t, 0)[..., None] * d  # point on the unit sphere
        n = q @ (M)  # gradient: M^T q, written as row vectors
        n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-9)
        self._commit(sl, t, n, material_id)

    def repaint(self, centre, axis, lo, hi, materials, edges, new_materials):
        """Re-colour the surfaces already drawn, as fabric fixed to a body part is coloured: in the
        screen rectangle of the box ``lo``..``hi``, every pixel whose material is one of
        ``materials`` takes ``new_materials[k]``, k the band of ``edges`` (ascending heights along
        ``axis`` from ``centre``) that its surface point falls in. Surfaces drawn later cover it as usual."""
        rect = self._rect(np.asarray(lo, np.float32), np.asarray(hi, np.float32))
        if rect is None:
            return
        y0, y1, x0, x1 = rect
        sl = (slice(y0, y1), slice(x0, x1))
        mat = self.material[sl]
        sel = np.isin(mat, list(materials)) & np.isfinite(self.depth[sl])
        if not sel.any():
            return
        p = self.origin + self.depth[sl][sel][:, None] * self.dirs[sl][sel]
        height = (p - np.asarray(centre, np.float32)) @ np.asarray(axis, np.float32)
        mat[sel] = np.asarray(new_materials)[np.searchsorted(np.asarray(edges), height)]


def intersect_box(origin, dirs, lo, hi):
    """Ray-box (axis-aligned) intersection for all rays: distance (H, W) and normal (H, W, 3)."""
    o = np.asarray(origin, np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / dirs
        t1 = (np.asarray(lo, np.float32) - o) * inv
        t2 = (np.asarray(hi, np.float32) - o) * inv
    tmin = np.minimum(t1, t2)
    tmax = np.maximum(t1, t2)
    t_enter = np.nanmax(tmin, axis=-1)
    t_exit = np.nanmin(tmax, axis=-1)
    hit = (t_enter <= t_exit) & (t_exit > 0) & (t_enter > 0)
    t = np.where(hit, t_enter, np.inf).astype(np.float32)
    axis = np.argmax(tmin, axis=-1)
    normal = np.zeros(dirs.shape, np.float32)
    sign = -np.sign(np.take_along_axis(dirs, axis[..., None], -1))[..., 0]
    np.put_along_axis(normal, axis[..., None], sign[..., None], -1)
    return t, normal


def intersect_plane(origin, dirs, point, normal):
    """Ray-plane intersection: distance (H, W) (inf where parallel or behind)."""
    n = np.asarray(normal, np.float32)
    denom = dirs @ n
    with np.errstate(divide="ignore", invalid="ignore"):
        t = ((np.asarray(point, np.float32) - np.asarray(origin, np.float32)) @ n) / denom
    return np.where((t > 0) & np.isfinite(t), t, np.inf).astype(np.float32)


def shade(normal, albedo, light_dirs, light_power, ambient=0.32, hemi=0.12):
    """Lambertian shading: (H, W, 3) normals and albedo (0..1) -> linear colour (H, W, 3)."""
    light = ambient + hemi * normal[..., 1:2]
    for ldir, power in zip(light_dirs, light_power):
        ld = np.asarray(ldir, np.float32)
        ld = ld / np.linalg.norm(ld)
        light = light + power * np.clip(normal @ ld, 0, None)[..., None]
    return albedo * light
