"""The landmarks container: one runner's 33 BlazePose keypoints over time, with provenance.

Axis 0 of every array is time (one entry per decoded frame, including frames where no person was
found, which hold NaN coordinates and zero visibility). Keypoints follow
:data:`gaitlab.schema.KEYPOINTS`; the last axis of ``image`` and ``world`` is ``(x, y, z)``.

============  ===========  =====================================================================
array         shape        meaning
============  ===========  =====================================================================
frame         (T,)         decoded frame index (int64)
time          (T,)         seconds from the first frame, from container timestamps (float64)
image         (T, 33, 3)   x, y pixels in the upright frame (y down); z relative depth (pixels)
world         (T, 33, 3)   metres, origin between the hips (BlazePose's estimate)
visibility    (T, 33)      probability the keypoint is visible, 0..1
presence      (T, 33)      probability the keypoint is in the frame, 0..1
============  ===========  =====================================================================

``attrs`` holds provenance: the video (name, sha256, size, fps, rotation...), the model (file,
sha256, MediaPipe version), gaitlab's version, the pose configuration and how the runner was
chosen. Files are Parquet tables in tidy long form (one row per frame and keypoint) with the attrs
as JSON in the file's metadata; :meth:`Landmarks.save` and :meth:`Landmarks.load` round-trip
exactly.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import LandmarksFileError
from .io.files import atomic_path, atomic_write, regular_file, stat_path
from .schema import (BODY_KEYPOINTS, KEYPOINT_INDEX, KEYPOINTS, MAX_COORDINATE_PX, blazepose_arrays, blazepose_slots,
                     body_found)

FORMAT_NAME = "gaitlab-landmarks"
FORMAT_VERSION = 1
_META_KEY = b"gaitlab"

#: Frames written to a landmarks file at a time.
SAVE_CHUNK_FRAMES = 2000

COLUMNS = ("frame", "time_s", "keypoint", "x_px", "y_px", "z_px",
           "world_x_m", "world_y_m", "world_z_m", "visibility", "presence")


@dataclass(frozen=True, eq=False)
class Landmarks:
    frame: np.ndarray
    time: np.ndarray
    image: np.ndarray
    world: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    attrs: dict = field(default_factory=dict)
    #: Optional per-frame signals measured from the pixels during the pose pass, each (T,) float,
    #: e.g. ``scene_change`` (see :mod:`gaitlab.pose.estimate`).
    frame_signals: dict = field(default_factory=dict)

    def __post_init__(self):
        t = np.asarray(self.frame).shape[0]
        k = len(KEYPOINTS)
        expected = {
            "frame": (t,), "time": (t,), "image": (t, k, 3), "world": (t, k, 3),
            "visibility": (t, k), "presence": (t, k),
        }
        for name, shape in expected.items():
            arr = np.asarray(getattr(self, name))
            if arr.shape != shape:
                raise ValueError(f"Landmarks.{name} has shape {arr.shape}, expected {shape}")
        for name, arr in self.frame_signals.items():
            if np.asarray(arr).shape != (t,):
                raise ValueError(f"Landmarks.frame_signals[{name!r}] has shape {np.asarray(arr).shape}, expected {(t,)}")
        object.__setattr__(self, "frame_signals",
                           {k: np.asarray(v, dtype=np.float32) for k, v in self.frame_signals.items()})
        object.__setattr__(self, "frame", np.asarray(self.frame, dtype=np.int64))
        object.__setattr__(self, "time", np.asarray(self.time, dtype=np.float64))
        for name in ("image", "world", "visibility", "presence"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.float32))

    # -- basic properties -------------------------------------------------------------------
    @property
    def n_frames(self) -> int:
        return int(self.frame.shape[0])

    @property
    def detected(self) -> np.ndarray:
        """(T,) True where a person was found in the frame: the body keypoints the analysis
        needs (:data:`BODY_KEYPOINTS`) are there. BlazePose gives all or none; keypoints imported
        from other tools may lack the rest."""
        return body_found(self.image)

    @property
    def fps(self) -> float:
        """Median frame rate from the timestamps (frames per second of video time)."""
        if self.n_frames < 2:
            return float("nan")
        dt = np.diff(self.time) / np.maximum(np.diff(self.frame), 1)
        return float(1.0 / np.median(dt))

    @property
    def width(self) -> int:
        return int(self.attrs.get("video", {}).get("width", 0))

    @property
    def height(self) -> int:
        return int(self.attrs.get("video", {}).get("height", 0))

    def xy(self, keypoint: str) -> np.ndarray:
        """(T, 2) image x, y in pixels of one keypoint."""
        return self.image[:, KEYPOINT_INDEX[keypoint], :2]

    def vis(self, keypoint: str) -> np.ndarray:
        """(T,) visibility of one keypoint."""
        return self.visibility[:, KEYPOINT_INDEX[keypoint]]

    def replace(self, **changes) -> "Landmarks":
        """A copy with some arrays or attrs replaced (the container is never mutated)."""
        fields = {name: getattr(self, name) for name in
                  ("frame", "time", "image", "world", "visibility", "presence", "attrs", "frame_signals")}
        fields.update(changes)
        return Landmarks(**fields)

    def select(self, index) -> "Landmarks":
        """A copy holding only the frames picked by ``index`` (a slice, mask or index array)."""
        return self.replace(frame=self.frame[index], time=self.time[index], image=self.image[index],
                            world=self.world[index], visibility=self.visibility[index],
                            presence=self.presence[index],
                            frame_signals={k: v[index] for k, v in self.frame_signals.items()})

    # -- tidy table -------------------------------------------------------------------------
    def to_dataframe(self) -> pd.DataFrame:
        """Long table: one row per frame and keypoint, columns :data:`COLUMNS` (and one
        ``frame:<name>`` column per frame signal, repeated on the frame's rows)."""
        t, k = self.n_frames, len(KEYPOINTS)
        extra = {f"frame:{name}": np.repeat(v, k) for name, v in self.frame_signals.items()}
        return pd.DataFrame({
            "frame": np.repeat(self.frame, k),
            "time_s": np.repeat(self.time, k),
            "keypoint": pd.Categorical(np.tile(np.array(KEYPOINTS), t), categories=list(KEYPOINTS)),
            "x_px": self.image[:, :, 0].ravel(),
            "y_px": self.image[:, :, 1].ravel(),
            "z_px": self.image[:, :, 2].ravel(),
            "world_x_m": self.world[:, :, 0].ravel(),
            "world_y_m": self.world[:, :, 1].ravel(),
            "world_z_m": self.world[:, :, 2].ravel(),
            "visibility": self.visibility.ravel(),
            "presence": self.presence.ravel(),
            **extra,
        })

    @classmethod
    def from_dataframe(cls, df: pd.DataFrame, attrs: dict | None = None) -> "Landmarks":
        """Inverse of :meth:`to_dataframe`; rows may come in any order but must be complete."""
        missing = [c for c in COLUMNS if c not in df.columns]
        if missing:
            raise LandmarksFileError(f"landmarks table lacks columns: {', '.join(missing)}")
        k = len(KEYPOINTS)
        kp = df["keypoint"].astype(str).map(KEYPOINT_INDEX)
        if kp.isna().any():
            raise LandmarksFileError("landmarks table has unknown keypoint names")
        numbers = {c: pd.to_numeric(df[c], errors="coerce") for c in COLUMNS if c != "keypoint"}
        for c, v in numbers.items():
            if (v.isna() & df[c].notna()).any():
                raise LandmarksFileError(f"landmarks table column {c} holds values that are not numbers")
        frame = numbers["frame"].to_numpy(dtype=float)
        if not (np.isfinite(frame).all() and (frame == np.round(frame)).all() and (frame >= 0).all()
                and (frame < 2 ** 53).all()):
            raise LandmarksFileError("landmarks table column frame holds values that are not frame numbers")
        frame = frame.astype(np.int64)
        frames = np.unique(frame)
        key = frame * k + kp.to_numpy(dtype=np.int64) if frames.size else frame
        if len(df) != frames.size * k or np.unique(key).size != len(df):
            raise LandmarksFileError("landmarks table is incomplete: every frame needs all 33 keypoints")
        order = np.lexsort((kp.to_numpy(), frame))
        d = df.iloc[order]
        t = frames.size

        def grid(col):
            return pd.to_numeric(d[col], errors="coerce").to_numpy(dtype=np.float32).reshape(t, k)

        signals = {c[len("frame:"):]: grid(c)[:, 0] for c in d.columns if isinstance(c, str) and c.startswith("frame:")}
        return cls(
            frame=frames,
            frame_signals=signals,
            time=pd.to_numeric(d["time_s"]).to_numpy(dtype=np.float64).reshape(t, k)[:, 0],
            image=np.stack([grid("x_px"), grid("y_px"), grid("z_px")], axis=-1),
            world=np.stack([grid("world_x_m"), grid("world_y_m"), grid("world_z_m")], axis=-1),
            visibility=grid("visibility"),
            presence=grid("presence"),
            attrs=dict(attrs or {}),
        )

    # -- exports ----------------------------------------------------------------------------
    def to_trc(self, path: str | os.PathLike) -> Path:
        """Write the world landmarks as an OpenSim marker file (``.trc``): one marker per keypoint,
        metres, OpenSim's axes (Y up): BlazePose's world x, -y, -z (its y points down and its z
        toward the camera). Frames without a person are left blank, as OpenSim expects for gaps."""
        path = Path(path)
        n, k = self.n_frames, len(KEYPOINTS)
        rate = self.fps if np.isfinite(self.fps) else 0.0
        xyz = self.world.astype(float) * np.array([1.0, -1.0, -1.0])
        lines = [f"PathFileType\t4\t(X/Y/Z)\t{path.name}",
                 "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
                 f"{rate:.3f}\t{rate:.3f}\t{n}\t{k}\tm\t{rate:.3f}\t1\t{n}",
                 "Frame#\tTime\t" + "\t\t\t".join(KEYPOINTS) + "\t\t",
                 "\t\t" + "\t".join(f"X{i}\tY{i}\tZ{i}" for i in range(1, k + 1)), ""]
        cells = np.where(np.isfinite(xyz), np.char.mod("%.5f", xyz), "").reshape(n, 3 * k)
        body = [f"{i + 1}\t{t:.5f}\t" + "\t".join(row) for i, (t, row) in enumerate(zip(self.time, cells))]
        return atomic_write(path, "\n".join(lines + body) + "\n")

    def to_movement(self):
        """The image landmarks as an xarray Dataset in the layout of the ``movement`` package's pose
        datasets: ``position`` (time, space, keypoints, individuals) in pixels and ``confidence``
        (time, keypoints, individuals) = visibility, time in seconds; beside them ``world_position``
        (metres), ``frame`` and the provenance as JSON in the attribute ``gaitlab_attrs``.
        Needs xarray (``pip install 'gaitlab[export]'``)."""
        xr = _xarray()
        image = self.image[:, :, :2].transpose(0, 2, 1)[..., None]
        world = self.world.transpose(0, 2, 1)[..., None]
        return xr.Dataset(
            {"position": (("time", "space", "keypoints", "individuals"), image),
             "confidence": (("time", "keypoints", "individuals"), self.visibility[..., None]),
             "world_position": (("time", "world_space", "keypoints", "individuals"), world),
             "frame": (("time",), self.frame.astype(np.int32))},
            coords={"time": self.time, "space": ["x", "y"], "world_space": ["x", "y", "z"],
                    "keypoints": list(KEYPOINTS), "individuals": ["runner"]},
            attrs={"ds_type": "poses", "fps": float(self.fps) if np.isfinite(self.fps) else 0.0,
                   "time_unit": "seconds", "source_software": "gaitlab (MediaPipe BlazePose)",
                   "source_file": str(self.attrs.get("video", {}).get("name", "")),
                   "gaitlab_attrs": json.dumps(self.attrs, default=_json_default)})

    @classmethod
    def from_movement(cls, ds, individual: str | None = None) -> "Landmarks":
        """Landmarks from a ``movement`` pose dataset (from gaitlab, or from any tool movement
        reads: DeepLabCut, SLEAP, LightningPose...). Keypoints are matched by BlazePose's names
        (:data:`gaitlab.schema.KEYPOINTS`); others are ignored and missing ones stay empty.
        ``individual``: which one to take (default: the first)."""
        for var in ("position", "confidence"):
            if var not in ds:
                raise LandmarksFileError(f"not a movement pose dataset (no {var!r} variable)")
        pick = {"individuals": individual} if individual is not None else {"individuals": 0}
        sel = (lambda v: v.sel(pick)) if individual is not None else (lambda v: v.isel(pick))
        position = sel(ds["position"]).transpose("time", "keypoints", "space")
        confidence = sel(ds["confidence"]).transpose("time", "keypoints")
        names = [str(k) for k in ds["keypoints"].values]
        if not set(names) & set(KEYPOINTS):
            raise LandmarksFileError("the dataset names none of BlazePose's keypoints (gaitlab.schema.KEYPOINTS)")
        t = len(ds["time"])
        image, vis = blazepose_arrays(names, position.sel(space=["x", "y"]).values, confidence.values)
        world = np.full((t, len(KEYPOINTS), 3), np.nan, np.float32)
        if "world_position" in ds:
            ours, theirs = blazepose_slots(names)
            w = sel(ds["world_position"]).transpose("time", "keypoints", "world_space").values
            world[:, ours] = w[:, theirs]
        attrs = json.loads(ds.attrs["gaitlab_attrs"]) if "gaitlab_attrs" in ds.attrs else {
            "imported_from": {"software": str(ds.attrs.get("source_software", "")),
                              "file": str(ds.attrs.get("source_file", ""))}}
        time = np.asarray(ds["time"].values, float)
        fps = float(ds.attrs.get("fps") or 0.0)
        if ds.attrs.get("time_unit") == "frames":
            if not fps > 0:
                raise LandmarksFileError("the dataset counts time in frames and gives no fps")
            time = time / fps
        frame = ds["frame"].values if "frame" in ds else np.arange(t)
        return cls(frame=frame, time=time - time[0] if t else time, image=image, world=world,
                   visibility=vis, presence=vis.copy(), attrs=attrs)

    def to_netcdf(self, path: str | os.PathLike) -> Path:
        """Write :meth:`to_movement` as a NetCDF file (atomically), which ``movement`` and xarray read."""
        path = Path(path)
        with atomic_path(path) as tmp:
            self.to_movement().to_netcdf(tmp, engine="scipy")
        return path

    # -- files ------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write a Parquet file (atomically: a temporary name, then renamed), a few thousand frames
        at a time so that saving a long clip does not hold a second copy of it in memory."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = Path(path)
        first = pa.Table.from_pandas(self.select(slice(0, SAVE_CHUNK_FRAMES)).to_dataframe(), preserve_index=False)
        meta = dict(first.schema.metadata or {})
        meta[_META_KEY] = json.dumps({"format": FORMAT_NAME, "version": FORMAT_VERSION,
                                      "attrs": self.attrs}, default=_json_default).encode()
        schema = first.schema.with_metadata(meta)
        with atomic_path(path) as tmp, pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            writer.write_table(first.cast(schema))
            for start in range(SAVE_CHUNK_FRAMES, self.n_frames, SAVE_CHUNK_FRAMES):
                chunk = self.select(slice(start, start + SAVE_CHUNK_FRAMES)).to_dataframe()
                writer.write_table(pa.Table.from_pandas(chunk, schema=schema, preserve_index=False))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, fps: float | None = None) -> "Landmarks":
        """Read a file written by :meth:`save`, a NetCDF pose dataset (``.nc``, see
        :meth:`from_movement`), or keypoints of another pose tool: an OpenPose output folder or an
        AlphaPose ``.json`` file (:mod:`gaitlab.io.keypoints`), which need the clip's ``fps``."""
        import pyarrow.parquet as pq

        from .io.keypoints import is_foreign, read_keypoints

        path = Path(path)
        st = stat_path(path, LandmarksFileError, "landmarks")
        if st is None:
            raise LandmarksFileError(f"landmarks file not found: {path}")
        if is_foreign(path):
            return checked(cls(**read_keypoints(path, fps)), path)
        regular_file(path, LandmarksFileError, "landmarks")
        if path.suffix.lower() == ".nc":
            xr = _xarray()
            try:
                with xr.open_dataset(path, engine="scipy") as ds:
                    ds = ds.load()
            except Exception:  # xarray and scipy raise several types for unreadable input
                raise LandmarksFileError(f"{path.name} is not a readable NetCDF file") from None
            try:
                return checked(cls.from_movement(ds), path)
            except (KeyError, ValueError, TypeError, IndexError, AttributeError):
                raise LandmarksFileError(f"{path.name} is not a movement pose dataset gaitlab can read") from None
        try:
            table = pq.read_table(path)
        except Exception:  # pyarrow raises several types for non-Parquet input
            raise LandmarksFileError(f"{path.name} is not a gaitlab landmarks file (not Parquet)") from None
        raw = (table.schema.metadata or {}).get(_META_KEY)
        try:
            meta = json.loads(raw) if raw else {}
        except (ValueError, RecursionError):
            meta = {}
        if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
            raise LandmarksFileError(f"{path.name} is not a gaitlab landmarks file")
        version = meta.get("version", 0)
        if isinstance(version, bool) or not isinstance(version, int):
            raise LandmarksFileError(f"{path.name} is a damaged gaitlab landmarks file (its format version is "
                                     "not a number)")
        if version > FORMAT_VERSION:
            raise LandmarksFileError(f"{path.name} was written by a newer gaitlab (format {version})")
        attrs = check_attrs(meta.get("attrs", {}), path.name)
        try:
            df = table.to_pandas()
        except Exception:  # pyarrow raises several types for columns it cannot convert
            raise LandmarksFileError(f"{path.name} is a damaged gaitlab landmarks file") from None
        return checked(cls.from_dataframe(df, attrs=attrs), path)


