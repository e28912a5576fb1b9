"""Site account pages: sign-up, log in and out, profile, password change and reset.

Thin views over Django's auth views, accounts.forms, accounts.services (the writes) and
accounts.ratelimit (login, reset and sign-up throttling). Logging in always goes through
``django.contrib.auth.login``, so ``user_logged_in`` fires for every site session.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import get_callable, reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.encoding import force_str
from django.utils.http import url_has_allowed_host_and_scheme, urlsafe_base64_decode
from django.utils.translation import gettext_lazy, ngettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_safe

from accounts import mails, ratelimit
from accounts.forms import EMAIL_TAKEN, EMAIL_TAKEN_CODE, EmailLoginForm, SignupForm
from accounts.models import User
from accounts.services import EmailAlreadyRegistered, user_email_confirm, user_language_remember, user_signup
from accounts.site_sessions import site_session_index_add
from common.origin import is_same_origin_request

# User-facing messages, asserted by the tests.
SIGNUP_LOCKED_OUT = ngettext_lazy(
    "Too many accounts were created from your network. Try again in %(minutes)d minute.",
    "Too many accounts were created from your network. Try again in %(minutes)d minutes.",
    "minutes",
)
RESET_LOCKED_OUT = ngettext_lazy(
    "Too many password reset requests. Try again in %(minutes)d minute.",
    "Too many password reset requests. Try again in %(minutes)d minutes.",
    "minutes",
)
EMAIL_CONFIRMED = gettext_lazy("Thank you: your e-mail address is confirmed.")
EMAIL_CONFIRM_LINK_INVALID = gettext_lazy(
    "This confirmation link is not valid any more: it was used already, or it is too old. "
    "Sign in and look at your account page."
)
# The backend that checks site passwords; named so login() works if more backends are added.
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
# What the CSRF failure page says when a logout from another site is refused.
REASON_CROSS_ORIGIN_LOGOUT = "Cross-origin request to log out."


def _safe_next(request: HttpRequest) -> str:
    """The ``next`` URL if it stays on this site (same host, no scheme switch to http); else ""."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed else ""


def _too_many(seconds: int, message: Any) -> dict[str, Any]:
    return {"locked_out": message % {"minutes": ratelimit.minutes_to_wait(seconds)}}


def _refused(response: HttpResponse, seconds: int) -> HttpResponse:
    """``response`` (rendered with status 429) with the ``Retry-After`` it owes the client."""
    response["Retry-After"] = str(seconds)
    return response


@sensitive_post_parameters("password1", "password2")
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Create an account, log it in, and go to ``next`` (same site only) or the profile.

    At most ``SIGNUPS_PER_IP`` accounts per client address and window: over it, 429 before the
    form is even validated (no password hashing for a script that is already over).
    """
    if request.user.is_authenticated:
        return redirect(_safe_next(request) or settings.LOGIN_REDIRECT_URL)
    ip = ratelimit.client_ip(request)
    wait = ratelimit.signup_retry_after(ip=ip) if request.method == "POST" else 0
    if wait:
        return _signup_refused(request, wait)
    form = SignupForm(request.POST) if request.method == "POST" else SignupForm()
    if form.is_bound and form.is_valid():
        wait = ratelimit.signup_take(ip=ip)  # atomic: parallel sign-ups cannot all slip under the limit
        if wait:
            return _signup_refused(request, wait)
        try:
            user = user_signup(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
                full_name=form.cleaned_data["full_name"],
            )
        except EmailAlreadyRegistered:
            form.add_error("email", ValidationError(EMAIL_TAKEN, code=EMAIL_TAKEN_CODE))
        else:
            user_language_remember(user=user, language=request.LANGUAGE_CODE)
            mails.welcome_mail_enqueue(user=user)
            login(request, user, backend=MODEL_BACKEND)
            return redirect(_safe_next(request) or settings.LOGIN_REDIRECT_URL)
    context = {"form": form, "next": _safe_next(request), "email_taken": form.has_error("email", EMAIL_TAKEN_CODE)}
    return render(request, "accounts/signup.html", context)


def _signup_refused(request: HttpRequest, wait: int) -> HttpResponse:
    """The sign-up page, 429, saying how long to wait; the form keeps what was typed but passwords."""
    form = SignupForm(initial={"email": request.POST.get("email", ""), "full_name": request.POST.get("full_name", "")})
    context = {"form": form, "next": _safe_next(request), **_too_many(wait, SIGNUP_LOCKED_OUT)}
    return _refused(render(request, "accounts/signup.html", context, status=429), wait)


class SiteLoginView(auth_views.LoginView):
    """Django's LoginView with e-mail login, one generic failure message, and failure limits."""

    form_class = EmailLoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        email = request.POST.get("username", "")
        wait = ratelimit.login_retry_after(ip=ratelimit.client_ip(request), email=email)
        if wait:
            # Refused before the password is looked at: during a lockout even the right one fails.
            # The form is unbound so rendering it cannot run authenticate() either.
            form = self.form_class(request, initial={"username": email})
            context = self.get_context_data(form=form, **_too_many(wait, ratelimit.LOGIN_LOCKED_OUT))
            return _refused(self.render_to_response(context, status=429), wait)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: EmailLoginForm) -> HttpResponse:
        ratelimit.login_failures_clear(email=form.cleaned_data["username"])
        return super().form_valid(form)

    def form_invalid(self, form: EmailLoginForm) -> HttpResponse:
        if form.credentials_rejected():
            ratelimit.login_failure_record(
                ip=ratelimit.client_ip(self.request), email=form.cleaned_data.get("username", "")
            )
        return super().form_invalid(form)


