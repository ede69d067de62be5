import re

import httpx
import pytest

from regie.auth.principal import SESSION_COOKIE
from regie.frontends.html.sign_in import safe_next
from tests.auth import people as make
from tests.conftest import COLLECTOR_PIN, DEVICE_SECRET, OFFICE_PASSWORD


async def form_token(client: httpx.AsyncClient) -> str:
    page = await client.get("/connexion")
    assert page.status_code == 200
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match is not None
    return match.group(1)


async def test_an_office_user_signs_in_and_gets_a_strict_httponly_session_cookie(
    client: httpx.AsyncClient,
) -> None:
    await make.office()
    csrf = await form_token(client)
    response = await client.post(
        "/connexion",
        data={
            "csrf": csrf,
            "kind": "office",
            "username": "claire",
            "secret": OFFICE_PASSWORD,
            "next": "/graphql",
        },
    )
    assert response.status_code == 303 and response.headers["location"] == "/graphql"
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)
    )
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    me = await client.post("/graphql", json={"query": "{ me { username } }"})
    assert me.json()["data"]["me"]["username"] == "claire"


async def test_a_collector_signs_in_and_the_phone_remembers_its_device(
    client: httpx.AsyncClient,
) -> None:
    await make.collector()
    csrf = await form_token(client)
    response = await client.post(
        "/connexion",
        data={
            "csrf": csrf,
            "kind": "collector",
            "username": "jldelmas",
            "device": DEVICE_SECRET,
            "secret": COLLECTOR_PIN,
            "remember": "1",
        },
    )
    assert response.status_code == 303
    assert "regie_device" in response.headers.get("set-cookie", "") or any(
        h.startswith("regie_device") for h in response.headers.get_list("set-cookie")
    )
    home = await client.get("/")
    token = re.search(r'name="csrf" value="([^"]+)"', home.text)
    assert token is not None
    signed_out = await client.post("/deconnexion", data={"csrf": token.group(1)})
    assert signed_out.status_code == 303
    page = await client.get("/connexion")
    assert page.status_code == 200
    assert "Code du téléphone" not in page.text  # typed once, then remembered


async def test_a_wrong_pin_shows_the_one_refusal_in_french(client: httpx.AsyncClient) -> None:
    await make.collector()
    csrf = await form_token(client)
    response = await client.post(
        "/connexion",
        data={
            "csrf": csrf,
            "kind": "collector",
            "username": "jldelmas",
            "device": DEVICE_SECRET,
            "secret": "000111",
        },
    )
    assert response.status_code == 401
    assert "code secret incorrect" in response.text
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


async def test_a_sign_in_without_the_form_token_is_refused(client: httpx.AsyncClient) -> None:
    await make.office()
    response = await client.post(
        "/connexion", data={"kind": "office", "username": "claire", "secret": OFFICE_PASSWORD}
    )
    assert response.status_code == 400
    assert "expiré" in response.text


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/graphql", "/graphql"),
        ("https://evil.example/", "/"),
        ("//evil.example", "/"),
        ("/\\evil", "/"),
        (None, "/"),
    ],
)
def test_only_local_paths_are_followed_after_sign_in(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected
