"""The provider's groups claim mirrored into Django groups at every sign-in.

Knowledge bases are shared with Django groups, so this is how sharing follows the identity
provider: a user added to a provider group reads what that group may read from the next
sign-in on, and a user removed from it stops at the next sign-in. Which Django groups the
provider manages: all of them, or only those named by ``OIDC_GROUPS_PREFIX`` and/or
``OIDC_GROUPS_ALLOWED`` (then groups given here by hand are left alone and the provider
cannot hand out any other group). Staff status follows ``OIDC_STAFF_GROUP`` when set and
never otherwise; superuser status never comes from a claim.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User

from apps.sso.text import clean_claim

logger = logging.getLogger(__name__)

GROUP_NAME_MAX = Group._meta.get_field("name").max_length or 150
MAX_GROUPS = 1000  # more claimed groups than this are ignored beyond the first ones


def claimed_groups(claims: dict[str, Any]) -> list[str]:
    """The group names in the configured claim (a list of strings, or one string)."""
    raw = claims.get(str(settings.OIDC_GROUPS_CLAIM))
    values = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
    names = [clean_claim(v) for v in values[:MAX_GROUPS] if isinstance(v, str)]
    return sorted({n for n in names if n and len(n) <= GROUP_NAME_MAX})


def is_managed(name: str) -> bool:
    """May the provider add this group to a user, and remove it?"""
    prefix = str(settings.OIDC_GROUPS_PREFIX)
    allowed = list(settings.OIDC_GROUPS_ALLOWED)
    if not prefix and not allowed:
        return True
    return bool(prefix and name.startswith(prefix)) or name in allowed


def sync_groups(user: User, claims: dict[str, Any]) -> None:
    """Make the user's managed groups exactly the managed groups the provider lists."""
    if not settings.OIDC_GROUPS_CLAIM:
        return
    if str(settings.OIDC_GROUPS_CLAIM) not in claims:
        logger.warning(
            "sign-in of %s: the provider sent no %r claim; removing the provider's groups",
            user.username,
            settings.OIDC_GROUPS_CLAIM,
        )
    claimed = claimed_groups(claims)
    wanted = {name for name in claimed if is_managed(name)}
    stale = [g for g in user.groups.all() if is_managed(g.name) and g.name not in wanted]
    if stale:
        user.groups.remove(*stale)
    user.groups.add(*_groups_named(wanted))
    _sync_staff(user, claimed)


def _groups_named(names: set[str]) -> list[Group]:
    groups = list(Group.objects.filter(name__in=names))
    if settings.OIDC_GROUPS_CREATE:
        missing = names - {g.name for g in groups}
        groups += [Group.objects.get_or_create(name=name)[0] for name in sorted(missing)]
    return groups


def _sync_staff(user: User, claimed: list[str]) -> None:
    staff_group = str(settings.OIDC_STAFF_GROUP)
    if not staff_group or user.is_superuser:
        return
    is_staff = staff_group in claimed
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])
