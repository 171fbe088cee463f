"""Render the committed sample clips in sample_videos/ from sample_videos/manifest.json.

    python scripts/make_sample_videos.py            # render every clip, record sha256 in the manifest
    python scripts/make_sample_videos.py --check    # re-render to a temporary folder and compare bytes
    python scripts/make_sample_videos.py NAME ...   # only these clips

Rendering is deterministic (numpy ray caster, single-threaded x264), so the same gaitlab and PyAV
versions give byte-identical files. The test suite checks that every truth file equals the truth
computed from its manifest parameters, which holds whatever the encoder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gaitlab.synth import SynthParams, render_clip  # noqa: E402

MANIFEST = ROOT / "sample_videos" / "manifest.json"


def clip_params(manifest: dict, name: str) -> SynthParams:
    clip = manifest["clips"][name]
    values = dict(manifest["common"])
    values.update(manifest["runners"][clip["runner"]])
    values.update({k: v for k, v in clip.items() if k != "runner"})
    return SynthParams.from_dict(values)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*")
    ap.add_argument("--check", action="store_true", help="re-render and compare with the committed files")
    args = ap.parse_args()
    manifest = json.loads(MANIFEST.read_text())
    names = args.names or list(manifest["clips"])
    status = 0
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            for name in names:
                video, truth = render_clip(clip_params(manifest, name), Path(tmp) / f"{name}.mp4")
                same_video = sha256(video) == sha256(ROOT / "sample_videos" / f"{name}.mp4")
                same_truth = truth.read_bytes() == (ROOT / "sample_videos" / f"{name}.truth.json").read_bytes()
                print(f"{name}: video {'identical' if same_video else 'DIFFERS'}, truth {'identical' if same_truth else 'DIFFERS'}")
                status |= not (same_video and same_truth)
        return status
    for name in names:
        video, truth = render_clip(clip_params(manifest, name), ROOT / "sample_videos" / f"{name}.mp4")
        manifest["sha256"][name] = sha256(video)
        print(f"{video.name}: {video.stat().st_size} bytes, sha256 {manifest['sha256'][name][:16]}...")
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
