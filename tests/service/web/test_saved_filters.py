"""Saved filters: per user, only the list's own parameters, replaceable, deletable, private."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session

from service.enterprises.saved_filters import clean_query
from tests.service.web.htmlcheck import problems
from tests.service.web.pageutil import add, csrf_of, login


def test_clean_query_keeps_only_list_parameters() -> None:
    assert clean_query("tier=little_giant&evil=1&district=500104&q=") == (
        "district=500104&tier=little_giant"
    )


def test_save_use_replace_and_delete(site: Callable[..., TestClient], session: Session) -> None:
    add(session, "filter_user")
    add(session, "other_user")
    client = site()
    login(client, "filter_user")
    page = client.get("/enterprises?district=500104&tier=specialized_sme")
    assert not problems(page.text), problems(page.text)
    r = client.post(
        "/enterprises/filters",
        data={
            "csrf_token": csrf_of(page.text),
            "name": "大渡口专精特新",
            "query": "district=500104&tier=specialized_sme&x=1",
        },
    )
    assert r.status_code == 303
    listing = client.get("/enterprises")
    assert (
        'href="/enterprises?district=500104&amp;tier=specialized_sme">大渡口专精特新</a>'
        in listing.text
    )
    again = client.post(
        "/enterprises/filters",
        data={
            "csrf_token": csrf_of(listing.text),
            "name": "大渡口专精特新",
            "query": "district=500104",
        },
    )
    assert again.status_code == 303
    listing = client.get("/enterprises")
    assert listing.text.count(">大渡口专精特新</a>") == 1
    assert 'href="/enterprises?district=500104">大渡口专精特新</a>' in listing.text
    other = site()
    login(other, "other_user")
    assert "大渡口专精特新" not in other.get("/enterprises").text
    import re

    filter_id = re.search(r'action="/enterprises/filters/(\d+)/delete"', listing.text)
    assert filter_id
    stolen = other.post(
        f"/enterprises/filters/{filter_id.group(1)}/delete",
        data={"csrf_token": csrf_of(other.get("/enterprises").text)},
    )
    assert stolen.status_code == 404
    gone = client.post(
        f"/enterprises/filters/{filter_id.group(1)}/delete",
        data={"csrf_token": csrf_of(listing.text)},
    )
    assert gone.status_code == 303
    assert "大渡口专精特新" not in client.get("/enterprises").text
