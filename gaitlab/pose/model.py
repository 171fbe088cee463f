"""The pose model file: the bundled BlazePose full ``.task``, or one the user points at.

The bundled bundle is built by ``scripts/build_pose_model.py`` from the tflite files inside the
``mediapipe==0.10.21`` wheel; its sha256 is checked every time it is loaded, so a damaged install is
caught before it produces landmarks. Nothing is ever downloaded.
"""

from __future__ import annotations

import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import UsageError
from ..io.files import file_sha256, regular_file

MODELS_DIR = Path(__file__).resolve().parents[1] / "models"
FULL_MODEL_PATH = MODELS_DIR / "pose_landmarker_full.task"
FULL_MODEL_SHA256 = "ece5d6b776e962712dc8fc596a83fe946eb0bceb32076d948333d39f95465e62"
TASK_MEMBERS = ("pose_detector.tflite", "pose_landmarks_detector.tflite")


@dataclass(frozen=True)
class ModelInfo:
    """Which pose model ran: file, content hash, and whether it is gaitlab's bundled one."""

    path: str
    name: str
    sha256: str
    bundled: bool

    def to_dict(self) -> dict:
        return asdict(self)


def resolve_model(path: str | Path | None = None) -> ModelInfo:
    """Return the model to use; ``None`` means the bundled BlazePose full model.

    Raises :class:`~gaitlab.errors.UsageError` if the bundled file is damaged or a given file is
    not a pose landmarker ``.task`` bundle.
    """
    if path is None:
        p = FULL_MODEL_PATH
        if not p.is_file():
            raise UsageError(f"the bundled pose model is missing ({p})", "reinstall gaitlab")
        digest = file_sha256(p)
        if digest != FULL_MODEL_SHA256:
            raise UsageError(
                f"the bundled pose model is damaged (sha256 {digest[:12]}..., expected {FULL_MODEL_SHA256[:12]}...)",
                "reinstall gaitlab or rebuild it with scripts/build_pose_model.py",
            )
        return ModelInfo(str(p), p.name, digest, True)

    p = Path(path)
    regular_file(p, UsageError, "pose model")
    try:
        with zipfile.ZipFile(p) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError):
        names = set()
    if not set(TASK_MEMBERS) <= names:
        raise UsageError(
            f"{p.name} is not a pose landmarker .task bundle",
            "it must be a zip holding pose_detector.tflite and pose_landmarks_detector.tflite",
        )
    return ModelInfo(str(p.resolve()), p.name, file_sha256(p), False)
