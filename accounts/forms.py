"""Site forms for signing up, logging in and password changes; writes go through accounts.services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.services import email_normalize

# User-facing messages, asserted by the tests.
# The login page never says whether an address has an account, nor that an account is blocked.
LOGIN_FAILED = _("Email or password is incorrect.")
# Sign-up may say so (the page offers to log in or reset the password instead).
EMAIL_TAKEN = _("An account with this email address already exists.")
PASSWORD_MISMATCH = _("The two passwords do not match.")

EMAIL_TAKEN_CODE = "email_taken"


class SignupForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    full_name = forms.CharField(
        label=_("Full name"),
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Confirm password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Type the same password again."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Built per form so it follows the active language.
        self.fields["password1"].help_text = password_validation.password_validators_help_text_html()

    def clean_email(self) -> str:
        email = email_normalize(self.cleaned_data["email"])
        if User.objects.filter(email=email).exists():
            raise ValidationError(EMAIL_TAKEN, code=EMAIL_TAKEN_CODE)
        return email

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", ValidationError(PASSWORD_MISMATCH, code="password_mismatch"))
        elif password1:
            candidate = User(email=cleaned.get("email", ""), full_name=cleaned.get("full_name", ""))
            try:
                password_validation.validate_password(password1, candidate)
            except ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class EmailLoginForm(AuthenticationForm):
    """Django's login form with an e-mail field and one message for every failure."""

    # Keeps the name "username": AuthenticationForm and LoginView read it.
    username = forms.EmailField(
        label=_("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    error_messages = {"invalid_login": LOGIN_FAILED, "inactive": LOGIN_FAILED}

    def credentials_rejected(self) -> bool:
        """True when both fields were filled in and the e-mail/password pair did not log in."""
        return any(self.has_error(NON_FIELD_ERRORS, code) for code in ("invalid_login", "inactive"))