class SiteLogoutView(auth_views.LogoutView):
    """Logging out is a POST; a GET (an old link, a typed URL) shows a page with the button.

    The POST needs no CSRF token: it is refused when the browser declares it made by another site
    (``is_same_origin_request``), as the language switch is. The logout form is in every page's
    navigation, and without a token there one rendering of it serves every shopper in the same
    state (orders/site_nav.py; docs/decisions/0015-logout-without-a-csrf-token.md).
    """

    http_method_names = ["get", "head", "post", "options"]
    template_name = "accounts/logout.html"

    # Django's LogoutView.dispatch, without its csrf_protect: the origin check below stands in for it.
    @method_decorator(csrf_exempt)
    @method_decorator(never_cache)
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return super(auth_views.LogoutView, self).dispatch(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_same_origin_request(request):
            return get_callable(settings.CSRF_FAILURE_VIEW)(request, reason=REASON_CROSS_ORIGIN_LOGOUT)
        return super().post(request, *args, **kwargs)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect(self.get_success_url())
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "next": _safe_next(self.request)}


@never_cache
@login_required
@require_safe
def profile(request: HttpRequest) -> HttpResponse:
    """The shopper's own account page."""
    return render(request, "accounts/profile.html")


class SitePasswordChangeView(auth_views.PasswordChangeView):
    """Django's view: needs the old password, keeps this session logged in, ends the others."""

    template_name = "accounts/password_change.html"

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        # update_session_auth_hash gave this session a new key: index it, so a ban can end it.
        site_session_index_add(user_id=self.request.user.pk, session_key=self.request.session.session_key)
        return response

    success_url = reverse_lazy("accounts:password_change_done")


class SitePasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


class SitePasswordResetView(auth_views.PasswordResetView):
    """Queues a reset e-mail for the address typed; the job mails a link if an active account has it.

    The request does the same for every address (one job queued, no database lookup), so the
    answer and its timing say nothing about which addresses have accounts.
    """

    template_name = "accounts/password_reset.html"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form: Any) -> HttpResponse:
        mails.password_reset_mail_enqueue(email=form.cleaned_data["email"], language=self.request.LANGUAGE_CODE)
        return redirect(self.get_success_url())

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        ip = ratelimit.client_ip(request)
        wait = ratelimit.password_reset_retry_after(ip=ip)
        if wait:
            form = self.form_class(initial={"email": request.POST.get("email", "")})
            context = self.get_context_data(form=form, **_too_many(wait, RESET_LOCKED_OUT))
            return _refused(self.render_to_response(context, status=429), wait)
        # Every request counts, mailed or not, so the limit itself reveals nothing about addresses.
        ratelimit.password_reset_request_record(ip=ip)
        return super().post(request, *args, **kwargs)


class SitePasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class SitePasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        # Whoever holds the mailbox owns the account: lift a lockout a guesser may have caused.
        ratelimit.login_failures_clear(email=form.user.email)
        user_email_confirm(user=form.user)  # the link reached the mailbox: the address is theirs
        return response


class SitePasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


@never_cache
@require_safe
def email_confirm(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """The welcome e-mail's link: confirms the address, signed in or not."""
    try:
        user = User.objects.filter(pk=force_str(urlsafe_base64_decode(uidb64))).first()
    except (ValueError, TypeError, ValidationError):  # not base64, or not an ObjectId
        user = None
    valid = user is not None and mails.email_confirmation_tokens.check_token(user, token)
    if valid:
        user_email_confirm(user=user)
    message = EMAIL_CONFIRMED if valid else EMAIL_CONFIRM_LINK_INVALID
    return render(request, "accounts/email_confirm.html", {"message": message}, status=200 if valid else 400)
