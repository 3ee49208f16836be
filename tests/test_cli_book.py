"""The address-book and campaign commands (`smsbridge contacts ...`, `smsbridge campaigns ...`),
run as real processes against SQLite and PostgreSQL. No dispatcher runs: states change, nothing
is expanded or sent."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.test_cli import smsbridge

HELP = {
    ("contacts",): ["import", "export"],
    ("contacts", "import"): ["--group", "--map", "--no-upsert", "--account"],
    ("contacts", "export"): ["--group", "--account"],
    ("campaigns",): ["create", "start", "pause", "resume", "cancel", "status", "list"],
    ("campaigns", "create"): ["--text", "--group", "--contact", "--number", "--send-at",
                              "--throttle", "--quiet", "--from", "--birthday-at",
                              "--empty-missing", "--start", "--account"],
    ("campaigns", "start"): ["--watch", "--account"],
    ("campaigns", "status"): ["--watch", "--account"],
    ("campaigns", "pause"): ["--account"],
    ("campaigns", "resume"): ["--watch", "--account"],
    ("campaigns", "cancel"): ["--account"],
    ("campaigns", "list"): ["--account"],
}  # fmt: skip

CSV = (
    "\ufeffHandy;Vorname;Geburtstag;Notiz\n"
    "+4917612000001;Anna;1990-04-23;x\n"
    "not a number;Bob;;y\n"  # line 3
    "+4917612000002;Carl;;\n"
    ";Dora;;\n"  # line 5: no phone
    "+4917612000003;Emil;1990-13-01;\n"  # line 6: no such date
    "\n"
    "0049 176 12000004;Fritz;;z\n"
)
MAP = "Handy=phone,Vorname=firstname,Geburtstag=birthday"


def assert_fails(result: subprocess.CompletedProcess[str], code: str) -> None:
    """Exit status 1 and the CLI's one-line error (not a Python traceback)."""
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr, result.stderr
    assert f"error ({code}):" in result.stderr, result.stderr


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    return {"SMSBRIDGE_DATABASE_URL": database_url, "COLUMNS": "200"}


@pytest.mark.parametrize("command", list(HELP), ids=" ".join)
def test_help(command: tuple[str, ...], tmp_path: Path) -> None:
    env = {"SMSBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'help.db'}", "COLUMNS": "200"}
    result = smsbridge(*command, "--help", env=env)
    assert result.returncode == 0
    assert "Usage" in result.stdout
    for option in HELP[command]:
        assert option in result.stdout, (command, option)


def summary(stdout: str) -> tuple[int, int, int, int]:
    found = re.search(r"(\d+) rows: (\d+) created, (\d+) updated, (\d+) invalid", stdout)
    assert found, stdout
    rows, created, updated, invalid = (int(g) for g in found.groups())
    return rows, created, updated, invalid


