"""The address book over real HTTP, on SQLite and PostgreSQL: contacts, CSV import and export,
groups and their members, the opt-out list."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx

from tests.conftest import Live

ANNA = "+4917612345601"
BERND = "+4917612345602"
CLARA = "+4917612345603"
DAVID = "+4917612345604"
EVA = "+4917612345605"
INVALID = "+49171999999999"  # no German number range matches


async def save(
    live: Live, body: Any, headers: dict[str, str] | None = None, **params: Any
) -> httpx.Response:
    return await live.client.post(
        "/api/v1/contacts", json=body, params=params, headers=headers or live.headers
    )


async def saved(live: Live, body: Any, **params: Any) -> list[dict[str, Any]]:
    r = await save(live, body, **params)
    assert r.status_code == 200, r.text
    assert r.json()["errors"] == [], r.text
    contacts: list[dict[str, Any]] = r.json()["contacts"]
    return contacts


async def get_json(
    live: Live, path: str, headers: dict[str, str] | None = None, **params: Any
) -> Any:
    r = await live.client.get(path, params=params, headers=headers or live.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def listed(live: Live, **params: Any) -> list[str]:
    """The phones of the contacts a list call returns."""
    body = await get_json(live, "/api/v1/contacts", **params)
    return [c["phone"] for c in body["contacts"]]


async def groups_by_name(live: Live) -> dict[str, dict[str, Any]]:
    body = await get_json(live, "/api/v1/groups")
    return {g["name"]: g for g in body["groups"]}


async def opted_out(live: Live, headers: dict[str, str] | None = None) -> dict[str, str]:
    body = await get_json(live, "/api/v1/opt-outs", headers=headers, limit=1000)
    return {o["number"]: o["source"] for o in body["opt_outs"]}


async def import_csv(
    live: Live, text: str, headers: dict[str, str] | None = None, **params: Any
) -> httpx.Response:
    return await import_csv_bytes(live, text.encode(), headers, **params)


async def import_csv_bytes(
    live: Live, content: bytes, headers: dict[str, str] | None = None, **params: Any
) -> httpx.Response:
    return await live.client.post(
        "/api/v1/contacts/import",
        content=content,
        params=params,
        headers={**(headers or live.headers), "Content-Type": "text/csv"},
    )


async def second_account(live: Live, name: str) -> dict[str, str]:
    await live.gateway.accounts.create(name)
    key = (await live.gateway.keys.create(account=name)).key
    return {"Authorization": f"Bearer {key}"}


def assert_error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    error: dict[str, Any] = r.json()["error"]
    assert error["code"] == code, error
    assert error["message"]
    return error


# Contacts -----------------------------------------------------------------------------


async def test_create_one_contact(live: Live) -> None:
    r = await save(
        live,
        {
            "phone": "004917612345601",
            "firstname": " Anna ",
            "lastname": "Schmidt",
            "birthday": "1990-04-23",
            "email": "anna@example.com",
            "extra1": "Gold",
            "extra10": 42,
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["errors"] == [] and body["created"] == 1 and body["updated"] == 0
    (contact,) = body["contacts"]
    assert isinstance(contact["id"], int)
    assert contact["phone"] == ANNA
    assert contact["firstname"] == "Anna"  # trimmed
    assert contact["lastname"] == "Schmidt" and contact["birthday"] == "1990-04-23"
    assert contact["email"] == "anna@example.com"
    assert contact["extra1"] == "Gold" and contact["extra10"] == "42"
    assert contact["extra2"] is None
    assert contact["groups"] == [] and contact["unsubscribed"] is False
    assert contact["created_at"].endswith("Z") and contact["updated_at"].endswith("Z")
    again = await get_json(live, f"/api/v1/contacts/{contact['id']}")
    assert again == contact


async def test_a_list_saves_the_valid_and_reports_the_invalid_by_index(live: Live) -> None:
    items: list[Any] = [
        {"phone": ANNA, "firstname": "Anna"},
        {"phone": INVALID, "firstname": "Bad number"},
        {"phone": BERND, "birthday": "1990-13-01"},
        {"phone": CLARA, "nickname": "Cla"},
        {"firstname": "No phone"},
        {"phone": DAVID, "birthday": "19900423"},  # ISO basic format: not yyyy-MM-dd
        {"phone": DAVID, "email": "not-an-email"},
        {"phone": DAVID, "firstname": "x" * 101},
        "+4917612345606",  # not an object
        {"phone": DAVID, "groups": [{"name": "x"}]},
        {"phone": DAVID, "unsubscribed": "maybe"},
        {"phone": True},
        {"phone": EVA, "firstname": "Eva", "extra3": "three"},
    ]
    r = await save(live, items)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [c["phone"] for c in body["contacts"]] == [ANNA, EVA]
    assert body["created"] == 2 and body["updated"] == 0
    errors = {e["index"]: e["code"] for e in body["errors"]}
    assert errors == {
        1: "invalid_number",
        2: "invalid_birthday",
        3: "unknown_field",
        4: "missing_phone",
        5: "invalid_birthday",
        6: "invalid_email",
        7: "field_too_long",
        8: "invalid_contact",
        9: "invalid_group",
        10: "invalid_field",
        11: "invalid_number",
    }
    assert [e["index"] for e in body["errors"]] == sorted(errors)
    assert all(e["message"] for e in body["errors"])
    assert "nickname" in body["errors"][2]["message"]
    assert await listed(live) == [ANNA, EVA]


async def test_nothing_valid_is_422(live: Live) -> None:
    r = await save(live, [{"phone": INVALID}, {"firstname": "x"}])
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["contacts"] == [] and body["created"] == 0
    assert [(e["index"], e["code"]) for e in body["errors"]] == [
        (0, "invalid_number"),
        (1, "missing_phone"),
    ]
    assert await listed(live) == []


async def test_upsert_updates_the_contact_with_that_phone(live: Live) -> None:
    (anna,) = await saved(
        live, {"phone": ANNA, "firstname": "Anna", "lastname": "Schmidt", "email": "a@b.de"}
    )
    r = await save(
        live, [{"phone": "0049 176 12345601", "lastname": "Meyer", "email": None}, {"phone": BERND}]
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["created"] == 1 and body["updated"] == 1
    updated = body["contacts"][0]
    assert updated["id"] == anna["id"]
    assert updated["firstname"] == "Anna"  # fields not given stay
    assert updated["lastname"] == "Meyer"
    assert updated["email"] is None  # null clears
    assert (await get_json(live, "/api/v1/contacts"))["total"] == 2


async def test_the_same_phone_twice_in_one_call_is_created_then_updated(live: Live) -> None:
    r = await save(
        live,
        [{"phone": ANNA, "firstname": "Anna"}, {"phone": "004917612345601", "lastname": "Schmidt"}],
    )
    body = r.json()
    assert body["created"] == 1 and body["updated"] == 1
    assert body["contacts"][0]["id"] == body["contacts"][1]["id"]
    (contact,) = (await get_json(live, "/api/v1/contacts"))["contacts"]
    assert (contact["firstname"], contact["lastname"]) == ("Anna", "Schmidt")


async def test_upsert_false_reports_existing_phones(live: Live) -> None:
    (anna,) = await saved(live, {"phone": ANNA, "firstname": "Anna"})
    r = await save(
        live, [{"phone": ANNA, "firstname": "Changed"}, {"phone": BERND}], upsert="false"
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["created"] == 1 and body["updated"] == 0
    assert [c["phone"] for c in body["contacts"]] == [BERND]
    (error,) = body["errors"]
    assert error["index"] == 0 and error["code"] == "duplicate_phone"
    assert ANNA in error["message"]
    still = await get_json(live, f"/api/v1/contacts/{anna['id']}")
    assert still["firstname"] == "Anna"
    r = await save(live, {"phone": ANNA}, upsert="false")
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "duplicate_phone"


async def test_groups_by_name_are_created_and_by_id_must_exist(live: Live) -> None:
    (anna,) = await saved(live, {"phone": ANNA, "groups": ["customers", "vip", "customers"]})
    names = [g["name"] for g in anna["groups"]]
    assert sorted(names) == ["customers", "vip"]
    groups = await groups_by_name(live)
    assert {n: g["members"] for n, g in groups.items()} == {"customers": 1, "vip": 1}
    customers = groups["customers"]["id"]
    assert {"id": customers, "name": "customers"} in anna["groups"]
    r = await save(
        live,
        [
            {"phone": BERND, "groups": [customers]},
            {"phone": CLARA, "groups": [customers, 999_999]},
            {"phone": DAVID, "groups": "vip"},
        ],
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert [c["phone"] for c in body["contacts"]] == [BERND, DAVID]
    assert [(e["index"], e["code"]) for e in body["errors"]] == [(1, "group_not_found")]
    assert "999999" in body["errors"][0]["message"]
    groups = await groups_by_name(live)
    assert {n: g["members"] for n, g in groups.items()} == {"customers": 2, "vip": 2}


async def test_list_search_and_filters(live: Live) -> None:
    await saved(
        live,
        [
            {
                "phone": ANNA,
                "firstname": "Anna",
                "lastname": "Schmidt",
                "email": "anna@example.com",
                "extra1": "Gold",
                "groups": ["customers"],
            },
            {
                "phone": BERND,
                "firstname": "Bernd",
                "lastname": "Müller",
                "extra1": "Silver",
                "groups": ["customers", "vip"],
            },
            {
                "phone": CLARA,
                "firstname": "Clara",
                "lastname": "Schmidt",
                "extra1": "Gold",
                "birthday": "1985-12-24",
            },
            {"phone": DAVID, "firstname": "David", "email": "david@example.org"},
            {"phone": "+436501234567", "lastname": "Eder"},
        ],
    )
    assert await listed(live, q="schmidt") == [ANNA, CLARA]  # any case
    assert await listed(live, q="SCHMIDT") == [ANNA, CLARA]
    assert await listed(live, q="anna schmidt") == [ANNA]  # the full name
    assert await listed(live, q="Müller") == [BERND]
    assert await listed(live, q="example.") == [ANNA, DAVID]  # email
    assert await listed(live, q="43650") == ["+436501234567"]  # phone digits
    assert await listed(live, q="nobody") == []
    assert await listed(live, phone="004917612345602") == [BERND]  # normalised
    assert await listed(live, phone=BERND) == [BERND]
    assert await listed(live, group="customers") == [ANNA, BERND]
    vip = (await groups_by_name(live))["vip"]["id"]
    assert await listed(live, group=str(vip)) == [BERND]
    assert await listed(live, field="extra1", value="Gold") == [ANNA, CLARA]
    assert await listed(live, field="birthday", value="1985-12-24") == [CLARA]
    assert await listed(live, q="schmidt", field="extra1", value="Gold", group="customers") == [
        ANNA
    ]
    body = await get_json(live, "/api/v1/contacts", q="schmidt")
    assert body["total"] == 2 and body["next_cursor"] is None
    r = await live.client.get("/api/v1/contacts", params={"group": "nope"}, headers=live.headers)
    assert_error(r, 404, "group_not_found")
    r = await live.client.get(
        "/api/v1/contacts", params={"field": "phone", "value": "x"}, headers=live.headers
    )
    assert r.status_code == 422


async def test_search_takes_like_wildcards_literally(live: Live) -> None:
    await saved(
        live,
        [
            {"phone": ANNA, "firstname": "Anna", "email": "anna@example.com"},
            {"phone": BERND, "firstname": "Bernd", "email": "b_ernd@example.com"},
            {"phone": CLARA, "firstname": "100%", "lastname": "Clara"},
        ],
    )
    # `q` is "contains": % and _ are characters to find, not LIKE wildcards
    assert await listed(live, q="_") == [BERND]
    assert await listed(live, q="%") == [CLARA]
    assert await listed(live, q="a_n") == []


async def test_list_pages_with_a_cursor(live: Live) -> None:
    phones = [f"+49176123456{i:02d}" for i in range(1, 8)]
    await saved(live, [{"phone": p} for p in phones])
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor is not None:
            params["cursor"] = cursor
        body = await get_json(live, "/api/v1/contacts", **params)
        assert body["total"] == 7  # the whole match, on every page
        seen += [c["phone"] for c in body["contacts"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == phones and pages == 3
    r = await live.client.get("/api/v1/contacts", params={"cursor": "abc"}, headers=live.headers)
    assert_error(r, 422, "invalid_cursor")
    r = await live.client.get("/api/v1/contacts", params={"limit": 0}, headers=live.headers)
    assert r.status_code == 422


async def test_get_patch_and_delete_one(live: Live) -> None:
    anna, _ = await saved(
        live,
        [
            {"phone": ANNA, "firstname": "Anna", "lastname": "Schmidt", "groups": ["customers"]},
            {"phone": BERND, "firstname": "Bernd", "groups": ["customers"]},
        ],
    )
    path = f"/api/v1/contacts/{anna['id']}"
    r = await live.client.patch(
        path, json={"lastname": "Meyer", "groups": ["vip"], "extra2": "note"}, headers=live.headers
    )
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["lastname"] == "Meyer" and changed["firstname"] == "Anna"
    assert changed["extra2"] == "note"
    assert [g["name"] for g in changed["groups"]] == ["vip"]  # groups given replace
    assert (await get_json(live, path)) == changed
    members = {n: g["members"] for n, g in (await groups_by_name(live)).items()}
    assert members == {"customers": 1, "vip": 1}
    # fields only: the groups stay
    r = await live.client.patch(path, json={"firstname": "Anne"}, headers=live.headers)
    assert [g["name"] for g in r.json()["groups"]] == ["vip"]
    # a new phone, but not one another contact has
    r = await live.client.patch(path, json={"phone": BERND}, headers=live.headers)
    assert_error(r, 409, "duplicate_phone")
    r = await live.client.patch(path, json={"phone": "004917612345609"}, headers=live.headers)
    assert r.status_code == 200 and r.json()["phone"] == "+4917612345609"
    r = await live.client.patch(path, json={"nickname": "A"}, headers=live.headers)
    assert_error(r, 422, "unknown_field")
    r = await live.client.patch(path, json={"birthday": "23.04.1990"}, headers=live.headers)
    assert_error(r, 422, "invalid_birthday")
    r = await live.client.patch(path, json={"groups": [999_999]}, headers=live.headers)
    assert_error(r, 404, "group_not_found")
    # delete
    r = await live.client.delete(path, headers=live.headers)
    assert r.status_code == 204
    for method in ("GET", "PATCH", "DELETE"):
        r = await live.client.request(
            method, path, json={} if method == "PATCH" else None, headers=live.headers
        )
        assert_error(r, 404, "contact_not_found")
    members = {n: g["members"] for n, g in (await groups_by_name(live)).items()}
    assert members == {"customers": 1, "vip": 0}
    assert await listed(live) == [BERND]
    for bad in ("abc", "99999999", "-1", "1" * 25):
        r = await live.client.get(f"/api/v1/contacts/{bad}", headers=live.headers)
        assert_error(r, 404, "contact_not_found")


async def test_unsubscribed_is_the_opt_out_list(live: Live) -> None:
    anna, bernd = await saved(
        live,
        [
            {"phone": ANNA, "unsubscribed": True},
            {"phone": BERND, "unsubscribed": "no"},
        ],
    )
    assert anna["unsubscribed"] is True and bernd["unsubscribed"] is False
    assert await opted_out(live) == {ANNA: "contact"}
    r = await live.client.patch(
        f"/api/v1/contacts/{anna['id']}", json={"unsubscribed": False}, headers=live.headers
    )
    assert r.status_code == 200 and r.json()["unsubscribed"] is False
    assert await opted_out(live) == {}
    r = await live.client.patch(
        f"/api/v1/contacts/{bernd['id']}", json={"unsubscribed": 1}, headers=live.headers
    )
    assert r.json()["unsubscribed"] is True
    assert await opted_out(live) == {BERND: "contact"}
    # the list drives the flag: a number added there shows as unsubscribed
    r = await live.client.post("/api/v1/opt-outs", json={"numbers": [ANNA]}, headers=live.headers)
    assert r.status_code == 201
    assert (await get_json(live, f"/api/v1/contacts/{anna['id']}"))["unsubscribed"] is True
    # an upsert without the flag leaves it alone
    await saved(live, {"phone": ANNA, "firstname": "Anna"})
    assert await opted_out(live) == {ANNA: "api", BERND: "contact"}
    await saved(live, {"phone": ANNA, "unsubscribed": False})
    assert await opted_out(live) == {BERND: "contact"}


# CSV ----------------------------------------------------------------------------------


async def test_import_semicolon_csv_with_a_mapping(live: Live) -> None:
    text = (
        "Handy;Vorname;Nachname;Geburtstag;Gruppen;Notiz\n"
        f"{ANNA};Anna;Schmidt;1990-04-23;kunden;x\n"
        f"004917612345602;Bernd;Müller;;kunden|vip;y\n"
        "\n"
        f"{INVALID};Bad;Number;;;\n"
        f"{CLARA};Clara;;23.04.1990;;\n"
        f'{DAVID};"David; Jr.";Jones;;vip;\n'
    )
    r = await import_csv(live, text, map="Handy=phone,Geburtstag=birthday,Gruppen=groups")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["rows"] == 5 and body["created"] == 3 and body["updated"] == 0
    assert body["invalid"] == 2
    assert body["ignored_columns"] == ["Notiz"]
    assert [(e["line"], e["code"]) for e in body["errors"]] == [
        (5, "invalid_number"),  # line 4 is blank; lines count from the header, 1
        (6, "invalid_birthday"),
    ]
    contacts = (await get_json(live, "/api/v1/contacts"))["contacts"]
    by_phone = {c["phone"]: c for c in contacts}
    assert list(by_phone) == [ANNA, BERND, DAVID]
    assert by_phone[ANNA]["birthday"] == "1990-04-23"
    assert by_phone[BERND]["lastname"] == "Müller"
    assert by_phone[DAVID]["firstname"] == "David; Jr."
    assert sorted(g["name"] for g in by_phone[BERND]["groups"]) == ["kunden", "vip"]
    members = {n: g["members"] for n, g in (await groups_by_name(live)).items()}
    assert members == {"kunden": 2, "vip": 2}


async def test_import_comma_csv_updates_and_adds_to_a_group(live: Live) -> None:
    await saved(live, {"phone": ANNA, "firstname": "Anna", "lastname": "Schmidt"})
    text = (
        "\ufeffphone,firstname,email,unsubscribed\r\n"
        f'{ANNA},"Anna-Maria","anna@example.com",\r\n'
        f"{EVA},Eva,eva@example.com,yes\r\n"
        f"{DAVID},David,not-an-email,\r\n"
    )
    r = await import_csv(live, text, group="newsletter")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["rows"], body["created"], body["updated"], body["invalid"]) == (3, 1, 1, 1)
    assert body["ignored_columns"] == []
    assert [(e["line"], e["code"]) for e in body["errors"]] == [(4, "invalid_email")]
    contacts = {c["phone"]: c for c in (await get_json(live, "/api/v1/contacts"))["contacts"]}
    assert contacts[ANNA]["firstname"] == "Anna-Maria"
    assert contacts[ANNA]["lastname"] == "Schmidt"  # not in the file: kept
    assert contacts[EVA]["unsubscribed"] is True
    assert await opted_out(live) == {EVA: "contact"}
    newsletter = (await groups_by_name(live))["newsletter"]
    assert newsletter["members"] == 2
    # again, by group id and without upsert: every row is a duplicate now
    r = await import_csv(live, text, group=str(newsletter["id"]), upsert="false")
    body = r.json()
    assert (body["created"], body["updated"], body["invalid"]) == (0, 0, 3)
    assert [(e["line"], e["code"]) for e in body["errors"]] == [
        (2, "duplicate_phone"),
        (3, "duplicate_phone"),
        (4, "invalid_email"),
    ]
    r = await import_csv(live, text, group="999999")
    assert_error(r, 404, "group_not_found")


async def test_tab_separated_csv_and_aliases(live: Live) -> None:
    text = f"Mobile\tFirst_Name\tLast_Name\tE-Mail\n{ANNA}\tAnna\tSchmidt\ta@example.com\n"
    r = await import_csv(live, text)
    assert r.status_code == 200 and r.json()["created"] == 1, r.text
    (contact,) = (await get_json(live, "/api/v1/contacts"))["contacts"]
    assert (contact["firstname"], contact["lastname"], contact["email"]) == (
        "Anna",
        "Schmidt",
        "a@example.com",
    )


async def test_quoted_values_keep_their_line_breaks(live: Live) -> None:
    text = (
        "phone,firstname,extra1\r\n"
        f'{ANNA},Anna,"Hauptstr. 1\r\n12345 Berlin"\r\n'
        f"{INVALID},Bad,x\r\n"
    )
    r = await import_csv(live, text)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["rows"], body["created"], body["invalid"]) == (2, 1, 1)
    assert [(e["line"], e["code"]) for e in body["errors"]] == [(4, "invalid_number")]
    (contact,) = (await get_json(live, "/api/v1/contacts"))["contacts"]
    # the value spans two lines of the file; its line break is part of it
    assert contact["extra1"] in ("Hauptstr. 1\r\n12345 Berlin", "Hauptstr. 1\n12345 Berlin")


async def test_a_file_in_windows_1252_is_read(live: Live) -> None:
    text = f"phone;firstname;lastname\n{BERND};Bernd;Müller\n"
    r = await import_csv_bytes(live, text.encode("cp1252"))
    assert r.status_code == 200 and r.json()["created"] == 1, r.text
    (contact,) = (await get_json(live, "/api/v1/contacts"))["contacts"]
    assert contact["lastname"] == "Müller"


async def test_import_refuses_what_it_cannot_read(live: Live) -> None:
    assert_error(await import_csv(live, ""), 422, "empty_csv")
    assert_error(await import_csv(live, " \n\n"), 422, "empty_csv")
    assert_error(await import_csv(live, "name,email\nAnna,a@b.de\n"), 422, "missing_phone_column")
    r = await import_csv(live, f"Handy\n{ANNA}\n", map="Handy=telefon")
    assert_error(r, 422, "invalid_mapping")
    r = await import_csv(live, f"Handy\n{ANNA}\n", map="Handy")
    assert_error(r, 422, "invalid_mapping")
    assert await listed(live) == []


async def test_export_and_reimport_round_trip(live: Live) -> None:
    await saved(
        live,
        [
            {
                "phone": ANNA,
                "firstname": "Anna",
                "lastname": "Schmidt, Dr.",
                "birthday": "1990-04-23",
                "email": "anna@example.com",
                "extra1": 'says "hi"',
                "groups": ["customers"],
            },
            {"phone": BERND, "firstname": "Zoë", "extra10": "ten", "unsubscribed": True},
            {"phone": CLARA, "groups": ["customers"]},
        ],
    )
    r = await live.client.get("/api/v1/contacts/export", headers=live.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "contacts.csv" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    header = r.text.splitlines()[0].split(",")
    assert header == [
        "id",
        "phone",
        "firstname",
        "lastname",
        "birthday",
        "email",
        *(f"extra{i}" for i in range(1, 11)),
        "unsubscribed",
    ]
    contacts = (await get_json(live, "/api/v1/contacts"))["contacts"]
    assert [int(row["id"]) for row in rows] == [c["id"] for c in contacts]
    assert rows[0]["lastname"] == "Schmidt, Dr." and rows[0]["extra1"] == 'says "hi"'
    assert [row["unsubscribed"] for row in rows] == ["false", "true", "false"]
    assert rows[2]["firstname"] == ""
    # only a group's members
    r = await live.client.get(
        "/api/v1/contacts/export", params={"group": "customers"}, headers=live.headers
    )
    assert [row["phone"] for row in csv.DictReader(io.StringIO(r.text))] == [ANNA, CLARA]
    r = await live.client.get(
        "/api/v1/contacts/export", params={"group": "nope"}, headers=live.headers
    )
    assert_error(r, 404, "group_not_found")
    # the file imports into another account as the same contacts
    other = await second_account(live, "copy")
    exported = (await live.client.get("/api/v1/contacts/export", headers=live.headers)).text
    r = await import_csv(live, exported, headers=other)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["rows"], body["created"], body["invalid"]) == (3, 3, 0)
    assert body["ignored_columns"] == ["id"]
    copied = (await get_json(live, "/api/v1/contacts", headers=other))["contacts"]

    def strip(c: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in c.items() if k not in ("id", "groups", "created_at", "updated_at")}

    assert [strip(c) for c in copied] == [strip(c) for c in contacts]
    assert await opted_out(live, headers=other) == {BERND: "contact"}
    again = (await live.client.get("/api/v1/contacts/export", headers=other)).text
    assert again.split("\n", 1)[1].replace(",", "").strip() != ""
    assert [r[1:] for r in csv.reader(io.StringIO(again))] == [
        r[1:] for r in csv.reader(io.StringIO(exported))
    ]


async def test_export_of_an_empty_book_is_the_header(live: Live) -> None:
    r = await live.client.get("/api/v1/contacts/export", headers=live.headers)
    assert r.status_code == 200
    assert r.text.strip().split(",")[:2] == ["id", "phone"]
    assert len(r.text.strip().splitlines()) == 1


# Groups -------------------------------------------------------------------------------


async def test_groups_crud_with_member_counts(live: Live) -> None:
    anna, bernd, _ = await saved(live, [{"phone": p} for p in (ANNA, BERND, CLARA)])
    r = await live.client.post(
        "/api/v1/groups",
        json={"name": " customers ", "contacts": [anna["id"], bernd["id"]]},
        headers=live.headers,
    )
    assert r.status_code == 201, r.text
    customers = r.json()
    assert customers["name"] == "customers" and customers["members"] == 2
    assert set(customers) == {"id", "name", "members", "created_at", "updated_at"}
    r = await live.client.post("/api/v1/groups", json={"name": "vip"}, headers=live.headers)
    vip = r.json()
    assert r.status_code == 201 and vip["members"] == 0
    assert_error(
        await live.client.post("/api/v1/groups", json={"name": "customers"}, headers=live.headers),
        409,
        "duplicate_group",
    )
    assert_error(
        await live.client.post("/api/v1/groups", json={"name": "  "}, headers=live.headers),
        422,
        "invalid_group_name",
    )
    r = await live.client.post(
        "/api/v1/groups", json={"name": "ghosts", "contacts": [999_999]}, headers=live.headers
    )
    assert_error(r, 404, "contact_not_found")
    r = await live.client.post(
        "/api/v1/groups", json={"name": "x", "bogus": 1}, headers=live.headers
    )
    assert r.status_code == 422
    listed_groups = (await get_json(live, "/api/v1/groups"))["groups"]
    assert [(g["name"], g["members"]) for g in listed_groups] == [("customers", 2), ("vip", 0)]
    # one group, by id or by name
    assert await get_json(live, f"/api/v1/groups/{customers['id']}") == customers
    assert await get_json(live, "/api/v1/groups/customers") == customers
    # rename
    r = await live.client.patch(
        f"/api/v1/groups/{vip['id']}", json={"name": "gold"}, headers=live.headers
    )
    assert r.status_code == 200 and r.json()["name"] == "gold" and r.json()["id"] == vip["id"]
    r = await live.client.patch(
        "/api/v1/groups/gold", json={"name": "customers"}, headers=live.headers
    )
    assert_error(r, 409, "duplicate_group")
    r = await live.client.patch("/api/v1/groups/gold", json={"name": "gold"}, headers=live.headers)
    assert r.status_code == 200  # its own name again is fine
    (contact,) = await saved(live, {"phone": CLARA, "groups": ["gold"]})
    assert contact["groups"] == [{"id": vip["id"], "name": "gold"}]
    # delete: the contacts stay
    r = await live.client.delete(f"/api/v1/groups/{customers['id']}", headers=live.headers)
    assert r.status_code == 204
    assert [g["name"] for g in (await get_json(live, "/api/v1/groups"))["groups"]] == ["gold"]
    assert await listed(live) == [ANNA, BERND, CLARA]
    assert (await get_json(live, f"/api/v1/contacts/{anna['id']}"))["groups"] == []


async def test_unknown_group_is_404_everywhere(live: Live) -> None:
    (anna,) = await saved(live, {"phone": ANNA})
    for ref in ("999999", "nope"):
        path = f"/api/v1/groups/{ref}"
        cases: list[tuple[str, str, Any]] = [
            ("GET", path, None),
            ("PATCH", path, {"name": "x"}),
            ("DELETE", path, None),
            ("GET", f"{path}/members", None),
            ("POST", f"{path}/members", {"contacts": [anna["id"]]}),
            ("DELETE", f"{path}/members", {"contacts": [anna["id"]]}),
        ]
        for method, url, body in cases:
            r = await live.client.request(method, url, json=body, headers=live.headers)
            assert_error(r, 404, "group_not_found")
    assert (await get_json(live, "/api/v1/groups"))["groups"] == []


async def test_group_whose_name_is_a_number(live: Live) -> None:
    r = await live.client.post("/api/v1/groups", json={"name": "2024"}, headers=live.headers)
    group = r.json()
    assert r.status_code == 201
    assert (await get_json(live, "/api/v1/groups/2024"))["id"] == group["id"]
    assert (await get_json(live, f"/api/v1/groups/{group['id']}"))["name"] == "2024"


async def test_members_by_contact_id_and_by_phone(live: Live) -> None:
    anna, bernd = await saved(live, [{"phone": ANNA}, {"phone": BERND}])
    r = await live.client.post("/api/v1/groups", json={"name": "team"}, headers=live.headers)
    gid = r.json()["id"]
    path = f"/api/v1/groups/{gid}/members"
    r = await live.client.post(
        path,
        json={"contacts": [anna["id"], anna["id"]], "phones": ["004917612345602", CLARA]},
        headers=live.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["members"] == 3 and r.json()["id"] == gid
    # an unknown phone became a contact
    assert await listed(live) == [ANNA, BERND, CLARA]
    # adding again changes nothing
    r = await live.client.post(path, json={"contacts": [bernd["id"]]}, headers=live.headers)
    assert r.json()["members"] == 3
    members = await get_json(live, path, limit=2)
    assert [c["phone"] for c in members["contacts"]] == [ANNA, BERND]
    assert members["total"] == 3 and members["next_cursor"] is not None
    rest = await get_json(live, path, limit=2, cursor=members["next_cursor"])
    assert [c["phone"] for c in rest["contacts"]] == [CLARA] and rest["next_cursor"] is None
    assert await listed(live, group="team") == [ANNA, BERND, CLARA]
    # remove by phone and by id
    r = await live.client.request(
        "DELETE", path, json={"phones": [CLARA, DAVID]}, headers=live.headers
    )
    assert r.status_code == 200 and r.json()["members"] == 2
    r = await live.client.request(
        "DELETE", path, json={"contacts": [anna["id"]]}, headers=live.headers
    )
    assert r.json()["members"] == 1
    assert await listed(live, group="team") == [BERND]
    assert await listed(live) == [ANNA, BERND, CLARA]  # removed from the group, not deleted
    assert await listed(live, phone=DAVID) == []  # removing a stranger creates nothing
    # unknown contacts, invalid phones: refused, nothing changes
    r = await live.client.post(path, json={"contacts": [anna["id"], 999_999]}, headers=live.headers)
    error = assert_error(r, 404, "contact_not_found")
    assert "999999" in error["message"]
    r = await live.client.post(path, json={"phones": [INVALID]}, headers=live.headers)
    assert_error(r, 422, "invalid_number")
    assert (await get_json(live, f"/api/v1/groups/{gid}"))["members"] == 1


# Opt-outs -----------------------------------------------------------------------------


async def test_opt_outs_list_add_remove(live: Live) -> None:
    r = await live.client.post(
        "/api/v1/opt-outs", json={"numbers": ["004917612345602", ANNA]}, headers=live.headers
    )
    assert r.status_code == 201, r.text
    assert r.json() == {"numbers": [BERND, ANNA]}
    # adding again is harmless
    r = await live.client.post(
        "/api/v1/opt-outs", json={"numbers": [ANNA, CLARA]}, headers=live.headers
    )
    assert r.status_code == 201
    body = await get_json(live, "/api/v1/opt-outs")
    assert [o["number"] for o in body["opt_outs"]] == [ANNA, BERND, CLARA]  # number order
    assert body["total"] == 3 and body["next_cursor"] is None
    assert all(o["source"] == "api" and o["created_at"].endswith("Z") for o in body["opt_outs"])
    page = await get_json(live, "/api/v1/opt-outs", limit=2)
    assert [o["number"] for o in page["opt_outs"]] == [ANNA, BERND]
    assert page["next_cursor"] == BERND and page["total"] == 3
    rest = await get_json(live, "/api/v1/opt-outs", limit=2, cursor=page["next_cursor"])
    assert [o["number"] for o in rest["opt_outs"]] == [CLARA]
    r = await live.client.delete(f"/api/v1/opt-outs/{ANNA}", headers=live.headers)
    assert r.status_code == 204
    r = await live.client.delete("/api/v1/opt-outs/004917612345602", headers=live.headers)
    assert r.status_code == 204  # any spelling of the number
    r = await live.client.delete(f"/api/v1/opt-outs/{ANNA}", headers=live.headers)
    assert_error(r, 404, "opt_out_not_found")
    r = await live.client.delete(f"/api/v1/opt-outs/{INVALID}", headers=live.headers)
    assert_error(r, 422, "invalid_number")
    assert await opted_out(live) == {CLARA: "api"}
    r = await live.client.post(
        "/api/v1/opt-outs", json={"numbers": [DAVID, INVALID]}, headers=live.headers
    )
    assert_error(r, 422, "invalid_number")
    r = await live.client.post("/api/v1/opt-outs", json={"numbers": []}, headers=live.headers)
    assert r.status_code == 422
    assert await opted_out(live) == {CLARA: "api"}


async def test_address_book_needs_the_contacts_scopes(live: Live) -> None:
    key = (await live.gateway.keys.create(scopes="messages:send,messages:read")).key
    headers = {"Authorization": f"Bearer {key}"}
    for method, path, body in [
        ("GET", "/api/v1/contacts", None),
        ("POST", "/api/v1/contacts", {"phone": ANNA}),
        ("GET", "/api/v1/groups", None),
        ("POST", "/api/v1/groups", {"name": "x"}),
        ("GET", "/api/v1/opt-outs", None),
        ("POST", "/api/v1/opt-outs", {"numbers": [ANNA]}),
    ]:
        r = await live.client.request(method, path, json=body, headers=headers)
        assert r.status_code == 403, (method, path, r.text)
    reader = (await live.gateway.keys.create(scopes="contacts:read")).key
    headers = {"Authorization": f"Bearer {reader}"}
    assert (await live.client.get("/api/v1/contacts", headers=headers)).status_code == 200
    r = await live.client.post("/api/v1/contacts", json={"phone": ANNA}, headers=headers)
    assert r.status_code == 403
