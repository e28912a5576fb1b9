"""Rendering and sending the shop's e-mails (from jobs, never inside a request).

Each message is three templates under ``templates/emails/``: ``<name>_subject.txt``,
``<name>.txt`` and ``<name>.html``, rendered in the recipient's language.

A send goes: connect (TLS, login), ``MAIL FROM``, ``RCPT TO``, then the **hand-over**: the
``on_hand_over`` callback runs just before ``DATA``, the first moment the server could end up
with the message, and the message follows. Before the hand-over nothing can have been delivered,
whatever fails. After it, only a server's answer tells: a 250 (sent), or a refusal. Its outcome:

- returns: the server accepted the message (its 250 after ``DATA``);
- `MailRejected`: the server refused for good (a 5xx reply), before or after the hand-over;
- `MailDeferred`: the server refused for now (a 4xx reply): nothing was delivered, try later;
- anything else raised: before the hand-over
  (connection refused, timeout, TLS, login, ``on_hand_over`` itself failing) nothing was
  delivered; after it (connection lost, timeout waiting for the answer, the job being stopped)
  the server may or may not have the message.

Locally (no ``EMAIL_HOST``) the file backend writes each message under EMAIL_FILE_PATH; its
hand-over is just before the write.
"""

from __future__ import annotations

import contextlib
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends import smtp
from django.template.loader import render_to_string
from django.utils import translation


class MailRefused(Exception):
    """The mail server answered no to this message (``reason`` is its answer): it was not delivered."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MailRejected(MailRefused):
    """Refused for good (a 5xx reply): retrying cannot help."""


class MailDeferred(MailRefused):
    """Refused for now (a 4xx reply): worth trying again later."""


@dataclass(frozen=True)
class Mail:
    subject: str
    text: str
    html: str


def mail_render(*, name: str, context: dict[str, Any], language: str) -> Mail:
    """The subject, text and HTML of ``templates/emails/<name>*`` in ``language``."""
    context = {**context, "site_url": settings.SITE_URL}
    with translation.override(language):
        subject = " ".join(render_to_string(f"emails/{name}_subject.txt", context).split())
        return Mail(
            subject=subject,
            text=render_to_string(f"emails/{name}.txt", context),
            html=render_to_string(f"emails/{name}.html", context),
        )


class _HandOverMixin:
    """An smtplib connection that calls ``hand_over`` once ``MAIL FROM`` and ``RCPT TO`` passed, before ``DATA``."""

    hand_over: Callable[[], None] | None = None

    def data(self, msg: Any) -> tuple[int, bytes]:
        if self.hand_over is not None:
            self.hand_over()
        return super().data(msg)  # type: ignore[misc]


class _HandOverSMTP(_HandOverMixin, smtplib.SMTP):
    pass


class _HandOverSMTPSSL(_HandOverMixin, smtplib.SMTP_SSL):
    pass


class SmtpBackend(smtp.EmailBackend):
    """Django's SMTP backend (settings EMAIL_*) whose connections report the hand-over to `mail_send`."""

    @property
    def connection_class(self) -> type[smtplib.SMTP]:
        return _HandOverSMTPSSL if self.use_ssl else _HandOverSMTP


def _refusal(error: smtplib.SMTPException) -> MailRefused | None:
    """The server's answer when ``error`` is one (a 4xx or 5xx reply), else None (no answer came)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = list(error.recipients.values())
        if not codes:
            return None
        reason = "; ".join(f"{code} {reply.decode(errors='replace')}" for code, reply in codes)
        return MailRejected(reason) if all(code >= 500 for code, _reply in codes) else MailDeferred(reason)
    if isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 400:
        reason = f"{error.smtp_code} {error.smtp_error.decode(errors='replace')}"
        return MailRejected(reason) if error.smtp_code >= 500 else MailDeferred(reason)
    return None


def mail_send(
    *,
    to: str,
    mail: Mail,
    message_id: str | None = None,
    on_hand_over: Callable[[], None] | None = None,
) -> None:
    """Send ``mail`` to ``to`` (see the module docstring for what each outcome means).

    ``on_hand_over`` runs once the connection is open and the server took the sender and the
    recipient, just before the message goes; if it raises, the message is not sent. A caller
    that must tell "not sent" from "maybe sent" after an error notes there that it ran.
    ``message_id`` (``<...@...>``) gives the message the same id every time it is sent.
    """
    headers = {"Message-ID": message_id} if message_id else {}
    message = EmailMultiAlternatives(
        subject=mail.subject, body=mail.text, from_email=settings.DEFAULT_FROM_EMAIL, to=[to], headers=headers
    )
    message.attach_alternative(mail.html, "text/html")

    backend = get_connection(fail_silently=False)
    try:
        backend.open()
        if isinstance(backend, SmtpBackend):
            backend.connection.hand_over = on_hand_over
        elif on_hand_over is not None:  # a file or memory backend: writing the message is the hand-over
            on_hand_over()
        backend.send_messages([message])
    except smtplib.SMTPException as error:
        refusal = _refusal(error)
        if refusal is not None:
            raise refusal from error
        raise
    finally:
        # The outcome is decided by now: a failed QUIT changes nothing.
        with contextlib.suppress(smtplib.SMTPException, OSError):
            backend.close()
