"""A token pasted where it does not belong is never echoed back (issue 11, requirement 7): not by tenantadmin's own
refusals, not by click's usage errors, whatever the token's case and whatever quotes came with it."""

from __future__ import annotations

import pytest

from tenantadmin.services import credentials

from .conftest import url_text
from .terminal import at_terminal

KEY = credentials.new_key()
INVITATION = credentials.new_invitation_token()
# What must never show: all but the public part of each (an API key's ``ta_<key id>``, an invitation's ``tainv_``).
SECRETS = (KEY.token.removeprefix(KEY.prefix + "_"), INVITATION.removeprefix(credentials.INVITATION_PREFIX + "_"))


def forms(token: str) -> list[str]:
    """The token as it may arrive: upper-cased, capitalised, in the quotes of a copied snippet."""
    return [token.upper(), token.capitalize(), f'"{token}"', f"'{token}'"]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["keys", "show", "{token}"], 1),  # tenantadmin's refusal: no such key
        (["keys", "revoke", "{token}", "--reason", "leaked", "--yes"], 1),
        (["{token}"], 2),  # click: No such command
        (["keys", "{token}"], 2),
        (["orgs", "list", "{token}"], 2),  # click: Got unexpected extra argument
        (["members", "role", "acme", "ada@example.com", "{token}"], 2),  # click: a choice's BadParameter
        (["events", "list", "--limit", "{token}"], 2),  # click: an integer's BadParameter
        (["keys", "list", "--status", "{token}"], 2),  # tenantadmin's: not one of the statuses
    ],
)
@pytest.mark.parametrize("token", [KEY.token, INVITATION], ids=["api-key", "invitation"])
def test_a_token_in_any_case_or_quotes_is_never_echoed_in_an_error(cli, args, code, token):
    for form in forms(token):
        run = cli(*(arg.format(token=form) for arg in args))
        assert run.code == code, run.stderr
        shown = (run.stdout + run.stderr).lower()
        assert all(secret.lower() not in shown for secret in SECRETS), run.stderr
        assert "Error: " in run.stderr


def test_the_public_part_of_a_pasted_key_still_names_it(cli):
    run = cli("keys", "show", KEY.token.upper())
    assert run.code == 1
    assert KEY.prefix.upper() in run.stderr


def test_the_revoke_question_never_shows_a_pasted_secret(tmp_path, engine):
    """Asked at a terminal, the question names what was typed: an invitation token pasted by mistake is cut."""
    secret = "tainv_" + "S3cretS3cretS3cretS3cret"
    run = at_terminal(
        "keys",
        "revoke",
        secret,
        "--reason",
        "a test",
        home=tmp_path,
        typed="n\n",
        TENANTADMIN_DATABASE_URL=url_text(engine.url),
    )
    assert "Revoke key tainv_…?" in run.stdout and "S3cret" not in run.stdout