#: Types of the provenance entries gaitlab writes (and reads back) in a landmarks file's ``attrs``;
#: nested dicts give the types of their own entries. Entries not named here are kept as they are.
NUMBER = (int, float)
ATTR_TYPES = {
    "gaitlab_version": str, "timestamps": str, "first_frame_time_s": NUMBER, "frames_decoded": int,
    "detected_fraction": NUMBER, "pose_passes": int, "pose_chunks": int, "pose_seconds": NUMBER,
    "processing": list, "pose_config": dict,
    "video": {"path": str, "name": str, "size_bytes": int, "sha256": str, "width": int, "height": int,
              "rotation_deg": int, "fps_nominal": NUMBER, "frame_count": int, "duration_s": NUMBER, "codec": str},
    "model": {"path": str, "name": str, "sha256": str, "bundled": bool},
    "subject": {"runner_height_fraction": NUMBER, "runner_centre_x_fraction": NUMBER},
    "time_scale": {"capture_fps": NUMBER, "container_fps": NUMBER, "factor": NUMBER},
    "imported_from": {"software": str, "layout": str, "file": str, "fps": NUMBER},
}


def _type_ok(value, kind) -> bool:
    if isinstance(kind, dict):
        return isinstance(value, dict) and all(k not in value or _type_ok(value[k], t) for k, t in kind.items())
    if kind is int or kind is NUMBER:
        ok = isinstance(value, kind) and not isinstance(value, bool)
        return ok and (kind is int or np.isfinite(value))
    return isinstance(value, kind)


