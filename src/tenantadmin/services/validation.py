"""The rules for what an operator types, shared by every front end (the TUI validates forms with these as you type).

Each function returns the value in its canonical form or raises InvalidInput with a one-line reason. Every pattern
matches the whole value (``fullmatch``: a ``$`` alone would let a trailing newline through) and reads ASCII only
(``re.ASCII``: ``\\d`` would take any script's digits, ``٣d`` as three days).
"""

from __future__ import annotations

import ipaddress
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from tenantadmin.errors import InvalidInput
from tenantadmin.store.eventstore import TAG_KEY_PATTERN
from tenantadmin.store.models import EMAIL_PATTERN, SLUG_MAX_LENGTH, SLUG_PATTERN, KeyType, MemberRole
from tenantadmin.store.models.api_keys import IpNetwork

from . import choices

_SLUG = re.compile(SLUG_PATTERN, re.ASCII)
_EMAIL = re.compile(EMAIL_PATTERN, re.ASCII)
_SCOPE = re.compile(r"[a-z][a-z0-9_.:*-]{0,99}", re.ASCII)
_DURATION = re.compile(r"([0-9]+)\s*([smhdw])", re.ASCII)
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", re.ASCII)  # a host name's label, as RFC 1123 has it
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


ROLE_NAME_MAX_BYTES = 63  # NAMEDATALEN - 1


def slug(value: str) -> str:
    if not value:
        raise InvalidInput("a slug is required")
    if len(value) > SLUG_MAX_LENGTH:
        raise InvalidInput(f"invalid slug: at most {SLUG_MAX_LENGTH} characters (got {len(value)})")
    if not _SLUG.fullmatch(value):
        raise InvalidInput(
            f"invalid slug {value!r}: lower-case letters and digits, in words joined by single hyphens (acme-corp)"
        )
    return value


def email(value: str) -> str:
    """Normalised: trimmed and lower-cased, so that one address is one user whatever its case."""
    normalised = value.strip().lower()
    if len(normalised) > 255 or not _EMAIL.fullmatch(normalised):
        raise InvalidInput(f"invalid email address {value!r}")
    return normalised


def role_name(value: str) -> str:
    """A PostgreSQL role's name, as the database records who acted: at most 63 bytes (longer names are cut by the
    server, so one would name another role), no control characters."""
    if not value or len(value.encode("utf-8", errors="replace")) > ROLE_NAME_MAX_BYTES:
        raise InvalidInput(f"invalid role name {value[:80]!r}: from 1 to {ROLE_NAME_MAX_BYTES} bytes", field="role")
    if not value.isprintable():
        raise InvalidInput(f"invalid role name {value[:80]!r}: no control characters", field="role")
    return storable(value, "a role name")


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


def tier(value: str) -> str:
    """One of choices.TIERS, exactly as it is listed there."""
    if value not in choices.TIERS:
        raise InvalidInput(f"invalid subscription tier {value!r}: one of {choices.one_of(choices.TIERS)}")
    return value


DOMAIN_LONGEST = 253  # characters of a host name in its ASCII form, as DNS limits it


def domain(value: str | None) -> str | None:
    """An internet domain: a host name of two labels or more (``acme.example``), not a URL. Trimmed, lower-cased,
    a final dot dropped; None when blank. An internationalised one is taken in Unicode (``bücher.example``) or in its
    ASCII form (``xn--bcher-kva.example``) and kept in Unicode, as Python's ``idna`` codec (IDNA 2003, with nameprep)
    reads both; each label of the ASCII form is letters, digits and inner hyphens (RFC 1123), the last one not a
    number (an IP address is not a domain)."""
    cleaned = text(value, "domain")
    if cleaned is None:
        return None
    refusal = InvalidInput(f"invalid domain {value!r}: a host name like acme.example, without scheme, path or port")
    try:
        ascii_form = cleaned.lower().removesuffix(".").encode("idna").decode("ascii")
        labels = ascii_form.split(".")
        if (
            len(ascii_form) > DOMAIN_LONGEST
            or len(labels) < 2
            or not all(_LABEL.fullmatch(label) for label in labels)
            or labels[-1].isdigit()
        ):
            raise refusal
        return ascii_form.encode("ascii").decode("idna")
    except UnicodeError:  # an empty or over-long label, or an xn-- label that is not Punycode
        raise refusal from None


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
        if not _SCOPE.fullmatch(scope):
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

# An organization's metadata and settings are written into its events, which are kept for good: at most this many
# bytes of JSON (UTF-8, without spaces), and this many levels of objects and arrays, the outermost object included.
JSON_LARGEST = 16 * 1024
JSON_DEEPEST = 8
_JSON_INTEGERS = range(-(2**63), 2**63)  # what the event log's encoder takes: 64 bits


def json_object(value: object, field: str) -> dict[str, Any]:
    """``value``, a JSON object that can be kept: within JSON_DEEPEST and JSON_LARGEST; its keys text; its text
    storable (``storable``); its numbers finite and of 64 bits (PostgreSQL takes no NaN, the log's encoder no more)."""
    if not isinstance(value, dict):
        raise InvalidInput(f"{field} must be a JSON object")
    _json_value(value, field, 1)
    size = len(orjson.dumps(value))
    if size > JSON_LARGEST:
        raise InvalidInput(f"{field} is too large: {size / 1024:.1f} KiB of JSON, at most {JSON_LARGEST // 1024} KiB")
    return value


def _json_value(value: object, field: str, depth: int) -> None:
    """Check ``value``, found ``depth`` levels down: recursion that ends at JSON_DEEPEST, however deep ``value``."""
    if isinstance(value, dict | list):
        if depth > JSON_DEEPEST:
            raise InvalidInput(f"{field} is too deep: at most {JSON_DEEPEST} levels of objects and arrays")
        if isinstance(value, dict):
            for key in value:
                if not isinstance(key, str):
                    raise InvalidInput(f"{field} keys must be text, not {key!r}")
                storable(key, field)
        for item in value.values() if isinstance(value, dict) else value:
            _json_value(item, field, depth + 1)
    elif isinstance(value, str):
        storable(value, field)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if value not in _JSON_INTEGERS:
            raise InvalidInput(f"{field} holds a number too large: whole numbers of at most 64 bits")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(f"{field} holds {value}, which is not a number JSON can hold")
    else:
        raise InvalidInput(f"{field} holds a {type(value).__name__}, which JSON cannot hold")


def positive(value: int | None, field: str) -> int | None:
    if value is not None and not 1 <= value <= LARGEST_COUNT:
        raise InvalidInput(f"{field} must be a whole number from 1 to {LARGEST_COUNT:,}")
    return value


def duration(value: str) -> timedelta:
    """``90s``, ``15m``, ``2h``, ``7d``, ``2w``."""
    match = _DURATION.fullmatch(value.strip().lower())
    if not match:
        raise InvalidInput(f"invalid duration {value!r}: a number and a unit, like 15m, 2h, 7d or 2w")
    try:
        return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    except OverflowError:
        raise InvalidInput(f"invalid duration {value!r}: too long") from None


def moment(value: str, *, now: datetime | None = None, future: bool) -> datetime:
    """An ISO 8601 time (UTC unless it says otherwise), or a duration from now: ahead when ``future``, else ago."""
    now = now or datetime.now(UTC)
    if _DURATION.fullmatch(value.strip().lower()):
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
    if not sep or not TAG_KEY_PATTERN.fullmatch(key) or not tag_value:
        raise InvalidInput(f"invalid tag filter {value!r}: key=value, like org=acme")
    return key, tag_value
