"""Operators and what each may do (issue 12, requirements 2, 4 and 7): tenantadmin's group roles granted to real login
roles, a table of command by role, and row-level security keeping an operator granted some organizations to those."""

from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa

from tenantadmin.errors import Forbidden, InvalidInput, NotFound
from tenantadmin.services import audit, keys, members, operators, organizations
from tenantadmin.store.engine import create_engine
from tenantadmin.store.eventstore import Event, EventStore, Query

from .clirunner import tenantadmin
from .conftest import OPERATOR, OWNER, PASSWORD, contents, join, url_text

ADMIN = "tenantadmin_admin"
ROLES = ("admin", "operator", "auditor", "verifier")


@pytest.fixture
def platform(engine):
    """acme and globex, each with an owner holding a key: made by the database's superuser (or owner)."""
    organizations.create(engine, OPERATOR, name="Acme", slug="acme")
    organizations.create(engine, OPERATOR, name="Globex", slug="globex")
    join(engine, OWNER, role="owner", org="acme")
    join(engine, "hank@globex.example", role="owner", org="globex")
    return {
        org: keys.issue(engine, OPERATOR, org, email, name=f"{org} key").token
        for org, email in (("acme", OWNER), ("globex", "hank@globex.example"))
    }


class Connected:
    """Engines for login roles made for the test, disposed of after it."""

    def __init__(self, logins):
        self.logins, self.engines = logins, []

    def login(self, *groups: str):
        url = self.logins.make(*groups)
        engine = create_engine(url)
        self.engines.append(engine)
        return engine, url

    def granted(self, admin, role: str, orgs: tuple[str, ...] = ()):
        """A new login granted ``role`` by ``admin`` through tenantadmin, on ``orgs`` (default: every one)."""
        engine, url = self.login()
        operators.grant(admin, OPERATOR, url.username, role, orgs)
        return engine, url


@pytest.fixture
def connected(logins):
    made = Connected(logins)
    yield made
    for engine in made.engines:
        engine.dispose()


@pytest.fixture
def admin(connected):
    engine, _ = connected.login(ADMIN)
    return engine


def refused(action, *args, **kwargs) -> Forbidden:
    with pytest.raises(Forbidden) as refusal:
        action(*args, **kwargs)
    return refusal.value


# --- granting and revoking ------------------------------------------------------------------------------------------


def test_an_admin_grants_lists_and_revokes_operators_each_recorded_by_who_did_it(engine, platform, connected, admin):
    _, url = connected.login()
    login = url.username
    granted = operators.grant(admin, OPERATOR, login, "operator", ("globex", "acme"))
    assert granted.roles == ("operator",) and granted.organizations == ("acme", "globex")
    listed = {record.login: record for record in operators.list_(admin)}
    assert listed[login] == granted

    again = operators.grant(admin, OPERATOR, login, "auditor")  # one role at a time, every organization
    assert again.roles == ("auditor",) and again.organizations is None
    with engine.connect() as connection:
        held = connection.scalars(
            sa.text("SELECT roleid::regrole::text FROM pg_auth_members WHERE member = CAST(:login AS regrole)"),
            {"login": login},
        ).all()
        assert held == ["tenantadmin_auditor"]

    revoked = operators.revoke(admin, OPERATOR, login)
    assert revoked.roles == ("auditor",)
    assert login not in {record.login for record in operators.list_(admin)}

    recorded = [each for each in EventStore(engine).read(Query.all()).events if each.event.type.startswith("operator.")]
    assert [each.event.type for each in recorded] == ["operator.granted", "operator.granted", "operator.revoked"]
    assert {each.recorded_by for each in recorded} == {admin.url.username}
    first, second, _ = (each.event for each in recorded)
    assert first.data["organizations"] == ["globex", "acme"] and first.tags["login"] == login
    assert second.data == {"login": login, "role": "auditor", "organizations": None, "before": ["operator"]}


def test_a_login_granted_an_organization_sees_its_events_under_the_org_filter(platform, connected, admin):
    _, url = connected.login()
    operators.grant(admin, OPERATOR, url.username, "auditor", ("acme",))
    found = audit.list_(admin, audit.EventFilter(org="acme", types=("operator.*",))).records
    assert [record.event_type for record in found] == ["operator.granted"]


