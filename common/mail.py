"""Rendering and sending the shop's e-mails (from jobs, never inside a request).

Each message is three templates under ``templates/emails/``: ``<name>_subject.txt``,
``<name>.txt`` and ``<name>.html``, rendered in the recipient's language. A send either
succeeds, fails for good (`MailRejected`: the server refused the address or the message with a
5xx reply, so retrying cannot help), or raises the transient error (connection refused, timeout,
a 4xx reply) for the job to be retried later.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation


class MailRejected(Exception):
    """The mail server refused this message for good (a 5xx reply); ``reason`` is its answer."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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


def _permanent(error: smtplib.SMTPException) -> str | None:
    """The server's reason when ``error`` is a 5xx refusal, else None (worth retrying)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [(code, reply) for code, reply in error.recipients.values()]
        if codes and all(code >= 500 for code, _reply in codes):
            return "; ".join(f"{code} {reply.decode(errors='replace')}" for code, reply in codes)
        return None
    if isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500:
        return f"{error.smtp_code} {error.smtp_error.decode(errors='replace')}"
    return None


def mail_send(*, to: str, mail: Mail, message_id: str | None = None) -> None:
    """Send ``mail`` to ``to``; `MailRejected` when the server refuses it for good.

    ``message_id`` (``<...@...>``) lets a job give the same message the same id every time it
    is sent, so a mail client can tell a repeat from a new message.
    """
    headers = {"Message-ID": message_id} if message_id else {}
    message = EmailMultiAlternatives(
        subject=mail.subject, body=mail.text, from_email=settings.DEFAULT_FROM_EMAIL, to=[to], headers=headers
    )
    message.attach_alternative(mail.html, "text/html")
    try:
        message.send()
    except smtplib.SMTPException as error:
        reason = _permanent(error)
        if reason is not None:
            raise MailRejected(reason) from error
        raise
