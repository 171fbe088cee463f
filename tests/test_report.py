"""The clinician report: what it shows is what was computed, flags only where the data files support
one, user text is escaped, and the HTML and PDF are self-contained files."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import cv2
import numpy as np
import pytest

from conftest import SAMPLES, run_cli
from gaitlab.analysis import analyze_landmarks
from gaitlab.config import RunnerInfo
from gaitlab.references import constant, data
from gaitlab.report import render_html, report_content, report_figures
from gaitlab.report.content import fmt, wording


@pytest.fixture(scope="module", autouse=True)
def _every_value_printed(every_value_validated):
    """These tests check the report's layout and wording with every value printed (the published
    accuracy figures decide what a real report prints; tests/test_validate.py checks those)."""
    return every_value_validated


@pytest.fixture(scope="module")
def session(pose_cache):
    """The committed problem runner from the side (with height) and from behind."""
    side = analyze_landmarks(pose_cache(SAMPLES / "side_right_overstride.mp4"), RunnerInfo(height_m=1.75))
    rear = analyze_landmarks(pose_cache(SAMPLES / "rear_drop_valgus.mp4"))
    return [side, rear], ["side_right_overstride.mp4", "rear_drop_valgus.mp4"]


class Cells(HTMLParser):
    """Collects the text of every <td data-side=...> inside each <tr data-metric=...>, and every
    image source."""

    def __init__(self):
        super().__init__()
        self.rows, self.images, self._row, self._cell, self._clip = {}, [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tbody" and "data-clip" in a:
            self._clip = a["data-clip"]
        if tag == "tr" and "data-metric" in a:
            self._row = (self._clip, a["data-metric"])
            self.rows[self._row] = {}
        if tag == "td" and self._row and "data-side" in a:
            self._cell = a["data-side"]
            self.rows[self._row][self._cell] = ""
        if tag == "img":
            self.images.append(a.get("src", ""))
        if tag == "br":
            self._cell = None

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None
        if tag == "tr":
            self._row = None

    def handle_data(self, text):
        if self._row and self._cell:
            self.rows[self._row][self._cell] += text.strip()


def test_values_shown_are_the_summary_values(session):
    results, names = session
    content = report_content(results, names)
    figures = report_figures(results, names)
    parser = Cells()
    parser.feed(render_html(content, figures))
    checked = 0
    for res, name in zip(results, names):
        for metric, spec in data()["metrics"].items():
            rows = res.summary[(res.summary.metric == metric)]
            if rows.empty or (metric.endswith("_cm") and not np.isfinite(rows["median"]).any()):
                continue
            if metric == "overstride_leg" and content.row("overstride_cm", name) is not None:
                assert (name, metric) not in parser.rows  # overstride is shown once, in cm
                continue
            if metric == "cadence_spm" and name != names[0]:
                continue  # the session shows cadence once, from the side view
            cells = parser.rows[(name, metric)]
            if not rows["measurable"].all():
                assert cells["none"].startswith("Not measurable from this video"), (name, metric)
                assert cells["none"].lower().count("not measurable") == 1, cells["none"]
                continue
            if metric == "cadence_spm":
                assert cells["both"] == fmt(rows[rows.side == "both"]["median"].iloc[0], 0)
                assert cells["asymmetry"] == ""  # one value for both feet, spanning Left and Right only
                continue
            for side in ("left", "right"):
                expected = fmt(rows[rows.side == side]["median"].iloc[0], spec.get("decimals", 1))
                q1, q3 = rows[rows.side == side][["q1", "q3"]].iloc[0]
                d = spec.get("decimals", 1)
                assert cells[side] == expected + f"{fmt(q1, d)}–{fmt(q3, d)}", (name, metric, side)
                checked += 1
            diff = rows[rows.side == "both"]["right_minus_left"].iloc[0]
            assert cells["asymmetry"] == fmt(diff, spec.get("decimals", 1), signed=True)
    assert checked >= 16


def test_flags_only_where_the_reference_data_supports_one(session):
    results, names = session
    content = report_content(results, names, {"speed_kmh": 10.0})
    for row in content.rows:
        kinds = {f["kind"] for f in row.flags}
        if not row.measurable:
            assert not kinds, row.metric
            continue
        both = row.values["both"]
        assert ("below_reference" in kinds) == (row.reference_low is not None and both < row.reference_low), row.metric
        assert ("above_reference" in kinds) == (row.reference_high is not None and both > row.reference_high), row.metric
        summary = next(r for r, n in zip(results, names) if n == row.clip).summary
        both_row = summary[(summary.metric == row.metric) & (summary.side == "both")].iloc[0]
        enough = min(row.n_steps["left"], row.n_steps["right"]) >= constant("min_steps_per_side")
        # The summary's limit: the SDD where published and gaitlab's measured right-minus-left error.
        limit = float(both_row.asymmetry_limit)
        assert limit >= max(np.nan_to_num(float(both_row.sdd)), float(both_row.asymmetry_error)), row.metric
        expect_asym = np.isfinite(limit) and enough and row.per_side and abs(row.right_minus_left) > limit
        assert ("asymmetry" in kinds) == bool(expect_asym), row.metric
    # Leacox 2025 gives group means per speed and no spread: the cadence is set beside the mean at
    # the runner's speed (10 km/h = 2.78 m/s: about 170 steps/min) and not flagged.
    cadence = content.row("cadence_spm")
    assert not cadence.flags and "about 170 steps/min" in cadence.reference_text
    assert "10.0 km/h (2.78 m/s)" in cadence.reference_text
    step_rate = next(f for f in content.focus if f["key"] == "step_rate")
    assert f"{1.05 * cadence.values['both']:.0f}" in step_rate["suggestion"]
    # A retraining suggestion carries its condition wherever it is printed (not every runner should
    # step faster): beside a page-1 finding and in the focus areas.
    assert step_rate["when"].startswith("if ")
    html = render_html(content, report_figures(results, names))
    assert f"Focus to consider: Step rate</b>, {step_rate['when']}. Try a metronome" in html
    assert f"<b>Step rate</b>, {step_rate['when']}: At +5 %" in html
    # The table's note states the left/right rule the flags use (the measured right-minus-left error).
    assert "the error gaitlab measured for a right-minus-left difference" in html
    assert "the error gaitlab measured for a right-minus-left difference" in wording()["flags"]["asymmetry"]["text"]
    # Every source cited is listed with its full citation (authors, year, title, journal, DOI).
    cited = {k for _, k, _ in content.sources}
    assert {"leacox2025", "heiderscheit2011", "bramah2019", "dingenen2018"} <= cited
    for _, key, text in content.sources:
        if key != "gaitlab_validation":
            assert re.search(r"\(\d{4}\)\. .+\. .+ doi:10\.\d{4,}/\S+$", text), text


def test_normal_runner_gets_no_cadence_flag(pose_cache):
    res = analyze_landmarks(pose_cache(SAMPLES / "side_left_normal.mp4"))
    content = report_content([res], ["side_left_normal.mp4"], {"speed_kmh": 11.0})
    cadence = content.row("cadence_spm")
    assert not cadence.flags and "At 11.0 km/h" in cadence.reference_text


def test_key_frames_come_from_the_video_with_the_measurement_drawn(session):
    results, names = session
    figures = report_figures(results, names)
    side, rear = figures.frames
    assert [(k.side, k.event) for k in side["frames"]] == [
        (s, e) for s in ("left", "right") for e in ("initial_contact", "midstance")]
    assert [(k.side, k.event) for k in rear["frames"]] == [
        (s, e) for s in ("left", "right") for e in ("midstance", "deepest_knee")]
    for k in side["frames"] + rear["frames"]:
        assert k.from_video
        img = cv2.imdecode(np.frombuffer(k.image_jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert img.shape[0] == 360 and img.std() > 20  # a real picture, not a blank canvas
    # The contact frame shows the typical step's own overstride value.
    step = results[0].steps.set_index("step").loc[side["frames"][0].step]
    assert int(step.ic_frame) == side["frames"][0].frame
    # The per-step and gait-cycle plots of each clip.
    assert [len(p["plots"]) for p in figures.plots] == [2, 2]


def test_gait_cycle_curves_are_drawn_only_for_printed_measures(session):
    """A curve over the gait cycle shows the values of its measures, so a side's curve is drawn only
    where the summary prints them (hip adduction and pelvic drop from behind)."""
    from dataclasses import replace

    from gaitlab.report import prepare
    from gaitlab.report.plots import clip_cycle_plot

    results, _ = session
    rear = results[1]
    clean, tilt = prepare(rear)
    assert clip_cycle_plot(rear, clean, tilt) is not None
    withheld = rear.summary.copy()
    withheld.loc[withheld.metric.isin(["hip_adduction_deg", "pelvic_drop_deg"]), "measurable"] = False
    assert clip_cycle_plot(replace(rear, summary=withheld), clean, tilt) is None


def test_step_by_step_plot_draws_only_printed_values(session):
    """The step rate of each step is read off the step times: it is drawn only on a side whose
    cadence the summary prints, like every other per-step value."""
    from gaitlab.report.plots import per_step_plot
    from gaitlab.summary import printable_steps

    side = session[0][0]
    nothing = side.summary.assign(measurable=False)
    assert per_step_plot(printable_steps(side.steps, nothing), "side", nothing) is None
    left_rate = nothing.copy()
    left_rate.loc[(left_rate.metric == "cadence_spm") & (left_rate.side == "left"), "measurable"] = True
    assert per_step_plot(printable_steps(side.steps, left_rate), "side", left_rate) is not None


def test_summary_shows_the_note_of_a_printed_measure(session):
    """A printed value's note (the counted contacts disagreeing with the clip's rhythm, few steps)
    stands beside it in the summary, not only in the table of all measures."""
    from dataclasses import replace

    results, names = session
    side = results[0]
    summary = side.summary.copy()
    both = (summary.metric == "cadence_spm") & (summary.side == "both")
    assert summary.loc[both, "measurable"].all()
    summary.loc[both, "warning"] = "the counted contacts give 150.0 steps/min"
    noted = replace(side, summary=summary)
    html = render_html(report_content([noted], names[:1]), report_figures([noted], names[:1]))
    card = html.split('<section id="summary">')[1].split("</table>")[0]
    assert "Note: the counted contacts give 150.0 steps/min" in card


def test_user_text_is_escaped_and_the_page_is_self_contained(session, tmp_path):
    results, names = session
    runner = {"name": "<script>alert(1)</script>", "notes": "knee pain & <b>swelling</b>"}
    html = render_html(report_content(results, names, runner), report_figures(results, names))
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>swelling</b>" not in html and "&lt;b&gt;swelling&lt;/b&gt;" in html
    parser = Cells()
    parser.feed(html)
    assert parser.images and all(src.startswith("data:image/") for src in parser.images)
    assert not re.search(r"""(src|href)=["']https?://""", html)