@pytest.mark.parametrize(
    ("login", "role", "orgs", "error", "says"),
    [
        ("nobody_here", "operator", (), NotFound, "there is no login role nobody_here"),
        ("tenantadmin_auditor", "operator", (), NotFound, "there is no login role tenantadmin_auditor"),
        ("{superuser}", "auditor", (), InvalidInput, "a superuser"),
        ("{login}", "admin", ("acme",), InvalidInput, "cannot be limited to organizations"),
        ("{login}", "owner", (), InvalidInput, "unknown role 'owner'"),
        ("{login}", "operator", ("nope",), NotFound, "no organization 'nope'"),
        ("bad\x1bname", "operator", (), InvalidInput, "no control characters"),
    ],
)
def test_a_grant_that_cannot_be_made_is_refused_and_writes_nothing(
    engine, platform, connected, admin, login, role, orgs, error, says
):
    _, url = connected.login()
    before = contents(engine)
    login = login.format(login=url.username, superuser=engine.url.username)
    with pytest.raises(error, match=says.format(superuser=engine.url.username)):
        operators.grant(admin, OPERATOR, login, role, orgs)
    assert contents(engine) == before
    assert url.username not in {record.login for record in operators.list_(admin)}


@pytest.mark.parametrize("call", ["grant_operator({role}, 'auditor', NULL)", "revoke_operator({role})"])
@pytest.mark.parametrize("role", ["tenantadmin_admin", "tenantadmin_owner", "{superuser}", "{migrator}"])
def test_the_functions_touch_no_group_role_superuser_or_migrator(engine, connected, admin, call, role):
    """Memberships of the group roles serve every database of the server: no admin may change them."""
    migrator, _ = connected.login("tenantadmin_owner")
    role = role.format(superuser=engine.url.username, migrator=migrator.url.username)
    with admin.connect() as connection, pytest.raises(sa.exc.ProgrammingError, match="no login role"):
        connection.execute(sa.text(f"SELECT tenantadmin_{call.format(role=':role')}"), {"role": role})


def test_every_function_run_as_the_owner_finds_the_built_ins_first(engine):
    """Where others may create in public (a database made before PostgreSQL 15), a function of theirs named as a
    built-in would otherwise run as the owner."""
    with engine.connect() as connection:
        found = connection.execute(
            sa.text("SELECT proname, proconfig FROM pg_proc WHERE prosecdef AND pronamespace = 'public'::regnamespace")
        ).all()
    assert len(found) >= 9
    for name, settings in found:
        assert "search_path=pg_catalog, public, pg_temp" in settings, name


def test_only_an_admin_grants(engine, platform, connected):
    operator, _ = connected.login("tenantadmin_operator")
    _, url = connected.login()
    before = contents(engine)
    refusal = refused(operators.grant, operator, OPERATOR, url.username, "admin")
    assert "tenantadmin_admin" in str(refusal)
    assert contents(engine) == before


def test_what_a_dba_granted_is_listed_and_on_postgresql_16_revoked_only_by_that_dba(engine, connected, admin):
    _, url = connected.login("tenantadmin_operator")  # granted by the test server's superuser, not by tenantadmin
    (listed,) = [record for record in operators.list_(admin) if record.login == url.username]
    assert listed.roles == ("operator",) and listed.organizations is None
    with engine.connect() as connection:
        version = int(connection.scalar(sa.text("SHOW server_version_num")))
    if version < 160000:
        assert operators.revoke(admin, OPERATOR, url.username).roles == ("operator",)
        return
    before = contents(engine)
    refusal = refused(operators.revoke, admin, OPERATOR, url.username)
    assert f"granted by {listed.granted_by[0]}" in str(refusal) and "GRANTED BY" in str(refusal)
    assert contents(engine) == before
    assert [record.roles for record in operators.list_(admin) if record.login == url.username] == [("operator",)]


def test_the_cli_grants_lists_and_revokes(platform, connected, tmp_path):
    _, admin_url = connected.login(ADMIN)
    _, url = connected.login()
    run = {"home": tmp_path, "TENANTADMIN_DATABASE_URL": url_text(admin_url)}
    granted = tenantadmin("operators", "grant", url.username, "--role", "auditor", "--org", "acme", "--json", **run)
    assert granted.code == 0, granted.stderr
    assert granted.json()["organizations"] == ["acme"]
    listed = tenantadmin("operators", "list", **run)
    assert listed.code == 0 and any(
        line.split()[:3] == [url.username, "auditor", "acme"] for line in listed.stdout.splitlines()
    )
    assert "(every one)" in listed.stdout  # the admin itself
    prompt = tenantadmin("operators", "revoke", url.username, stdin="", **run)
    assert prompt.code == 2 and "--yes" in prompt.stderr
    revoked = tenantadmin("operators", "revoke", url.username, "--yes", **run)
    assert revoked.code == 0, revoked.stderr
    again = tenantadmin("operators", "revoke", url.username, "--yes", **run)
    assert again.code == 1 and again.stderr.count("\n") == 1 and "holds none" in again.stderr


