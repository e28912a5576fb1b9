"""The site account pages (accounts/views.py): sign-up, log in and out, profile, password change and reset."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY, authenticate
from django.core import mail
from django.test import Client

from accounts.forms import EMAIL_TAKEN, LOGIN_FAILED
from accounts.models import User
from accounts.views import EMAIL_CONFIRM_LINK_INVALID, EMAIL_CONFIRMED
from tests.jobs.workers import jobs_run

pytestmark = pytest.mark.django_db

PASSWORD = "plum-harbour-42"
NEW_PASSWORD = "quiet-lantern-97"
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


@pytest.fixture
def shopper() -> User:
    return User.objects.create_user("ana@example.com", PASSWORD, full_name="Ana Pérez")


def logged_in_user_id(client: Client) -> str | None:
    return client.session.get(SESSION_KEY)


def signup_data(**overrides: str) -> dict[str, str]:
    return {"email": "Luis@Example.com", "full_name": "Luis", "password1": PASSWORD, "password2": PASSWORD, **overrides}


def login(client: Client, email: str = "ana@example.com", password: str = PASSWORD, **extra: str):
    return client.post("/account/login/", {"username": email, "password": password, **extra})


# --- Sign-up ------------------------------------------------------------------------


def test_signup_creates_the_account_logs_in_and_shows_the_profile(client: Client) -> None:
    page = client.get("/account/signup/")
    assert page.status_code == 200
    assert "<title>Sign up · Tienda</title>" in page.text

    response = client.post("/account/signup/", signup_data())

    assert response.status_code == 302
    assert response["Location"] == "/account/"
    user = User.objects.get(email="luis@example.com")
    assert user.full_name == "Luis"
    assert logged_in_user_id(client) == str(user.pk)
    profile = client.get("/account/")
    assert "luis@example.com" in profile.text
    assert 'href="/orders/"' in profile.text
    assert 'href="/account/sessions/"' in profile.text


def test_signup_with_a_taken_email_says_so_and_offers_login_or_reset(client: Client, shopper: User) -> None:
    response = client.post("/account/signup/", signup_data(email="ANA@example.com"))

    assert response.status_code == 200
    assert str(EMAIL_TAKEN) in response.text
    assert 'href="/account/login/"' in response.text
    assert 'href="/account/password/reset/"' in response.text
    assert User.objects.count() == 1
    assert logged_in_user_id(client) is None


def test_signup_applies_the_password_validators(client: Client) -> None:
    response = client.post("/account/signup/", signup_data(password1="12345678", password2="12345678"))

    assert response.status_code == 200
    assert "This password is entirely numeric." in response.text
    assert 'aria-invalid="true"' in response.text
    assert 'id="id_password1_error"' in response.text
    assert not User.objects.exists()


def test_signup_rejects_mismatched_passwords(client: Client) -> None:
    response = client.post("/account/signup/", signup_data(password2="something-else-42"))

    assert "The two passwords do not match." in response.text
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/search/?q=tee", "/search/?q=tee"),
        ("https://evil.example/", "/account/"),
        ("//evil.example/", "/account/"),
    ],
)
def test_signup_follows_next_only_within_the_site(client: Client, next_url: str, expected: str) -> None:
    response = client.post(f"/account/signup/?next={next_url}", signup_data())

    assert response.status_code == 302
    assert response["Location"] == expected


# --- Log in and out ---------------------------------------------------------------------


def test_login_ignores_the_case_of_the_email(client: Client, shopper: User) -> None:
    page = client.get("/account/login/")
    assert "<title>Log in · Tienda</title>" in page.text
    assert 'autocomplete="current-password"' in page.text

    response = login(client, email="Ana@Example.COM")

    assert response.status_code == 302
    assert response["Location"] == "/account/"
    assert logged_in_user_id(client) == str(shopper.pk)


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [("/c/shoes/?page=2", "/c/shoes/?page=2"), ("https://evil.example/steal", "/account/")],
)
def test_login_follows_next_only_within_the_site(client: Client, shopper: User, next_url: str, expected: str) -> None:
    response = login(client, next=next_url)

    assert response["Location"] == expected


def test_wrong_password_and_unknown_email_get_the_same_generic_message(client: Client, shopper: User) -> None:
    wrong_password = login(client, password="not-the-password")
    unknown_email = login(client, email="nobody@example.com")

    assert wrong_password.status_code == unknown_email.status_code == 200
    for response in (wrong_password, unknown_email):
        assert str(LOGIN_FAILED) in response.text
        assert logged_in_user_id(client) is None


def test_inactive_user_cannot_log_in_and_gets_the_generic_message(client: Client, shopper: User) -> None:
    User.objects.filter(pk=shopper.pk).update(is_active=False)

    response = login(client)

    assert response.status_code == 200
    assert str(LOGIN_FAILED) in response.text
    assert logged_in_user_id(client) is None


def test_logout_needs_a_post_and_get_shows_the_button(client: Client, shopper: User) -> None:
    client.force_login(shopper)

    page = client.get("/account/logout/")
    assert page.status_code == 200
    assert 'method="post" action="/account/logout/"' in page.text
    assert logged_in_user_id(client) == str(shopper.pk)

    response = client.post("/account/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert logged_in_user_id(client) is None


def test_header_shows_login_links_or_account_and_logout(client: Client, shopper: User) -> None:
    anonymous = client.get("/account/password/reset/").text
    assert 'href="/account/login/"' in anonymous
    assert 'href="/account/signup/"' in anonymous

    client.force_login(shopper)
    page = client.get("/account/").text
    assert '<a href="/account/" data-account-link>Account (Ana)</a>' in page
    assert '<form class="nav-logout" action="/account/logout/" method="post">' in page


def test_profile_needs_login(client: Client) -> None:
    response = client.get("/account/")

    assert response.status_code == 302
    assert response["Location"] == "/account/login/?next=/account/"


# --- Passwords ------------------------------------------------------------------------


def test_password_change_keeps_this_session_and_ends_the_old_password(client: Client, shopper: User) -> None:
    other_device = Client()
    other_device.force_login(shopper)
    client.force_login(shopper)

    response = client.post(
        "/account/password/change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert response["Location"] == "/account/password/change/done/"
    assert client.get("/account/").status_code == 200
    assert other_device.get("/account/").status_code == 302
    assert authenticate(username="ana@example.com", password=PASSWORD) is None
    assert authenticate(username="ana@example.com", password=NEW_PASSWORD) == shopper


def test_password_reset_mails_existing_addresses_only_and_answers_the_same(client: Client, shopper: User) -> None:
    known = client.post("/account/password/reset/", {"email": "Ana@example.com"})
    assert mail.outbox == []  # the request only queues the job
    jobs_run()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ana@example.com"]
    mail.outbox.clear()

    unknown = client.post("/account/password/reset/", {"email": "nobody@example.com"})
    jobs_run()
    assert mail.outbox == []

    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert known.status_code == 302
    pages = [CSRF_INPUT.sub("", client.get(response["Location"]).text) for response in (known, unknown)]
    assert pages[0] == pages[1]


def test_password_reset_link_sets_a_new_password(client: Client, shopper: User) -> None:
    client.post("/account/password/reset/", {"email": "ana@example.com"})
    jobs_run()
    link = re.search(re.escape(settings.SITE_URL) + r"(/account/password/reset/\S+/)", mail.outbox[0].body)
    assert link is not None

    form_page = client.get(link.group(1), follow=True)
    assert form_page.context["validlink"]
    done = client.post(form_page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert done["Location"] == "/account/password/reset/complete/"
    assert authenticate(username="ana@example.com", password=NEW_PASSWORD) == shopper
    assert client.get(link.group(1), follow=True).context["validlink"] is False


# --- CSRF and Spanish ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/account/login/", "/account/signup/", "/account/password/reset/"])
def test_account_forms_refuse_a_post_without_csrf_token(path: str) -> None:
    strict = Client(enforce_csrf_checks=True)

    assert strict.post(path, {"username": "ana@example.com", "email": "ana@example.com"}).status_code == 403


def test_the_logout_refuses_a_post_from_another_site_instead(shopper: User) -> None:
    # No token in the logout form (docs/decisions/0015-logout-without-a-csrf-token.md; tests/security/test_csrf.py).
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(shopper)
    assert strict.post("/account/logout/", HTTP_ORIGIN="https://evil.example").status_code == 403
    assert "_auth_user_id" in strict.session


def test_login_form_carries_the_csrf_token_it_needs() -> None:
    strict = Client(enforce_csrf_checks=True)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', strict.get("/account/login/").text)
    assert token is not None

    response = strict.post(
        "/account/login/", {"username": "nobody@example.com", "password": "x", "csrfmiddlewaretoken": token.group(1)}
    )

    assert response.status_code == 200
    assert str(LOGIN_FAILED) in response.text


def test_account_pages_speak_spanish_after_set_language(client: Client, shopper: User) -> None:
    client.post("/i18n/setlang/", {"language": "es", "next": "/account/login/"})

    page = client.get("/account/login/")
    assert '<html lang="es">' in page.text
    assert "<title>Iniciar sesión · Tienda</title>" in page.text
    assert "¿Has olvidado tu contraseña?" in page.text

    failed = login(client, password="not-the-password")
    assert "El correo electrónico o la contraseña no son correctos." in failed.text


# --- The welcome e-mail and the address confirmation ----------------------------------------


def test_signup_queues_a_welcome_in_the_page_language_whose_link_confirms_the_address(client: Client) -> None:
    client.post("/i18n/setlang/", {"language": "es", "next": "/"})
    form = {"email": "eva@example.com", "full_name": "Eva", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    assert client.post("/account/signup/", form).status_code == 302
    user = User.objects.get(email="eva@example.com")
    assert (user.language, user.email_confirmed_at, mail.outbox) == ("es", None, [])

    jobs_run()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Bienvenida a Tienda: confirma tu dirección de correo"
    link = re.search(re.escape(settings.SITE_URL) + r"(/account/confirm/\S+/)", mail.outbox[0].body)
    assert link is not None
    assert link.group(0) in mail.outbox[0].alternatives[0][0]  # the HTML part has the same link

    page = Client().get(link.group(1))  # from the mail client: no session needed
    assert page.status_code == 200
    assert str(EMAIL_CONFIRMED) in page.text or "Gracias" in page.text
    assert User.objects.get(pk=user.pk).email_confirmed_at is not None
    again = Client().get(link.group(1))
    assert again.status_code == 400
    assert str(EMAIL_CONFIRM_LINK_INVALID) in again.text


def test_a_forged_confirmation_link_confirms_nothing(client: Client, shopper: User) -> None:
    for path in ("/account/confirm/MTIz/abc-def/", "/account/confirm/%%%/x/", f"/account/confirm/{shopper.pk}/x-y/"):
        assert client.get(path).status_code in (400, 404)
    assert User.objects.get(pk=shopper.pk).email_confirmed_at is None


def test_resetting_the_password_by_email_confirms_the_address(client: Client, shopper: User) -> None:
    client.post("/account/password/reset/", {"email": "ana@example.com"})
    jobs_run()
    link = re.search(re.escape(settings.SITE_URL) + r"(/account/password/reset/\S+/)", mail.outbox[0].body)
    form_page = client.get(link.group(1), follow=True)
    client.post(form_page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert User.objects.get(pk=shopper.pk).email_confirmed_at is not None


def test_logging_in_remembers_the_page_language(client: Client, shopper: User) -> None:
    client.post("/i18n/setlang/", {"language": "es", "next": "/"})
    client.post("/account/login/", {"username": "ana@example.com", "password": PASSWORD})
    assert User.objects.get(pk=shopper.pk).language == "es"
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert User.objects.get(pk=shopper.pk).language == "en"