def test_analyze_writes_report_and_compares_sessions(tmp_path):
    first = tmp_path / "first"
    r = run_cli("analyze", SAMPLES / "side_right_overstride.mp4", "--out", first, "--height", "175cm",
                "--name", "P-017")
    assert r.returncode == 0, r.stderr
    html = (first / "report.html").read_text()
    assert "P-017" in html and (first / "report.pdf").read_bytes()[:5] == b"%PDF-"
    assert "60 frames/s; runner" in html and "sure of the knees and ankles" in html  # how the clip was filmed
    assert not (first / "side_right_overstride_overlay.mp4").exists()  # only with --overlay
    # A later session of the same runner, compared against the first: changes beyond the SDD flagged.
    second = tmp_path / "second"
    r = run_cli("analyze", SAMPLES / "side_left_normal.mp4", "--out", second, "--height", "175cm",
                "--compare", first, "--overlay")
    assert r.returncode == 0, r.stderr
    assert (second / "side_left_normal_overlay.mp4").stat().st_size > 10_000
    html = (second / "report.html").read_text()
    assert 'id="comparison"' in html and 'data-metric="cadence_spm"' in html
    # Re-render from saved results.
    r = run_cli("report", second, "--compare", first)
    assert r.returncode == 0, r.stderr
    assert "report.html" in r.stdout and "report.pdf" in r.stdout