def test_a_command_refused_for_lack_of_privilege_exits_1_with_one_line_naming_the_role(platform, connected, tmp_path):
    _, url = connected.login("tenantadmin_auditor")
    run = tenantadmin(
        "orgs", "create", "Initech", "--slug", "initech", home=tmp_path, TENANTADMIN_DATABASE_URL=url_text(url)
    )
    assert run.code == 1 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and "tenantadmin_operator" in run.stderr, run.stderr


# --- what each role may do --------------------------------------------------------------------------------------------


def _actions(tokens):
    """One call of each kind of command, by name; each makes a thing of its own, so that any may run after another."""
    counter = iter(range(10_000))
    return {
        "orgs list": organizations.list_,
        "orgs show": lambda e: organizations.show(e, "acme"),
        "orgs create": lambda e: organizations.create(e, OPERATOR, name="New", slug=f"new-{next(counter)}"),
        "orgs update": lambda e: organizations.update(e, OPERATOR, "acme", city=f"City {next(counter)}"),
        "members list": lambda e: members.list_(e, "acme"),
        "members invite": lambda e: members.invite(e, OPERATOR, "acme", f"new{next(counter)}@example.com"),
        "keys list": lambda e: keys.list_(e, org="acme"),
        "keys issue": lambda e: keys.issue(e, OPERATOR, "acme", OWNER, name=f"key {next(counter)}"),
        "keys verify": lambda e: keys.verify(e, tokens["acme"]),
        "events list": lambda e: audit.list_(e, audit.EventFilter()),
        "operators list": operators.list_,
        "operators grant": lambda e: operators.grant(e, OPERATOR, e.url.username, "admin"),
    }


ALLOWED = {
    "admin": "everything",
    "operator": {
        "orgs list", "orgs show", "orgs create", "orgs update", "members list", "members invite", "keys list",
        "keys issue", "keys verify", "events list", "operators list",
    },
    "auditor": {"orgs list", "orgs show", "members list", "keys list", "events list", "operators list"},
    "verifier": {"keys verify"},
    None: set(),
}  # fmt: skip


@pytest.mark.parametrize("role", [*ROLES, None])
def test_each_role_is_allowed_what_it_needs_and_refused_the_rest(engine, platform, connected, role):
    as_role, _ = connected.login(*([f"tenantadmin_{role}"] if role else []))
    _, scoped = connected.login()  # a login granted some organizations, which operators list reads
    operators.grant(engine, OPERATOR, scoped.username, "auditor", ("acme",))
    allowed = ALLOWED[role]
    for name, action in _actions(platform).items():
        if allowed == "everything" or name in allowed:
            action(as_role)
            continue
        before = contents(engine)
        refusal = refused(action, as_role)
        assert "tenantadmin_" in str(refusal), (name, str(refusal))
        assert contents(engine) == before, name


@pytest.mark.parametrize("table", ["events", "event_tags"])
@pytest.mark.parametrize("role", [*ROLES, None])
def test_no_role_writes_the_log_directly(connected, role, table):
    as_role, _ = connected.login(*([f"tenantadmin_{role}"] if role else []))
    statements = (f"INSERT INTO {table} DEFAULT VALUES", f"UPDATE {table} SET position = position")
    for statement in (*statements, f"DELETE FROM {table}", f"TRUNCATE {table}"):
        with as_role.connect() as connection, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            connection.execute(sa.text(statement))


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("users", "password_hash"),
        ("users", "mfa_secret"),
        ("api_keys", "key_hash"),
        ("user_organizations", "invitation_token"),
    ],
)
def test_an_auditor_reads_every_column_but_the_secrets_hashes(engine, platform, connected, table, column):
    auditor, _ = connected.login("tenantadmin_auditor")
    with auditor.connect() as connection:
        assert connection.scalar(sa.text(f"SELECT count(*) FROM {table}")) > 0
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            connection.execute(sa.text(f"SELECT {column} FROM {table}"))


