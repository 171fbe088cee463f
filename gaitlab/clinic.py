"""Runner and session details as a clinic gives them: height ('178cm', '1.78'), treadmill speed
('12', '12km/h', '3.3m/s', '7.5mph') or pace ('5:30/km', '8:50/mi', a bare '5:30' is per km), and a
small runner file (TOML or JSON) a clinic can reuse between sessions, e.g.::

    name = "P-017"
    age = 42
    sex = "female"
    height = "168cm"
    injured_side = "left"
    shoe = "Brand Model 3"
    clinician = "A. Physio"
    clinic = "Riverside Running Clinic"

Command-line options override the file's values.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .config import RunnerInfo
from .errors import UsageError

#: km per unit of distance a pace may be given in.
PACE_UNITS = {"km": 1.0, "mi": 1.609344}
#: km/h per unit of speed.
SPEED_UNITS = {"km/h": 1.0, "kmh": 1.0, "kph": 1.0, "m/s": 3.6, "mph": 1.609344}


def parse_height(text) -> float:
    """Height in metres from '1.78', '178', '178cm' or '1.78m' (a bare number above 3 is cm)."""
    if isinstance(text, (int, float)):
        value, unit = float(text), ""
    else:
        m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(m|cm)?\s*", str(text or ""), re.IGNORECASE)
        if not m:
            raise UsageError(f"--height takes a number with an optional unit (m, cm), got {text!r}")
        value, unit = float(m.group(1)), (m.group(2) or "").lower()
    if unit == "cm" or (not unit and value > 3):
        value /= 100
    return value


def parse_speed(text) -> float:
    """Treadmill speed in km/h from a speed ('12', '12km/h', '3.3m/s', '7.5mph') or a pace
    ('5:30/km', '8:50/mi', '5:30' per km)."""
    if isinstance(text, (int, float)):
        return float(text)
    s = str(text or "").strip().lower().replace(" ", "")
    m = re.fullmatch(r"([0-9]{1,2}):([0-5][0-9])(?:min)?(?:/(km|mi|mile))?", s)
    if m:
        seconds = int(m.group(1)) * 60 + int(m.group(2))
        if seconds == 0:
            raise UsageError(f"--speed: a pace of {text!r} is not possible")
        km = PACE_UNITS["mi" if (m.group(3) or "km").startswith("mi") else "km"]
        return km * 3600.0 / seconds
    m = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)([a-z/]*)", s)
    unit = (m.group(2) if m else "") or "km/h"
    if not m or unit not in SPEED_UNITS:
        raise UsageError(f"--speed takes a speed (12, 12km/h, 3.3m/s, 7.5mph) or a pace (5:30/km, 8:50/mi), got {text!r}")
    return float(m.group(1)) * SPEED_UNITS[unit]


def load_runner_file(path) -> dict:
    """The fields of a runner file (.toml or .json), with height and speed parsed."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--runner: cannot read {path} ({exc.__class__.__name__})") from None
    try:
        if path.suffix.lower() == ".json":
            d = json.loads(text)
        else:
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                import tomli as tomllib
            d = tomllib.loads(text)
    except ValueError as exc:
        raise UsageError(f"--runner: {path} is not valid {'JSON' if path.suffix.lower() == '.json' else 'TOML'} "
                         f"({str(exc).splitlines()[0]})") from None
    if not isinstance(d, dict):
        raise UsageError(f"--runner: {path} must hold a table of runner fields")
    d = {k.replace("-", "_"): v for k, v in d.items()}
    if "height" in d:
        d["height_m"] = parse_height(d.pop("height"))
    if "speed" in d:
        d["speed_kmh"] = parse_speed(d.pop("speed"))
    return d


def runner_info(runner_file=None, **options) -> RunnerInfo:
    """RunnerInfo from a runner file and command-line options (None: not given; options win).
    ``height`` and ``speed`` are parsed as :func:`parse_height` and :func:`parse_speed`."""
    d = load_runner_file(runner_file) if runner_file else {}
    given = {k: v for k, v in options.items() if v is not None}
    if "height" in given:
        given["height_m"] = parse_height(given.pop("height"))
    if "speed" in given:
        given["speed_kmh"] = parse_speed(given.pop("speed"))
    d.update(given)
    for key in ("sex", "injured_side"):
        if isinstance(d.get(key), str):
            d[key] = d[key].strip().lower() or None
    try:
        if d.get("age") is not None:
            d["age"] = int(d["age"])
        return RunnerInfo.from_dict(d)
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None