def test_side_and_rear_clips_make_one_session_report(tmp_path):
    out = tmp_path / "session"
    r = run_cli("analyze", SAMPLES / "side_left_normal.mp4", SAMPLES / "rear_normal.mp4", "--out", out)
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "session.json").read_text())["clips"] == ["side_left_normal", "rear_normal"]
    assert (out / "side_left_normal" / "summary.csv").is_file() and (out / "rear_normal" / "summary.csv").is_file()
    html = (out / "report.html").read_text()
    assert 'data-clip="side_left_normal.mp4"' in html and 'data-clip="rear_normal.mp4"' in html
    assert html.count('data-metric="cadence_spm"') == 2  # once in the summary, once in all measures


def test_a_clip_whose_view_is_uncertain_says_so_beside_its_view(session):
    """Where gaitlab could not tell behind from in front (left and right may be swapped), the clip's
    line under the title and its heading in the table of all measures say so, not only the capture
    notes further down."""
    from dataclasses import replace
    from gaitlab.report.content import SIDES_UNCERTAIN

    results, names = session
    rear = results[1]
    plain = render_html(report_content([rear], names[1:]), report_figures([rear], names[1:]))
    assert SIDES_UNCERTAIN not in plain
    uncertain = replace(rear, quality={**rear.quality, "sides_uncertain": True})
    html = render_html(report_content([uncertain], names[1:]), report_figures([uncertain], names[1:]))
    assert f"Rear view ({SIDES_UNCERTAIN}): {names[1]}" in html
    assert html.count(SIDES_UNCERTAIN) >= 3  # title line, table heading, capture notes