def test_a_verifier_writes_only_what_verifying_counts(engine, platform, connected):
    verifier, _ = connected.login("tenantadmin_verifier")
    assert keys.verify(verifier, platform["acme"]).valid
    for change in ("key_hash = 'x'", "status = 'active'", "expires_at = NULL", "usage_limit = NULL"):
        with verifier.connect() as connection, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            connection.execute(sa.text(f"UPDATE api_keys SET {change}"))


def test_nothing_is_appended_or_told_by_an_append_of_no_event(connected):
    operator, _ = connected.login("tenantadmin_operator")
    with operator.connect() as connection, pytest.raises(sa.exc.DBAPIError, match="at least one event"):
        connection.execute(
            sa.text(
                "SELECT tenantadmin_append_events('[]', '{}', '{}', '[{\"types\": [], \"tags\": []}]', 0, true, false)"
            )
        )


# --- organizations granted: row-level security ---------------------------------------------------------------------


@pytest.fixture
def acme_operator(engine, platform, connected):
    """A login granted tenantadmin_operator on acme alone, by the database's superuser (or owner)."""
    as_acme, _ = connected.granted(engine, "operator", ("acme",))
    return as_acme


def test_an_operator_granted_one_organization_sees_only_it(engine, platform, acme_operator):
    assert [record.slug for record in organizations.list_(acme_operator)] == ["acme"]
    assert {record.organization_slug for record in keys.list_(acme_operator)} == {"acme"}
    assert {record.email for record in members.list_(acme_operator, "acme")} == {OWNER}
    seen = audit.list_(acme_operator, audit.EventFilter(), limit=1000).records
    assert seen and {record.tags.get("org") for record in seen} == {"acme"}
    everything = audit.list_(engine, audit.EventFilter(), limit=1000).records
    assert len(seen) < len(everything)
    for reading in (
        lambda: organizations.show(acme_operator, "globex"),
        lambda: members.list_(acme_operator, "globex"),
        lambda: keys.list_(acme_operator, org="globex"),
    ):
        with pytest.raises(NotFound):
            reading()
    assert audit.list_(acme_operator, audit.EventFilter(org="globex")).records == []
    assert keys.verify(acme_operator, platform["globex"]).valid is False  # a key it cannot see does not exist for it


def test_an_operator_granted_one_organization_changes_nothing_of_another(engine, platform, acme_operator):
    globex_key = next(record for record in keys.list_(engine) if record.organization_slug == "globex")
    before = contents(engine)
    for change in (
        lambda: organizations.update(acme_operator, OPERATOR, "globex", city="Springfield"),
        lambda: organizations.suspend(acme_operator, OPERATOR, "globex", reason="no"),
        lambda: organizations.delete(acme_operator, OPERATOR, "globex"),
        lambda: members.invite(acme_operator, OPERATOR, "globex", "eve@example.com"),
        lambda: members.change_role(acme_operator, OPERATOR, "globex", "hank@globex.example", "member"),
        lambda: members.remove(acme_operator, OPERATOR, "globex", "hank@globex.example"),
        lambda: keys.issue(acme_operator, OPERATOR, "globex", "hank@globex.example", name="mine"),
        lambda: keys.revoke(acme_operator, OPERATOR, globex_key.key_id, reason="no"),
        lambda: keys.roll(acme_operator, OPERATOR, globex_key.key_id),
    ):
        with pytest.raises(NotFound):
            change()
    refusal = refused(organizations.create, acme_operator, OPERATOR, name="Initech", slug="initech")
    assert "the organizations it was granted" in str(refusal)
    assert contents(engine) == before


def test_rows_of_another_organization_stay_out_of_reach_in_sql_too(engine, platform, acme_operator):
    globex = organizations.show(engine, "globex")
    with acme_operator.connect() as connection:
        connection.execute(sa.text("SET ROLE tenantadmin_operator"))  # what the login is a member of: still scoped
        assert connection.scalar(sa.text("SELECT count(*) FROM organizations")) == 1
        assert connection.scalar(sa.text("SELECT count(*) FROM users")) == 1  # acme's owner
        changed = connection.execute(sa.text("UPDATE organizations SET city = 'Nowhere' WHERE slug = 'globex'"))
        assert changed.rowcount == 0
        with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
            connection.execute(
                sa.text("UPDATE organizations SET id = :globex WHERE slug = 'acme'"), {"globex": globex.id}
            )
    for widening in ("GRANT tenantadmin_admin TO CURRENT_USER", "REVOKE tenantadmin_scoped FROM CURRENT_USER"):
        with acme_operator.connect() as connection, pytest.raises(sa.exc.ProgrammingError, match=r"(?i)admin option"):
            connection.execute(sa.text(widening))
    with acme_operator.connect() as connection, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        connection.execute(sa.text("DELETE FROM operator_organizations"))
    assert organizations.show(engine, "globex").city is None