def check_attrs(attrs, name: str) -> dict:
    """A landmarks file's provenance, checked against :data:`ATTR_TYPES` (a file edited by hand or
    by another tool is refused in one line instead of failing later)."""
    if not isinstance(attrs, dict):
        raise LandmarksFileError(f"{name} is a damaged gaitlab landmarks file (its metadata is not a JSON object)")
    for key, kind in ATTR_TYPES.items():
        if key in attrs and not _type_ok(attrs[key], kind):
            raise LandmarksFileError(f"{name} is a damaged gaitlab landmarks file (its metadata entry {key!r} "
                                     "is not what gaitlab writes)")
    return attrs


def checked(lm: Landmarks, path: Path) -> Landmarks:
    """Landmarks read from a file, made safe to analyse: at least two frames in increasing order
    with finite, increasing times; coordinates that are not finite (or absurdly far) become
    missing; visibility and presence within 0..1."""
    name = path.name or str(path)
    if lm.n_frames < 2:
        raise LandmarksFileError(f"{name} holds {lm.n_frames} frame{'s' if lm.n_frames != 1 else ''}; "
                                 "gaitlab needs a clip of several seconds")
    if not (np.isfinite(lm.time).all() and (np.diff(lm.time) > 0).all() and (np.diff(lm.frame) > 0).all()):
        raise LandmarksFileError(f"{name} is damaged: its frame times do not increase")
    image, world = lm.image.copy(), lm.world.copy()
    for arr, axes in ((image, 2), (world, 3)):
        xy = arr[..., :axes]
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(xy).all(axis=-1) | (np.abs(xy) > MAX_COORDINATE_PX).any(axis=-1)
        arr[bad] = np.nan
    vis = np.clip(np.nan_to_num(lm.visibility, nan=0.0), 0.0, 1.0)
    pres = np.clip(np.nan_to_num(lm.presence, nan=0.0), 0.0, 1.0)
    signals = {k: np.where(np.isfinite(v), v, np.nan) for k, v in lm.frame_signals.items()}
    return lm.replace(image=image, world=world, visibility=vis, presence=pres, frame_signals=signals)


def _xarray():
    try:
        import xarray
    except ImportError:
        raise LandmarksFileError("NetCDF and movement datasets need xarray",
                                 "pip install 'gaitlab[export]'") from None
    return xarray


def _json_default(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