def test_key_frames_of_an_uncertain_view_say_their_sides_may_be_swapped(session):
    """A key frame labelled "left midstance" in a clip whose behind/in-front is uncertain may show
    the right leg: its caption says so."""
    from dataclasses import replace
    from gaitlab.report import prepare
    from gaitlab.report.content import SIDES_MAY_BE_SWAPPED
    from gaitlab.report.keyframes import key_frames

    results, _ = session
    rear = results[1]
    clean, tilt = prepare(rear)
    assert not any(SIDES_MAY_BE_SWAPPED in k.caption for k in key_frames(rear, clean, tilt))
    uncertain = replace(rear, quality={**rear.quality, "sides_uncertain": True})
    frames = key_frames(uncertain, clean, tilt)
    assert frames and all(k.caption.endswith(SIDES_MAY_BE_SWAPPED) for k in frames)


def test_a_front_view_draws_no_pelvis_line_and_sends_the_pt_to_the_right_view(pose_cache):
    """From the front the line at the waist is the top's hem (gaitlab.analysis.FRONT_PELVIS_REASON):
    its key frame draws no "pelvis line", and page 1 does not point to a rear-view frame the
    session does not have."""
    from gaitlab.report import prepare
    from gaitlab.report.keyframes import key_frames

    front = analyze_landmarks(pose_cache(SAMPLES / "front_drop_valgus.mp4"))
    clean, tilt = prepare(front)
    captions = [k.caption for k in key_frames(front, clean, tilt) if k.event == "midstance"]
    assert captions and all("no pelvis line is drawn" in c and "pelvis line gaitlab traced" not in c for c in captions)
    content = report_content([front], ["front_drop_valgus.mp4"])
    texts = [f["text"] for f in content.findings] + content.observations
    assert any("not measured from the front" in t for t in texts)
    assert not any("rear-view key frame" in t for t in texts)