@pytest.mark.parametrize(
    ("organization", "tags"),
    [
        ("globex", {}),
        (None, {}),
        ("acme", {"org": "globex"}),
        ("acme", {"org_id": ["{acme}", "{globex}"]}),
        ("acme", {"key": "{globex_key}"}),
    ],
)
def test_an_operator_granted_one_organization_appends_no_event_of_another(
    engine, platform, acme_operator, organization, tags
):
    """The store's function runs as the owner, whom no policy holds: it checks what a scoped login appends itself."""
    ids = {slug: str(organizations.show(engine, slug).id) for slug in ("acme", "globex")}
    ids["globex_key"] = next(key.key_id for key in keys.list_(engine) if key.organization_slug == "globex")
    tags = {
        key: [each.format(**ids) for each in value] if isinstance(value, list) else value.format(**ids)
        for key, value in tags.items()
    }
    forged = Event("organization.updated", {}, tags=tags, organization_id=organization and uuid.UUID(ids[organization]))
    before = contents(engine)
    with pytest.raises(Forbidden, match="the organizations it was granted"):
        EventStore(acme_operator).append([forged])
    assert contents(engine) == before
    EventStore(acme_operator).append(
        [Event("organization.noted", {}, tags={"org": "acme"}, organization_id=uuid.UUID(ids["acme"]))]
    )


def test_an_operator_granted_one_organization_takes_over_no_account_of_another(engine, platform, acme_operator):
    """A membership it makes shows it the person, whose row every organization of theirs shares: it may change that row
    only while the person belongs to its organizations alone, and never reads what no command needs."""
    acme = organizations.show(engine, "acme").id
    with acme_operator.begin() as connection:
        hank = connection.scalar(sa.text("SELECT tenantadmin_user_id('hank@globex.example')"))
        connection.execute(
            sa.text("INSERT INTO user_organizations (user_id, organization_id, status) VALUES (:user, :org, 'active')"),
            {"user": hank, "org": acme},
        )
        assert connection.scalar(sa.text("SELECT email FROM users WHERE id = :user"), {"user": hank})
        changed = connection.execute(
            sa.text("UPDATE users SET password_hash = 'mine', email = 'owned@example.com' WHERE id = :user"),
            {"user": hank},
        )
        assert changed.rowcount == 0
        connection.rollback()
    for secret in ("mfa_secret", "password_reset_token", "email_verification_token"):
        with acme_operator.connect() as connection, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            connection.execute(sa.text(f"SELECT {secret} FROM users"))


def test_an_operator_granted_one_organization_changes_no_one_it_cannot_see(engine, platform, acme_operator):
    """Not even someone with no membership at all, by an UPDATE that reads no column (so no row is filtered by what
    the login may see)."""
    with engine.begin() as connection:
        orphan = connection.scalar(sa.text("SELECT tenantadmin_new_user('orphan@example.com', NULL)"))
    with acme_operator.begin() as connection:
        connection.execute(sa.text("UPDATE users SET bio = 'blind'"))
    with engine.connect() as connection:
        bios = dict(connection.execute(sa.text("SELECT email, bio FROM users")).all())
    assert bios == {OWNER: "blind", "hank@globex.example": None, "orphan@example.com": None}
    assert orphan


def test_an_operator_granted_one_organization_renames_it(engine, platform, acme_operator):
    assert organizations.update(acme_operator, OPERATOR, "acme", slug="acme-two").slug == "acme-two"


def test_a_verifier_never_lowers_a_count_of_uses(engine, platform, connected):
    verifier, _ = connected.login("tenantadmin_verifier")
    with verifier.begin() as connection:
        connection.execute(sa.text("UPDATE api_keys SET usage_count = usage_count + 1"))
    with verifier.connect() as connection, pytest.raises(sa.exc.ProgrammingError, match="lower the count of uses"):
        connection.execute(sa.text("UPDATE api_keys SET usage_count = 0"))