def test_contacts_import_and_export(env: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "kunden.csv"
    source.write_text(CSV, encoding="utf-8")
    first = smsbridge("contacts", "import", str(source), "--group", "kunden", "--map", MAP,
                      env=env)  # fmt: skip
    assert summary(first.stdout) == (6, 3, 0, 3)
    assert "ignored columns: Notiz" in first.stdout
    problems = [line for line in first.stderr.splitlines() if line.startswith("line ")]
    assert [p.split(":")[:2] for p in problems] == [
        ["line 3", " invalid_number"],
        ["line 5", " missing_phone"],
        ["line 6", " invalid_birthday"],
    ]
    again = smsbridge("contacts", "import", str(source), "--group", "kunden", "--map", MAP,
                      env=env)  # fmt: skip
    assert summary(again.stdout) == (6, 0, 3, 3)
    strict = smsbridge("contacts", "import", str(source), "--map", MAP, "--no-upsert", env=env)
    assert summary(strict.stdout) == (6, 0, 0, 6)
    assert "duplicate_phone" in strict.stderr

    # A second file for another group; the first group keeps its members.
    other = tmp_path / "other.csv"
    other.write_text('phone,firstname,lastname,extra1\n+4917612000009,Zoe,"Doe, Jr.",Z-9\n')
    result = smsbridge("contacts", "import", str(other), "-g", "vip", env=env)
    assert summary(result.stdout) == (1, 1, 0, 0)

    exported = tmp_path / "out.csv"
    smsbridge("contacts", "export", str(exported), env=env)
    rows = list(csv.reader(io.StringIO(exported.read_text(encoding="utf-8"))))
    assert rows[0][:3] == ["id", "phone", "firstname"]
    assert "birthday" in rows[0] and "unsubscribed" in rows[0]
    records = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert [(r["phone"], r["firstname"]) for r in records] == [
        ("+4917612000001", "Anna"),
        ("+4917612000002", "Carl"),
        ("+4917612000004", "Fritz"),
        ("+4917612000009", "Zoe"),
    ]
    assert records[0]["birthday"] == "1990-04-23"
    assert records[3]["lastname"] == "Doe, Jr." and records[3]["extra1"] == "Z-9"
    assert {r["unsubscribed"] for r in records} == {"false"}
    # To stdout, and by group.
    to_stdout = smsbridge("contacts", "export", "--group", "kunden", env=env).stdout
    lines = to_stdout.splitlines()
    assert lines[0].startswith("id,phone,firstname")
    assert [line.split(",")[1] for line in lines[1:]] == [
        "+4917612000001", "+4917612000002", "+4917612000004",
    ]  # fmt: skip
    vip = smsbridge("contacts", "export", "-g", "vip", env=env).stdout.splitlines()
    assert len(vip) == 2 and "+4917612000009" in vip[1]
    missing = smsbridge("contacts", "export", "--group", "nope", env=env, check=False)
    assert_fails(missing, "group_not_found")

    # The export imports back (its `id` column is ignored) and updates every contact.
    back = smsbridge("contacts", "import", str(exported), env=env)
    assert summary(back.stdout) == (4, 0, 4, 0)
    assert "ignored columns: id" in back.stdout


def test_contacts_import_errors(env: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "c.csv"
    source.write_text("Handy,Name\n+4917612000001,Anna\n")
    no_phone = smsbridge("contacts", "import", str(source), env=env, check=False)
    assert_fails(no_phone, "missing_phone_column")
    absent = smsbridge("contacts", "import", str(tmp_path / "none.csv"), env=env, check=False)
    assert absent.returncode == 2
    nobody = smsbridge("contacts", "import", str(source), "--map", "Handy=phone", "--account",
                       "nobody", env=env, check=False)  # fmt: skip
    assert_fails(nobody, "account_not_found")
    ok = smsbridge("contacts", "import", str(source), "-m", "handy=phone", env=env)
    assert summary(ok.stdout) == (1, 1, 0, 0)


def state_of(output: str, campaign_id: int) -> str:
    found = re.search(rf"campaign {campaign_id} .*?: (\w+)", output)
    assert found, output
    return found.group(1)


def listed_states(output: str) -> dict[int, str]:
    states: dict[int, str] = {}
    for line in output.splitlines():
        cells = [c.strip() for c in re.split(r"[│|┃]", line) if c.strip()]
        if cells and cells[0].isdigit():
            states[int(cells[0])] = cells[2]
    return states


def test_campaign_lifecycle(env: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "c.csv"
    source.write_text("phone,firstname\n+4917612000001,Anna\n+4917612000002,Bob\n")
    smsbridge("contacts", "import", str(source), "--group", "customers", env=env)
    created = smsbridge("campaigns", "create", "spring", "--text", "Hi {{firstname}}", "--group",
                        "customers", "--number", "+4917612000009", "--empty-missing",
                        "--throttle", "30", "--quiet", "21:00-08:00", env=env)  # fmt: skip
    assert re.fullmatch(r"\d+\n", created.stdout), created.stdout
    cid = int(created.stdout)
    assert f"campaign {cid} draft" in created.stderr

    status = smsbridge("campaigns", "status", str(cid), env=env).stdout
    assert state_of(status, cid) == "draft"
    assert "spring" in status and "total 0" in status
    started = smsbridge("campaigns", "start", str(cid), env=env).stdout
    assert state_of(started, cid) == "running"
    assert "total 3" in started
    again = smsbridge("campaigns", "start", str(cid), env=env, check=False)
    assert_fails(again, "campaign_not_draft")
    assert state_of(smsbridge("campaigns", "status", str(cid), env=env).stdout, cid) == "running"
    paused = smsbridge("campaigns", "pause", str(cid), env=env).stdout
    assert state_of(paused, cid) == "paused" and "(paused)" in paused
    twice = smsbridge("campaigns", "pause", str(cid), env=env, check=False)
    assert_fails(twice, "campaign_not_running")
    resumed = smsbridge("campaigns", "resume", str(cid), env=env).stdout
    assert state_of(resumed, cid) == "running"
    cancelled = smsbridge("campaigns", "cancel", str(cid), env=env).stdout
    assert state_of(cancelled, cid) == "cancelled"
    late = smsbridge("campaigns", "resume", str(cid), env=env, check=False)
    assert_fails(late, "campaign_not_paused")

    # Created and started at once; scheduled for later; a birthday campaign; a draft.
    now = smsbridge("campaigns", "create", "now", "-t", "Hello", "-n", "+4917612000001",
                    "--start", env=env)  # fmt: skip
    now_id = int(now.stdout)
    assert f"campaign {now_id} running" in now.stderr
    later = smsbridge("campaigns", "create", "later", "-t", "Hello", "-g", "customers",
                      "--send-at", "2099-01-01T09:00:00+01:00", env=env, check=False)  # fmt: skip
    assert_fails(later, "send_at_too_far")
    soon = smsbridge("campaigns", "create", "soon", "-t", "Hello", "-g", "customers",
                     "--send-at", _in_a_day(), "--start", env=env)  # fmt: skip
    soon_id = int(soon.stdout)
    assert f"campaign {soon_id} scheduled" in soon.stderr
    bday = smsbridge("campaigns", "create", "bday", "-t", "Happy birthday {{firstname}}",
                     "--birthday-at", "09:30", "--empty-missing", env=env)  # fmt: skip
    bday_id = int(bday.stdout)
    draft = int(smsbridge("campaigns", "create", "idea", "-t", "x", env=env).stdout)

    listing = smsbridge("campaigns", "list", env=env).stdout
    states = listed_states(listing)
    assert states == {
        cid: "cancelled", now_id: "running", soon_id: "scheduled", bday_id: "draft",
        draft: "draft",
    }  # fmt: skip
    assert list(states) == sorted(states, reverse=True)  # newest first
    assert "spring" in listing and "bday" in listing


def _in_a_day() -> str:
    return (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0).isoformat()


def test_campaign_errors(env: dict[str, str]) -> None:
    missing_group = smsbridge("campaigns", "create", "x", "-t", "y", "-g", "nope", env=env,
                              check=False)  # fmt: skip
    assert_fails(missing_group, "group_not_found")
    half_quiet = smsbridge("campaigns", "create", "x", "-t", "y", "--quiet", "21:00", env=env,
                           check=False)  # fmt: skip
    assert_fails(half_quiet, "invalid_quiet_hours")
    bad_clock = smsbridge("campaigns", "create", "x", "-t", "y", "--quiet", "21:00-25:00",
                          env=env, check=False)  # fmt: skip
    assert_fails(bad_clock, "invalid_time_of_day")
    empty = int(smsbridge("campaigns", "create", "x", "-t", "y", env=env).stdout)
    refused = smsbridge("campaigns", "start", str(empty), env=env, check=False)
    assert_fails(refused, "no_valid_recipient")
    absent = smsbridge("campaigns", "status", "999", env=env, check=False)
    assert_fails(absent, "campaign_not_found")
    other = smsbridge("campaigns", "status", str(empty), "--account", "nobody", env=env,
                      check=False)  # fmt: skip
    assert_fails(other, "account_not_found")


# Checks made before the command reaches the database must report like every other error.


@pytest.fixture
def sqlite_env(tmp_path: Path) -> dict[str, str]:
    return {"SMSBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "COLUMNS": "200"}


def test_contacts_import_bad_mapping_is_reported(
    sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    source = tmp_path / "c.csv"
    source.write_text("Handy,Name\n+4917612000001,Anna\n")
    bad_map = smsbridge("contacts", "import", str(source), "--map", "Handy=telefon",
                        env=sqlite_env, check=False)  # fmt: skip
    assert_fails(bad_map, "invalid_mapping")


def test_campaigns_create_bad_send_at_is_reported(sqlite_env: dict[str, str]) -> None:
    bad_time = smsbridge("campaigns", "create", "x", "-t", "y", "--send-at", "tomorrow",
                         env=sqlite_env, check=False)  # fmt: skip
    assert_fails(bad_time, "invalid_send_at")


def test_failed_export_leaves_the_target_file_alone(
    sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "contacts.csv"
    target.write_text("an earlier export\n")
    result = smsbridge("contacts", "export", str(target), "--group", "typo", env=sqlite_env,
                       check=False)  # fmt: skip
    assert_fails(result, "group_not_found")
    assert target.read_text() == "an earlier export\n"
