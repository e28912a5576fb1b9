"""``{% site_nav %}``: the site navigation's links for the request's visitor (orders/site_nav.py)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from orders.site_nav import render_site_nav

register = template.Library()


@register.simple_tag(takes_context=True)
def site_nav(context: Any) -> SafeString:
    # The links come from a template rendered with autoescaping (orders/site_nav.py): safe as they are.
    return mark_safe(render_site_nav(context.request))  # noqa: S308
