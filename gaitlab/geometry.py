"""Pure numpy kernels on points with shape (..., 2) or (..., 3): angles, tilts, offsets.

No kernel knows about video, sides or views beyond its arguments; every signed result documents its
positive direction. Image points use y **down** (pixels), as everywhere in gaitlab.
"""

from __future__ import annotations

import numpy as np


def _cross2(a, b):
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def angle_between_deg(a, b, supplement: bool = False):
    """Angle between vectors (..., 2|3) in degrees, in [0, 180].

    With ``supplement`` returns ``180 - angle``, which for the vectors joint->proximal and
    joint->distal is the joint's flexion (0 = straight).
    """
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    cos = np.sum(a * b, -1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    ang = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    return 180.0 - ang if supplement else ang


def flexion_deg(proximal, joint, distal):
    """Flexion of a joint from three points (..., 2|3): 0 when the three are in a straight line."""
    joint = np.asarray(joint, float)
    return angle_between_deg(np.asarray(proximal, float) - joint, np.asarray(distal, float) - joint,
                             supplement=True)


def fppa_deg(hip, knee, ankle, medial_ref):
    """Frontal plane projection angle of the knee (..., 2 points), degrees.

    The angle between the thigh (hip->knee) and the shank (knee->ankle); 0 when hip, knee and ankle
    are collinear. Positive = **valgus**: the knee lies on the same side of the hip-ankle line as
    ``medial_ref`` (a point toward the body's midline, such as the other hip); negative = varus.
    Independent of whether the camera is behind or in front, and of image axis conventions.
    """
    hip, knee, ankle, ref = (np.asarray(p, float) for p in (hip, knee, ankle, medial_ref))
    dev = angle_between_deg(knee - hip, ankle - knee)
    line = ankle - hip
    side_knee = np.sign(_cross2(line, knee - hip))
    side_ref = np.sign(_cross2(line, ref - hip))
    sign = np.where(side_knee == 0, 1.0, np.where(side_knee == side_ref, 1.0, -1.0))
    return sign * dev


def tilt_deg(p_from, p_to, down=(0.0, 1.0)):
    """Signed angle (degrees) of the line p_from->p_to against the horizontal of the image.

    Horizontal is perpendicular to ``down`` (image y down by default; pass the measured vertical of
    a rolled camera). Positive when ``p_to`` is **lower** than ``p_from``.
    """
    p_from = np.asarray(p_from, float)
    p_to = np.asarray(p_to, float)
    down = np.asarray(down, float)
    down = down / np.linalg.norm(down, axis=-1, keepdims=True)
    right = np.stack([down[..., 1], -down[..., 0]], -1)  # image right for down = (0, 1)
    v = p_to - p_from
    along = np.sum(v * right, -1)
    drop = np.sum(v * down, -1)
    # Direction-agnostic: the angle of the line, sign from which end is lower.
    return np.degrees(np.arctan2(drop, np.abs(along)))


def angle_to_vertical_deg(p_top, p_bottom, forward, down=(0.0, 1.0)):
    """Signed inclination (degrees) of the segment p_top->p_bottom from the image vertical.

    Positive when ``p_bottom`` lies ahead of ``p_top`` in the direction ``forward`` (a unit image
    vector, e.g. (-1, 0) for a runner facing image-left). For the shank (knee->ankle) at initial
    contact, positive means the ankle lands ahead of the knee.
    """
    p_top = np.asarray(p_top, float)
    p_bottom = np.asarray(p_bottom, float)
    down = np.asarray(down, float)
    down = down / np.linalg.norm(down, axis=-1, keepdims=True)
    fwd = np.asarray(forward, float)
    v = p_bottom - p_top
    return np.degrees(np.arctan2(np.sum(v * fwd, -1), np.sum(v * down, -1)))


def segment_angle_from_horizontal_deg(p_back, p_front, forward, down=(0.0, 1.0)):
    """Signed angle (degrees) of the segment p_back->p_front above the image horizontal.

    Positive when ``p_front`` is higher than ``p_back`` (for heel->toe: toes up, a rearfoot strike).
    ``forward`` is the runner's facing direction in the image.
    """
    down = np.asarray(down, float)
    down = down / np.linalg.norm(down, axis=-1, keepdims=True)
    v = np.asarray(p_front, float) - np.asarray(p_back, float)
    return np.degrees(np.arctan2(-np.sum(v * down, -1), np.sum(v * np.asarray(forward, float), -1)))


def signed_offset(p, origin, direction):
    """Component of ``p - origin`` along the unit vector ``direction`` (..., 2)."""
    return np.sum((np.asarray(p, float) - np.asarray(origin, float)) * np.asarray(direction, float), -1)


def project_onto_line(p, through, unit):
    """The point of the line through ``through`` along the unit vector ``unit`` nearest ``p`` (..., 2)."""
    through, unit = np.asarray(through, float), np.asarray(unit, float)
    return through + unit * signed_offset(p, through, unit)[..., None]


def frontal_inclination_deg(p_top, p_bottom, medial_ref, down=(0.0, 1.0)):
    """Inclination (degrees) of the segment p_top->p_bottom from the image vertical, in a frontal
    view, positive when ``p_bottom`` lies on the ``medial_ref`` side of ``p_top`` (toward the
    midline). For the femur (hip->knee) with the other hip as reference this is hip adduction."""
    p_top = np.asarray(p_top, float)
    down = np.asarray(down, float)
    down = down / np.linalg.norm(down, axis=-1, keepdims=True)
    right = np.stack([down[..., 1], -down[..., 0]], -1)
    medial = np.sign(np.sum((np.asarray(medial_ref, float) - p_top) * right, -1))
    medial = np.where(medial == 0, 1.0, medial)
    return angle_to_vertical_deg(p_top, p_bottom, medial[..., None] * right, down)


def rotate_points(points, angle_deg, centre):
    """Rotate image points (..., 2) by ``angle_deg`` about ``centre``; positive turns +x toward +y
    (clockwise on screen, since y points down)."""
    a = np.radians(angle_deg)
    c, s = np.cos(a), np.sin(a)
    p = np.asarray(points, float) - np.asarray(centre, float)
    return np.stack([c * p[..., 0] - s * p[..., 1], s * p[..., 0] + c * p[..., 1]], -1) + np.asarray(centre, float)
