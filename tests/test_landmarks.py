"""The landmarks container: shape checks and a lossless Parquet round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gaitlab.errors import LandmarksFileError
from gaitlab.landmarks import Landmarks
from gaitlab.schema import KEYPOINTS, MIRROR_PERMUTATION, KEYPOINT_INDEX


def make_landmarks(n=7, seed=0):
    rng = np.random.default_rng(seed)
    k = len(KEYPOINTS)
    image = rng.normal(300, 50, (n, k, 3)).astype(np.float32)
    world = rng.normal(0, 0.3, (n, k, 3)).astype(np.float32)
    vis = rng.uniform(0, 1, (n, k)).astype(np.float32)
    pres = rng.uniform(0, 1, (n, k)).astype(np.float32)
    image[2] = np.nan  # a frame without a person
    world[2] = np.nan
    vis[2] = pres[2] = 0
    attrs = {"video": {"name": "x.mp4", "width": 640, "height": 480}, "note": "ünïcode ✓"}
    return Landmarks(frame=np.arange(n), time=np.arange(n) / 30.0 + 1e-9, image=image, world=world,
                     visibility=vis, presence=pres, attrs=attrs)


def test_roundtrip_is_exact(tmp_path):
    lm = make_landmarks()
    path = lm.save(tmp_path / "lm.parquet")
    back = Landmarks.load(path)
    for name in ("frame", "time", "image", "world", "visibility", "presence"):
        np.testing.assert_array_equal(getattr(back, name), getattr(lm, name))
        assert getattr(back, name).dtype == getattr(lm, name).dtype
    assert back.attrs == lm.attrs
    assert back.detected.tolist() == [True, True, False, True, True, True, True]


def test_tidy_table_has_one_row_per_frame_and_keypoint():
    lm = make_landmarks(n=3)
    df = lm.to_dataframe()
    assert len(df) == 3 * 33
    row = df[(df.frame == 1) & (df.keypoint == "left_knee")].iloc[0]
    assert row.x_px == lm.image[1, KEYPOINT_INDEX["left_knee"], 0]
    shuffled = df.sample(frac=1, random_state=1)
    back = Landmarks.from_dataframe(shuffled)
    np.testing.assert_array_equal(back.image, lm.image)


def test_shapes_are_checked():
    lm = make_landmarks(n=3)
    with pytest.raises(ValueError, match="image has shape"):
        Landmarks(frame=lm.frame, time=lm.time, image=lm.image[:, :10], world=lm.world,
                  visibility=lm.visibility, presence=lm.presence)


def test_incomplete_or_foreign_files_are_refused(tmp_path):
    missing = tmp_path / "none.parquet"
    with pytest.raises(LandmarksFileError, match="landmarks file not found"):
        Landmarks.load(missing)
    text = tmp_path / "text.parquet"
    text.write_text("hello")
    with pytest.raises(LandmarksFileError, match="not a gaitlab landmarks file"):
        Landmarks.load(text)
    other = tmp_path / "other.parquet"
    pd.DataFrame({"a": [1, 2]}).to_parquet(other)
    with pytest.raises(LandmarksFileError, match="not a gaitlab landmarks file"):
        Landmarks.load(other)
    df = make_landmarks(n=4).to_dataframe().iloc[:-1]
    with pytest.raises(LandmarksFileError, match="incomplete"):
        Landmarks.from_dataframe(df)


def test_mirror_permutation_swaps_sides_and_is_an_involution():
    perm = np.array(MIRROR_PERMUTATION)
    assert KEYPOINTS[perm[KEYPOINT_INDEX["left_knee"]]] == "right_knee"
    assert KEYPOINTS[perm[KEYPOINT_INDEX["nose"]]] == "nose"
    assert (perm[perm] == np.arange(33)).all()


def test_trc_export_is_an_opensim_marker_file(tmp_path):
    from gaitlab.landmarks import Landmarks
    from gaitlab.schema import KEYPOINTS

    t, k = 5, len(KEYPOINTS)
    world = np.arange(t * k * 3, dtype=float).reshape(t, k, 3) / 100
    world[2] = np.nan  # a frame without a person
    lm = Landmarks(frame=np.arange(t), time=np.arange(t) / 50, image=np.zeros((t, k, 3)), world=world,
                   visibility=np.ones((t, k)), presence=np.ones((t, k)))
    lines = lm.to_trc(tmp_path / "run.trc").read_text().splitlines()
    assert lines[0].split("\t")[:2] == ["PathFileType", "4"]
    assert lines[2].split("\t")[:5] == ["50.000", "50.000", "5", "33", "m"]
    assert lines[3].split("\t")[2] == "nose" and lines[4].split("\t")[2:5] == ["X1", "Y1", "Z1"]
    first = lines[6].split("\t")
    assert first[:2] == ["1", "0.00000"]
    assert [float(v) for v in first[2:5]] == [world[0, 0, 0], -world[0, 0, 1], -world[0, 0, 2]]  # Y up
    assert lines[8].split("\t")[2] == ""  # the gap stays blank
    assert len(lines) == 6 + t


def test_netcdf_movement_dataset_roundtrips_and_foreign_datasets_import(tmp_path):
    lm = make_landmarks()
    ds = lm.to_movement()
    assert ds["position"].dims == ("time", "space", "keypoints", "individuals")
    assert ds["confidence"].dims == ("time", "keypoints", "individuals")
    assert ds.attrs["ds_type"] == "poses" and ds.attrs["time_unit"] == "seconds"
    assert float(ds["position"].sel(time=ds.time[0], space="y", keypoints="left_knee", individuals="runner")) == \
        pytest.approx(float(lm.xy("left_knee")[0, 1]))
    back = Landmarks.load(lm.to_netcdf(tmp_path / "lm.nc"))
    np.testing.assert_array_equal(back.frame, lm.frame)
    np.testing.assert_allclose(back.time, lm.time - lm.time[0])
    np.testing.assert_array_equal(back.image[..., :2], lm.image[..., :2])
    np.testing.assert_array_equal(back.world, lm.world)
    np.testing.assert_array_equal(back.visibility, lm.visibility)
    assert back.attrs == lm.attrs
    # Another tool's dataset: a few of BlazePose's keypoints among its own, time in frames.
    foreign = ds.sel(keypoints=["left_hip", "left_knee", "right_ankle"]).drop_vars(["world_position", "frame"])
    foreign = foreign.assign_coords(keypoints=["left_hip", "left_knee", "tail_base"], time=np.arange(lm.n_frames))
    foreign.attrs = {"ds_type": "poses", "fps": 30.0, "time_unit": "frames", "source_software": "DeepLabCut"}
    imported = Landmarks.from_movement(foreign)
    np.testing.assert_allclose(imported.time, np.arange(lm.n_frames) / 30.0)
    np.testing.assert_array_equal(imported.xy("left_knee"), lm.xy("left_knee"))
    assert np.isnan(imported.xy("right_ankle")).all() and not imported.vis("right_ankle").any()
    assert imported.attrs["imported_from"]["software"] == "DeepLabCut"
    with pytest.raises(LandmarksFileError, match="names none of BlazePose's keypoints"):
        Landmarks.from_movement(foreign.assign_coords(keypoints=["a", "b", "c"]))
    (tmp_path / "bad.nc").write_bytes(b"CDF\x01 not really")
    with pytest.raises(LandmarksFileError, match="bad.nc is not a readable NetCDF file"):
        Landmarks.load(tmp_path / "bad.nc")


def _openpose_person(x0, scale=1.0, conf=0.9):
    """BODY_25 keypoints of a standing figure whose left side is at image right (seen from behind)."""
    pts = np.zeros((25, 3))
    spots = {0: (0, -60), 2: (-15, -45), 5: (15, -45), 3: (-20, -25), 6: (20, -25), 4: (-22, -5), 7: (22, -5),
             9: (-10, 0), 12: (10, 0), 10: (-11, 40), 13: (11, 40), 11: (-12, 80), 14: (12, 80),
             21: (12, 85), 24: (-12, 85), 19: (14, 88), 22: (-14, 88)}
    for i, (dx, dy) in spots.items():
        pts[i] = (x0 + scale * dx, 200 + scale * dy, conf)
    return pts.ravel().tolist()


def test_openpose_folders_import_by_name_and_keep_one_runner(tmp_path):
    import json

    from gaitlab.io.keypoints import read_openpose

    frames = [[_openpose_person(300, 2.0), _openpose_person(100, 1.0)],  # the larger person is the runner
              [_openpose_person(110, 1.0), _openpose_person(305, 2.0)],  # then the one nearest the runner
              [],                                                      # nobody
              [_openpose_person(310, 2.0)]]
    frames[1][1][3 * 24 + 2] = 0.0  # the runner's right heel not seen: interpolated from frames 0 and 3
    frames[3][0][3 * 10 + 2] = 0.0  # a knee not seen: the runner does not count as found there
    for i, people in enumerate(frames):
        doc = {"version": 1.3, "people": [{"pose_keypoints_2d": p} for p in people]}
        (tmp_path / f"clip_{i:012d}_keypoints.json").write_text(json.dumps(doc))
    lm = Landmarks(**read_openpose(tmp_path, fps=30))
    assert lm.n_frames == 4 and np.allclose(lm.time, np.arange(4) / 30)
    assert lm.detected.tolist() == [True, True, False, False]
    assert np.allclose(lm.xy("left_hip")[[0, 1], 0], [320, 325])  # BODY_25 12 = LHip
    assert np.allclose(lm.xy("right_heel")[0], [300 - 24, 370])    # BODY_25 24 = RHeel
    assert np.allclose(lm.xy("right_heel")[1], [300 - 24, 370]) and lm.visibility[1, KEYPOINT_INDEX["right_heel"]] == 0
    assert np.isnan(lm.xy("left_pinky")).all()                             # not in BODY_25
    assert lm.attrs["imported_from"] == {"software": "OpenPose", "layout": "BODY_25", "file": str(tmp_path), "fps": 30}
    with pytest.raises(LandmarksFileError, match="record no time"):
        Landmarks.load(tmp_path)


def test_malformed_keypoint_files_are_refused_in_one_line(tmp_path):
    import json

    from gaitlab.io.keypoints import read_keypoints

    cases = {"not_json.json": "{", "not_a_list.json": json.dumps({"people": []}),
             "bad_values.json": json.dumps([{"image_id": "0.jpg", "keypoints": ["x"] * 51}]),
             "odd_layout.json": json.dumps([{"image_id": "0.jpg", "keypoints": [1.0] * 40}])}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(LandmarksFileError) as err:
            read_keypoints(tmp_path / name, fps=30)
        assert "\n" not in err.value.one_line(), name
    results = tmp_path / "results"
    results.mkdir()
    (results / "landmarks.parquet").write_bytes(b"")
    with pytest.raises(LandmarksFileError) as err:
        Landmarks.load(results, fps=30)
    assert "give " in err.value.one_line() and "landmarks.parquet" in err.value.one_line()
    (results / "x_000000000000_keypoints.json").write_text(json.dumps({"people": [{"pose_keypoints_2d": "abc"}]}))
    with pytest.raises(LandmarksFileError, match="not a readable OpenPose"):
        Landmarks.load(results, fps=30)


def test_real_openpose_and_alphapose_keypoints_give_the_cadence_blazepose_gives(pose_cache):
    """The shared clips come with another model's keypoints (not truth): analysed through the same
    stages, they must agree with gaitlab's own BlazePose run on the view and, within the few steps
    these short clips hold, the cadence (one frame over a 3.4 s clip's 7 steps moves it ~2.5/min)."""
    from conftest import SHARED, shared_video
    from gaitlab.analysis import analyze_landmarks
    from gaitlab.report.content import clip_quality

    truth = SHARED / "ground_truth"
    for video, keypoints, fps, bound in (
            ("radluy_posterior_overground_openpose_overlay.mp4", "radluy_openpose_back", 30.0, 8.0),
            ("jacky1107_jog_in_place_anterior_A.mp4", "jacky1107_jog_in_place_anterior_A.alphapose.json", 29.93, 3.0)):
        ours = analyze_landmarks(pose_cache(shared_video(video)))
        theirs = analyze_landmarks(Landmarks.load(truth / keypoints, fps=fps))
        print(f"{keypoints}: view {theirs.view['kind']} (BlazePose {ours.view['kind']}), cadence "
              f"{theirs.cadence['both']:.1f} (BlazePose {ours.cadence['both']:.1f}), {len(theirs.valid_steps)} steps")
        assert theirs.view["kind"] == ours.view["kind"]
        assert abs(theirs.cadence["both"] - ours.cadence["both"]) <= bound
        # The report says where the keypoints came from, and that the typical errors are BlazePose's.
        source = theirs.landmarks.attrs["imported_from"]["software"]
        assert any(f"imported from {source}" in line and "BlazePose" in line for line in clip_quality(theirs))
        assert not any("imported from" in line for line in clip_quality(ours))
