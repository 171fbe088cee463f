"""Build gaitlab's pose model bundle (``pose_landmarker_full.task``) reproducibly.

The MediaPipe Tasks ``PoseLandmarker`` needs a ``.task`` bundle: a zip holding
``pose_detector.tflite`` and ``pose_landmarks_detector.tflite``. The PyPI wheel
``mediapipe==0.10.21`` ships both BlazePose networks (full variant) as plain
tflite files; the landmark network lacks the image-input metadata the Tasks API
needs (normalisation mean 0, std 255). This script:

1. downloads the wheel (``pip download mediapipe==0.10.21``) unless ``--wheel``
   is given,
2. installs it into a throw-away virtual environment (its metadata writer is
   the one that works; the writer in mediapipe 1.2.x is broken),
3. adds the metadata to the landmark network and names its five outputs,
4. writes the bundle with fixed zip timestamps and 4-byte alignment, so the
   result is byte-identical on every run,
5. prints the sha256, which must equal ``gaitlab.pose.model.FULL_MODEL_SHA256``.

Run: ``python scripts/build_pose_model.py [--wheel FILE] [--out PATH]``.
Network access is needed only here, at build time; gaitlab never downloads.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

MEDIAPIPE_VERSION = "0.10.21"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "gaitlab" / "models" / "pose_landmarker_full.task"

# Runs inside the throw-away environment that has mediapipe 0.10.21 installed.
WRITER = textwrap.dedent(
    r'''
    import sys, zipfile
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer as mw
    from mediapipe.tasks.python.metadata.metadata_writers import model_asset_bundle_utils as mab

    wheel, out = sys.argv[1], sys.argv[2]
    with zipfile.ZipFile(wheel) as z:
        detector = z.read("mediapipe/modules/pose_detection/pose_detection.tflite")
        landmarker = z.read("mediapipe/modules/pose_landmark/pose_landmark_full.tflite")

    writer = mw.MetadataWriter.create(bytearray(landmarker))
    writer.add_general_info("pose_landmarks_detector", "BlazePose GHUM 3D, full variant")
    writer.add_image_input(norm_mean=[0.0], norm_std=[255.0])
    # Output order of the network: landmarks, pose flag, segmentation, heatmap, world landmarks.
    for name in ("Identity", "Identity_1", "Identity_2", "Identity_3", "Identity_4"):
        writer.add_feature_output(name=name)
    landmarker_md, _ = writer.populate()

    members = {"pose_detector.tflite": detector, "pose_landmarks_detector.tflite": bytes(landmarker_md)}
    # MediaPipe's own aligned zip writer, with fixed timestamps so the bundle is byte-reproducible.
    with mab.AlignZipFile(out, mode="w", alignment=4) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    '''
)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel", type=Path, help="a local mediapipe-0.10.21 wheel (otherwise pip downloads it)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        wheel = args.wheel
        if wheel is None:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(tmp),
                 f"mediapipe=={MEDIAPIPE_VERSION}"],
                check=True,
            )
            wheel = next(tmp.glob("mediapipe-*.whl"))
        venv = tmp / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        py = venv / "bin" / "python"
        subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheel)], check=True)
        script = tmp / "writer.py"
        script.write_text(WRITER)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(py), str(script), str(wheel), str(args.out)], check=True)

    print(f"{args.out}  sha256={sha256(args.out)}  bytes={args.out.stat().st_size}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
