"""The accounts app's jobs on the queue (common/jobs.py): thin calls to accounts.mails."""

from __future__ import annotations

from accounts import mails
from common.jobs import job_stop_retrying
from common.mail import MailRejected


def welcome_mail(user_id: str) -> bool:
    """The sign-up welcome with the address confirmation link."""
    try:
        return mails.welcome_mail_send(user_id=user_id)
    except MailRejected:
        job_stop_retrying()
        raise


def password_reset_mail(email: str, language: str) -> int:
    """The password reset link, for whichever active accounts have ``email``."""
    try:
        return mails.password_reset_mail_send(email=email, language=language)
    except MailRejected:
        job_stop_retrying()
        raise
