"""The rules for what an operator types, shared by every front end (the TUI validates forms with these as you type).

Each function returns the value in its canonical form or raises InvalidInput with a one-line reason.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime, timedelta

from tenantadmin.errors import InvalidInput
from tenantadmin.store.eventstore import TAG_KEY_PATTERN
from tenantadmin.store.models import EMAIL_PATTERN, SLUG_MAX_LENGTH, SLUG_PATTERN, KeyType, MemberRole
from tenantadmin.store.models.api_keys import IpNetwork

from . import choices

_SLUG = re.compile(SLUG_PATTERN)
_EMAIL = re.compile(EMAIL_PATTERN)
_SCOPE = re.compile(r"^[a-z][a-z0-9_.:*-]{0,99}$")
_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def slug(value: str) -> str:
    if not value:
        raise InvalidInput("a slug is required")
    if len(value) > SLUG_MAX_LENGTH:
        raise InvalidInput(f"invalid slug: at most {SLUG_MAX_LENGTH} characters (got {len(value)})")
    if not _SLUG.match(value):
        raise InvalidInput(
            f"invalid slug {value!r}: lower-case letters and digits, in words joined by single hyphens (acme-corp)"
        )
    return value


def email(value: str) -> str:
    """Normalised: trimmed and lower-cased, so that one address is one user whatever its case."""
    normalised = value.strip().lower()
    if len(normalised) > 255 or not _EMAIL.match(normalised):
        raise InvalidInput(f"invalid email address {value!r}")
    return normalised


def storable(value: str, field: str) -> str:
    """``value``, refused when PostgreSQL could not store it: a NUL, or a lone surrogate (what Python makes of bytes
    that are not UTF-8, in an argument or a file)."""
    if "\x00" in value:
        raise InvalidInput(f"{field} must not hold a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{field} is not valid text: it holds bytes that are not UTF-8") from None
    return value


def text(value: str | None, field: str, *, longest: int = 255) -> str | None:
    """Trimmed; None when blank; refused when it cannot be stored (``storable``)."""
    cleaned = value.strip() if value is not None else None
    if not cleaned:
        return None
    storable(cleaned, field)
    if len(cleaned) > longest:
        raise InvalidInput(f"{field} is too long: at most {longest} characters")
    return cleaned


def required_text(value: str | None, field: str, *, longest: int = 255) -> str:
    """Trimmed, and refused when blank."""
    cleaned = text(value, field, longest=longest)
    if cleaned is None:
        raise InvalidInput(f"{field} must not be blank")
    return cleaned


def role(value: str) -> MemberRole:
    try:
        return MemberRole(value)
    except ValueError:
        raise InvalidInput(f"invalid role {value!r}: one of {', '.join(choices.ROLES)}") from None


def key_type(value: str) -> KeyType:
    try:
        return KeyType(value)
    except ValueError:
        raise InvalidInput(f"invalid key type {value!r}: one of {', '.join(choices.KEY_TYPES)}") from None


def scopes(values: list[str] | tuple[str, ...]) -> list[str]:
    for scope in values:
        if not _SCOPE.match(scope):
            raise InvalidInput(f"invalid scope {scope!r}: lower-case, like orgs:read or keys:*")
    return sorted(set(values))


def networks(values: list[str] | tuple[str, ...]) -> list[IpNetwork] | None:
    """Allowed addresses: each an IP (a single host) or a CIDR range without host bits; none means any address."""
    found: list[IpNetwork] = []
    for value in values:
        try:
            found.append(ipaddress.ip_network(value.strip(), strict=True))
        except ValueError as error:
            raise InvalidInput(f"invalid IP address or CIDR range {value!r}: {error}") from None
    return found or None


LARGEST_COUNT = 2**31 - 1  # the integer columns' range


def positive(value: int | None, field: str) -> int | None:
    if value is not None and not 1 <= value <= LARGEST_COUNT:
        raise InvalidInput(f"{field} must be a whole number from 1 to {LARGEST_COUNT:,}")
    return value


def duration(value: str) -> timedelta:
    """``90s``, ``15m``, ``2h``, ``7d``, ``2w``."""
    match = _DURATION.match(value.strip().lower())
    if not match:
        raise InvalidInput(f"invalid duration {value!r}: a number and a unit, like 15m, 2h, 7d or 2w")
    try:
        return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    except OverflowError:
        raise InvalidInput(f"invalid duration {value!r}: too long") from None


def moment(value: str, *, now: datetime | None = None, future: bool) -> datetime:
    """An ISO 8601 time (UTC unless it says otherwise), or a duration from now: ahead when ``future``, else ago."""
    now = now or datetime.now(UTC)
    if _DURATION.match(value.strip().lower()):
        span = duration(value)
        try:
            return now + span if future else now - span
        except OverflowError:
            raise InvalidInput(f"invalid time {value!r}: too far from now") from None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            f"invalid time {value!r}: an ISO time (2026-11-26T09:00) or a duration (15m, 2h, 7d)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def expiry(
    value: str | None, *, now: datetime, default: timedelta | None, longest: timedelta | None
) -> datetime | None:
    """When something given now expires: ``value`` is a duration (7d) or an ISO time; ``None`` takes ``default``."""
    if value is None:
        return now + default if default is not None else None
    when = moment(value, now=now, future=True)
    if when <= now:
        raise InvalidInput(f"invalid expiry {value!r}: it must be in the future")
    if longest is not None and when - now > longest:
        raise InvalidInput(f"invalid expiry {value!r}: at most {longest.days} days from now")
    return when


def invitation_expiry(value: str | None, *, now: datetime | None = None) -> datetime:
    """When an invitation made now expires (choices.INVITATION_EXPIRY_HELP)."""
    when = now or datetime.now(UTC)
    return (
        expiry(value, now=when, default=None, longest=choices.INVITATION_LONGEST) or when + choices.INVITATION_DEFAULT
    )


def tag_filter(value: str) -> tuple[str, str]:
    """``key=value``, as events are tagged (org=acme, user=ada@example.com, key=k_3f9…)."""
    key, sep, tag_value = value.partition("=")
    if not sep or not TAG_KEY_PATTERN.match(key) or not tag_value:
        raise InvalidInput(f"invalid tag filter {value!r}: key=value, like org=acme")
    return key, tag_value
