"""tenants' Celery tasks: sending a notification's e-mail, away from the request that made it.

The task takes the notification's id, runs with `acks_late` (a worker that dies mid-send leaves it to be delivered
again) and retries a mail server that is down or busy with exponential backoff; a refusal that retrying cannot
change (a 5xx reply, a refused address) is logged and dropped. A copy already sent is not sent again.
"""

from __future__ import annotations

import logging
import smtplib

from celery import Task, shared_task
from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from tenants.l10n import user_locale
from tenants.models import Notification
from tenants.notify import absolute_url

logger = logging.getLogger(__name__)

MAX_RETRIES = 8  # 30 s, 1, 2, 4, 8, 16, 32 min, then give up (about an hour in all)
FIRST_DELAY = 30
MAX_DELAY = 30 * 60
SENT_MARK_SECONDS = 7 * 24 * 3600


def _sent_key(notification_id: str) -> str:
    return f"notification-mailed:{notification_id}"


def _permanent(error: Exception) -> bool:
    """Whether sending again cannot help: the server refused the address or the message (5xx)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused | smtplib.SMTPSenderRefused):
        return True
    return isinstance(error, smtplib.SMTPResponseException) and 500 <= error.smtp_code < 600


def retry_delay(retries: int) -> int:
    """Seconds before attempt `retries + 1`: doubling from FIRST_DELAY, at most MAX_DELAY."""
    return min(MAX_DELAY, FIRST_DELAY * 2**retries)


@shared_task(bind=True, name="tenants.tasks.send_notification_email", acks_late=True, max_retries=MAX_RETRIES)
def send_notification_email(self: Task, notification_id: str) -> bool:
    """E-mail a notification to its user: its title and message as stored (already in their language), and a link
    to where it leads. False when there is nothing to send (gone, no address, already sent, refused)."""
    notification = Notification.objects.select_related("user").filter(pk=notification_id).first()
    if notification is None or not notification.user.email or cache.get(_sent_key(notification_id)):
        return False
    user = notification.user
    context = {
        "notification": notification,
        "recipient": user,
        "link": absolute_url(notification.url) if notification.url else "",
        "notifications_link": absolute_url(reverse("notifications")),
    }
    with user_locale(user):
        body = render_to_string("tenants/notifications/email_message.txt", context)
    try:
        send_mail(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + notification.title, body, None, [user.email])
    except (smtplib.SMTPException, OSError) as error:
        if _permanent(error):
            logger.warning("notification %s: the mail server refused it for good: %s", notification_id, error)
            return False
        raise self.retry(exc=error, countdown=retry_delay(self.request.retries)) from error
    cache.set(_sent_key(notification_id), 1, timeout=SENT_MARK_SECONDS)
    return True
