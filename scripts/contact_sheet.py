"""A contact sheet of randomised runners: one frame of each seed, tiled, to see what varies.

    python scripts/contact_sheet.py OUT.png SEED [SEED ...]
    python scripts/contact_sheet.py OUT.png --range 9000 20
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gaitlab.synth import RunnerModel, random_params  # noqa: E402
from gaitlab.synth.scene import Scene  # noqa: E402

TILE = 240


def frame(seed: int, t: float = 0.4) -> np.ndarray:
    p = random_params(seed)
    model = RunnerModel(p)
    rgb = Scene(p, model).render(t, model.joints(np.array([t])), 0)
    h, w = rgb.shape[:2]
    s = TILE / max(h, w)
    small = cv2.resize(rgb, (int(w * s), int(h * s)), interpolation=cv2.INTER_AREA)
    tile = np.full((TILE, TILE, 3), 255, np.uint8)
    y, x = (TILE - small.shape[0]) // 2, (TILE - small.shape[1]) // 2
    tile[y:y + small.shape[0], x:x + small.shape[1]] = small
    cv2.putText(tile, str(seed), (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 0, 0), 1, cv2.LINE_AA)
    return tile


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("seeds", nargs="*", type=int)
    ap.add_argument("--range", nargs=2, type=int, metavar=("FIRST", "N"))
    ap.add_argument("--columns", type=int, default=5)
    a = ap.parse_args()
    seeds = a.seeds or list(range(a.range[0], a.range[0] + a.range[1]))
    tiles = [frame(s) for s in seeds]
    while len(tiles) % a.columns:
        tiles.append(np.full_like(tiles[0], 255))
    rows = [np.hstack(tiles[i:i + a.columns]) for i in range(0, len(tiles), a.columns)]
    cv2.imwrite(a.out, cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))
    print(a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
