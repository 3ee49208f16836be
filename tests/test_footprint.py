"""What the gateway loads at start: large data only when a request needs it."""

from __future__ import annotations

import subprocess
import sys


def test_starting_does_not_load_phonenumbers_place_names() -> None:
    # phonenumbers' geocoder and carrier data take about 100 MB of memory; only seven.io's
    # /lookup/format and /pricing need them.
    probe = (
        "import sys; from smsbridge.api.app import create_app; "
        "print(sorted(m for m in sys.modules if m.startswith(('phonenumbers.geo', "
        "'phonenumbers.carrier'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"