def test_a_login_granted_some_organizations_sees_only_its_own_grant(engine, platform, connected, acme_operator):
    _, other = connected.granted(engine, "auditor", ("globex",))
    with acme_operator.connect() as connection:
        logins = set(connection.scalars(sa.text("SELECT login FROM operator_organizations")))
    assert logins == {acme_operator.url.username}
    assert other.username not in logins


def test_an_operator_granted_one_organization_invites_someone_with_an_account_elsewhere(
    engine, platform, acme_operator
):
    invitation = members.invite(acme_operator, OPERATOR, "acme", "hank@globex.example")
    members.accept(acme_operator, OPERATOR, invitation.token, PASSWORD)
    assert {record.email for record in members.list_(acme_operator, "acme")} == {OWNER, "hank@globex.example"}
    assert {record.email for record in members.list_(engine, "globex")} == {"hank@globex.example"}
    new = members.invite(acme_operator, OPERATOR, "acme", "newcomer@example.com")
    assert new.member.email == "newcomer@example.com"


def test_an_auditor_granted_some_organizations_reads_only_those(engine, platform, connected):
    auditor, _ = connected.granted(engine, "auditor", ("globex",))
    assert [record.slug for record in organizations.list_(auditor)] == ["globex"]
    seen = audit.list_(auditor, audit.EventFilter(), limit=1000).records
    assert {record.tags.get("org") for record in seen} == {"globex"}
    refused(organizations.update, auditor, OPERATOR, "globex", city="Springfield")


def test_a_login_granted_no_longer_sees_an_organization_removed_from_its_grant(engine, platform, connected):
    as_login, url = connected.granted(engine, "operator", ("acme", "globex"))
    assert len(organizations.list_(as_login)) == 2
    operators.grant(engine, OPERATOR, url.username, "operator", ("globex",))
    assert [record.slug for record in organizations.list_(as_login)] == ["globex"]
    operators.grant(engine, OPERATOR, url.username, "operator")
    assert len(organizations.list_(as_login)) == 2


def test_the_appends_of_an_operator_granted_one_organization_are_guarded_by_the_whole_log(
    engine, platform, acme_operator
):
    """Its head is the whole log's, events it cannot see included: so its append conditions are checked from the same
    place as anyone's, and an event of another organization is neither missed nor taken for a conflict."""
    assert EventStore(acme_operator).head() == EventStore(engine).head()
    organizations.update(engine, OPERATOR, "globex", city="Elsewhere")
    assert EventStore(acme_operator).head() == EventStore(engine).head()
    organizations.update(acme_operator, OPERATOR, "acme", city="Here")
    assert organizations.show(engine, "acme").city == "Here"


def test_a_follower_granted_one_organization_is_delivered_its_events_only_and_never_stalls(
    engine, platform, acme_operator
):
    store = EventStore(acme_operator)
    stop = threading.Event()
    seen: list[str] = []
    started = store.head()

    def follow():
        for event in store.follow(Query.all(), after=started, stop=stop):
            seen.append(event.event.tags.get("org", "?"))
            if len(seen) == 2:
                stop.set()

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    for number, org in enumerate(("globex", "acme", "globex", "acme")):
        organizations.update(engine, OPERATOR, org, city=f"City {number}")
    follower.join(timeout=20)
    stop.set()
    assert seen == ["acme", "acme"]


def test_the_cli_works_unchanged_for_an_operator_granted_one_organization(platform, connected, engine, tmp_path):
    _, url = connected.granted(engine, "operator", ("acme",))
    run = {"home": tmp_path, "TENANTADMIN_DATABASE_URL": url_text(url)}
    listed = tenantadmin("orgs", "list", "--json", **run)
    assert listed.code == 0 and [org["slug"] for org in listed.json()] == ["acme"]
    other = tenantadmin("orgs", "show", "globex", **run)
    assert other.code == 1 and "no organization 'globex'" in other.stderr
    made = tenantadmin("orgs", "create", "Initech", "--slug", "initech", **run)
    assert made.code == 1 and made.stderr.count("\n") == 1 and "the organizations it was granted" in made.stderr
    tail = tenantadmin("events", "list", "--json", "--limit", "1000", **run)
    assert tail.code == 0 and {event["tags"].get("org") for event in tail.json()} == {"acme"}