def test_a_deepest_bend_frame_without_a_knee_angle_draws_no_angle(session):
    """Where the knee's angle is not given (withheld, or the shank's edges not found), its key frame
    does not draw the keypoints' hip-knee-ankle lines as if they measured it."""
    from dataclasses import replace
    from gaitlab.report import prepare
    from gaitlab.report.keyframes import key_frames

    results, _ = session
    rear = results[1]
    clean, tilt = prepare(rear)
    given = [k for k in key_frames(rear, clean, tilt) if k.event == "deepest_knee"]
    assert given and all("knee frontal plane projection angle" in k.caption for k in given)
    none = replace(rear, steps=rear.steps.assign(knee_fppa_deg=np.nan, hip_adduction_deg=np.nan))
    frames = [k for k in key_frames(none, clean, tilt) if k.event == "deepest_knee"]
    assert frames and all("no knee angle given; judge the knee by eye" in k.caption for k in frames)
    drawn = [cv2.imdecode(np.frombuffer(k.image_jpeg, np.uint8), cv2.IMREAD_COLOR) for k in (given[0], frames[0])]
    green = [int(np.sum((im[..., 1] > 180) & (im[..., 0] < 100) & (im[..., 2] < 100))) for im in drawn]
    assert green[1] < green[0] / 5  # the measurement's green lines only where there is a measurement


def test_a_session_without_a_rear_view_asks_for_one(pose_cache):
    """Only a view from behind gives pelvic drop and knee valgus: a session filmed from the side and
    the front still asks for it."""
    side = analyze_landmarks(pose_cache(SAMPLES / "side_left_normal.mp4"))
    front = analyze_landmarks(pose_cache(SAMPLES / "front_drop_valgus.mp4"))
    needed = wording()["quality"]["rear_view_needed"]
    session_items = lambda c: [i for q in c.quality if q["clip"] == "session" for i in q["items"]]
    assert needed in session_items(report_content([side, front], ["side.mp4", "front.mp4"]))
    rear = analyze_landmarks(pose_cache(SAMPLES / "rear_normal.mp4"))
    assert needed not in session_items(report_content([side, rear], ["side.mp4", "rear.mp4"]))
    assert "in front" not in needed


def test_overstride_is_in_cm_wherever_the_height_was_given_even_when_withheld(session):
    from gaitlab.report.content import metric_rows

    results, _ = session
    side = results[0]  # analysed with the runner's height
    withheld = side.summary.copy()
    over = withheld.metric.isin(["overstride_cm", "overstride_leg"])
    withheld.loc[over, ["median", "q1", "q3", "sd"]] = np.nan
    withheld.loc[over, "measurable"] = False
    for summary in (side.summary, withheld):
        metrics = [r.metric for r in metric_rows(summary, "side.mp4", "side")]
        assert "overstride_cm" in metrics and "overstride_leg" not in metrics
    no_height = withheld.copy()
    no_height.loc[no_height.metric == "overstride_cm", "n_steps"] = 0  # not measured without a height
    metrics = [r.metric for r in metric_rows(no_height, "side.mp4", "side")]
    assert "overstride_leg" in metrics and "overstride_cm" not in metrics


def test_a_waist_line_that_did_not_keep_level_is_not_called_the_pelvis(session):
    """Where the line traced at the waist failed the level check (it does not follow the pelvis),
    its key frame does not call it the pelvis line."""
    from dataclasses import replace
    from gaitlab.report import prepare
    from gaitlab.report.keyframes import key_frames

    results, _ = session
    rear = results[1]
    clean, tilt = prepare(rear)
    steps = rear.steps.assign(pelvic_drop_deg=np.nan)  # no value printed, as when withheld
    pelvis = {**rear.quality["pelvis"], "measurable": False, "follows_pelvis": False}
    wandering = replace(rear, steps=steps, quality={**rear.quality, "pelvis": pelvis})
    captions = [k.caption for k in key_frames(wandering, clean, tilt) if k.event == "midstance"]
    assert captions and all("may not follow the pelvis" in c and "the pelvis line gaitlab traced" not in c
                            for c in captions)
    kept = replace(rear, steps=steps)
    assert all("the pelvis line gaitlab traced" in k.caption for k in key_frames(kept, clean, tilt) if k.event == "midstance")
