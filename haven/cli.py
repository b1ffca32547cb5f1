"""The `haven` command: run Haven on one machine, serve one service, migrate databases.

This module is the composition root of the whole system: the only place that knows the
list of services.
"""
from __future__ import annotations

import os
import shutil
import socket
import sys
import threading
import time
import urllib.request

import click

from haven.platform.config import ConfigError
from haven.platform.service_spec import ServiceSpec, resolve
from services.directory import SPEC as DIRECTORY
from services.notify import SPEC as NOTIFY
from services.portal import SPEC as PORTAL
from services.referral import SPEC as REFERRAL

# The services behind the public APIs, each with its database.
SERVICES: dict[str, ServiceSpec] = {spec.name: spec for spec in (DIRECTORY, REFERRAL, NOTIFY)}
# Everything `haven run` starts and `haven serve` serves: the portal first, because it is
# what people open (it keeps no data: a client of the three APIs).
PROCESSES: dict[str, ServiceSpec] = {PORTAL.name: PORTAL, **SERVICES}


def fail(message: str, code: int = 2) -> None:
    click.echo(f"haven: {message}", err=True)
    sys.exit(code)


def load_configs(specs) -> dict:
    try:
        return {spec.name: spec.load_config() for spec in specs}
    except ConfigError as exc:
        fail(f"configuration error: {exc}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Haven: service directory and referral network for survivors of gender-based violence."""


# --- migrate -------------------------------------------------------------------------

def migrate_service(spec: ServiceSpec, config) -> None:
    spec.migrations().upgrade(spec.database_url(config))


@main.command()
@click.argument("service", required=False, type=click.Choice(sorted(SERVICES)))
def migrate(service: str | None) -> None:
    """Apply database migrations (all services, or one). Needed before start on PostgreSQL."""
    specs = [SERVICES[service]] if service else list(SERVICES.values())
    configs = load_configs(specs)
    for spec in specs:
        migrate_service(spec, configs[spec.name])
        click.echo(f"{spec.name}: database at migration {spec.migrations().head() or 'baseline'}")


# --- serve ---------------------------------------------------------------------------

@main.command()
@click.argument("service", type=click.Choice(sorted(PROCESSES)))
def serve(service: str) -> None:
    """Serve one service with gunicorn (what `haven run` starts, and what containers run)."""
    spec = PROCESSES[service]
    config = load_configs([spec])[service]
    os.environ["HAVEN_SERVICE"] = service
    # prometheus-client picks its storage when first imported, so the multiprocess folder
    # must exist in the environment before anything imports it.
    metrics_dir = config.prometheus_multiproc_dir or os.path.join(
        config.haven_data_dir, "run", "metrics", service)
    shutil.rmtree(metrics_dir, ignore_errors=True)  # samples of a previous run are stale
    os.makedirs(metrics_dir, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    from haven.platform.db import is_embedded

    if spec.has_database and is_embedded(spec.database_url(config)):
        migrate_service(spec, config)  # once, in the master, before any worker exists
    if spec.prepare:
        # In a child process: building an index grows a process's memory, and every worker
        # is forked from this master.
        import multiprocessing

        child = multiprocessing.get_context("fork").Process(target=resolve(spec.prepare), args=(config,))
        child.start()
        child.join()
        if child.exitcode != 0:
            fail(f"{service}: preparing to serve failed (exit code {child.exitcode}); see the log above", 1)
    from haven.server import HavenServer

    HavenServer(spec, config).run()


# --- worker ----------------------------------------------------------------------------

@main.command()
@click.argument("service", type=click.Choice(sorted(name for name, spec in SERVICES.items() if spec.has_worker)))
def worker(service: str) -> None:
    """Run SERVICE's background jobs (its outbox relay, timers, consumers) with /metrics and
    /healthz on <SERVICE>_WORKER_PORT. One per service and database; `haven run` starts it."""
    import signal as signals

    from haven.platform import db
    from haven.platform import logging as haven_logging

    spec = SERVICES[service]
    config = load_configs([spec])[service]
    port = spec.worker_port(config)
    from haven.platform.background import Job, bind_endpoint, run_worker

    try:  # before touching a running worker's metrics
        endpoint = bind_endpoint(config.haven_bind_host, port)
    except OSError as exc:
        fail(f"{service.upper()}_WORKER_PORT={port}: cannot listen on {config.haven_bind_host}:{port} "
             f"({exc.strerror or exc})")
    # Its own metrics folder: the worker's samples must not mix with the HTTP server's.
    metrics_dir = os.path.join(config.haven_data_dir, "run", "metrics", f"{service}-worker")
    shutil.rmtree(metrics_dir, ignore_errors=True)
    os.makedirs(metrics_dir, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    haven_logging.configure(f"{service}-worker", config.log_level)
    url = spec.database_url(config)
    if db.is_embedded(url):
        migrate_service(spec, config)
    jobs = []
    if spec.outbox:
        jobs.append(Job("relay", _relay_job(spec, config)))
    if spec.jobs:
        jobs += resolve(spec.jobs)(config)
    if spec.outbox and config.event_backend == "embedded":
        # The embedded log's retention (Kafka enforces its own): the producing side prunes.
        from haven.platform.eventlog.factory import event_log_from

        jobs.append(Job("event-retention", event_log_from(config).enforce_retention))
    stop = threading.Event()
    for signal_number in (signals.SIGTERM, signals.SIGINT):
        signals.signal(signal_number, lambda *_: stop.set())
    run_worker(jobs, stop, endpoint)


def _relay_job(spec: ServiceSpec, config):
    from haven.platform import db
    from haven.platform.eventlog.factory import event_log_from
    from haven.platform.outbox import Outbox, Relay

    relay = Relay(db.create_engine(spec.database_url(config)), Outbox(resolve(spec.outbox)),
                  event_log_from(config), service=spec.name, topics=(spec.topic,) if spec.topic else ())
    return relay.run


# --- run -----------------------------------------------------------------------------

def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _announce_when_ready(urls: dict[str, str], stopping: threading.Event,
                         metrics: tuple[str, ...] = ()) -> None:
    deadline = time.monotonic() + 120
    pending = dict(urls)
    while pending and time.monotonic() < deadline and not stopping.is_set():
        for name, url in list(pending.items()):
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                    del pending[name]
            except OSError:
                pass
        time.sleep(0.2)
    if not pending:
        portal = urls.get(PORTAL.name)
        lines = ["", f"Haven is running. Open {portal} in a browser." if portal else "Haven is running:"]
        if portal:
            lines += ["  Demo users (password haven-demo): demo-caseworker, demo-agency, demo-supervisor, "
                      "demo-directory-admin, demo-ops, demo-admin", "", "APIs:"]
        lines += [f"  {name:<10} {url}   (API docs: {url}/docs)" for name, url in urls.items() if name != PORTAL.name]
        if metrics:  # what Prometheus scrapes (README "Metrics, dashboards and alerts")
            lines += ["Metrics (Prometheus):", *(f"  {url}" for url in metrics)]
        lines += ["Press Ctrl-C to stop.", ""]
        click.echo("\n".join(lines))


@main.command()
@click.option("--no-demo-data", is_flag=True, help="Do not load the demo data on first start.")
def run(no_demo_data: bool) -> None:
    """Run all of Haven on this machine: migrate, load demo data once, serve and keep serving
    (a process that exits is started again), stop on Ctrl-C."""
    from haven.supervisor import Program, Supervisor

    configs = load_configs(PROCESSES.values())
    from haven.platform.db import is_embedded

    for spec in PROCESSES.values():
        config = configs[spec.name]
        host, port = config.haven_bind_host, spec.port(config)
        if not _port_free(host, port):
            fail(f"{spec.name.upper()}_PORT={port}: "
                 f"port {port} on {host} is already in use")
        if spec.has_worker and not _port_free(host, spec.worker_port(config)):
            fail(f"{spec.name.upper()}_WORKER_PORT={spec.worker_port(config)}: "
                 f"port {spec.worker_port(config)} on {host} is already in use")
        os.makedirs(config.haven_data_dir, exist_ok=True)
        if not spec.has_database:
            continue
        if is_embedded(spec.database_url(config)):
            migrate_service(spec, config)
        if spec.demo_data and not no_demo_data:
            marker = os.path.join(config.haven_data_dir, f".{spec.name}-demo-loaded")
            if not os.path.exists(marker):
                resolve(spec.demo_data)(config, spec.database_url(config))
                with open(marker, "w") as fh:
                    fh.write("demo data loaded; delete this file to load it again into an empty database\n")

    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # each service gets its own folder
    # The services of this machine talk to each other here, whatever ports were chosen.
    directory_url = f"http://127.0.0.1:{DIRECTORY.port(configs[DIRECTORY.name])}"
    env.setdefault("REFERRAL_DIRECTORY_URL", directory_url)
    env.setdefault("NOTIFY_DIRECTORY_URL", directory_url)
    portal_url = f"http://127.0.0.1:{PORTAL.port(configs[PORTAL.name])}"
    # A notification links to the referral's page in the portal, where a person can act on it.
    env.setdefault("NOTIFY_REFERRAL_LINK", f"{portal_url}/referrals/{{id}}")
    for spec in SERVICES.values():
        env.setdefault(f"PORTAL_{spec.name.upper()}_URL", f"http://127.0.0.1:{spec.port(configs[spec.name])}")
    urls, programs, metrics = {}, [], []
    for spec in PROCESSES.values():
        config = configs[spec.name]
        programs.append(Program(spec.name, (sys.executable, "-m", "haven", "serve", spec.name), env))
        if spec.has_worker:
            programs.append(Program(f"{spec.name}-worker", (sys.executable, "-m", "haven", "worker", spec.name), env))
        shown_host = "127.0.0.1" if config.haven_bind_host in ("0.0.0.0", "::") else config.haven_bind_host
        urls[spec.name] = f"http://{shown_host}:{spec.port(config)}"
        metrics.append(f"{urls[spec.name]}/metrics")
        if spec.has_worker:
            metrics.append(f"http://{shown_host}:{spec.worker_port(config)}/metrics")
    supervisor = Supervisor(programs)
    threading.Thread(target=_announce_when_ready, args=(urls, supervisor.stopping, tuple(metrics)),
                     daemon=True).start()
    sys.exit(supervisor.run())


# --- field keys ----------------------------------------------------------------------

@main.command("rotate-field-keys")
def rotate_field_keys() -> None:
    """Re-encrypt the referrals' personal fields and notify's webhook secrets under the newest
    HAVEN_FIELD_KEYS key (after putting a new key first); then the old key can be dropped."""
    from haven.platform import db
    from haven.platform.field_cipher import CipherError, cipher_for
    from services.notify.adapters import rotation as notify_rotation
    from services.referral.adapters import rotation as referral_rotation

    configs = load_configs([REFERRAL, NOTIFY])
    for spec, rotation in ((REFERRAL, referral_rotation), (NOTIFY, notify_rotation)):
        config = configs[spec.name]
        try:
            cipher = cipher_for(config)
            count = rotation.rotate_all(db.create_engine(spec.database_url(config)), cipher)
        except (CipherError, ConfigError) as exc:
            fail(f"{spec.name}: {exc}")
        click.echo(f"{spec.name}: {count} encrypted values re-encrypted under key {cipher.key_id}")


# --- reindex -------------------------------------------------------------------------

@main.command()
def reindex() -> None:
    """Rebuild the directory's search index from its database; search keeps answering meanwhile."""
    from haven.platform import db
    from services.directory.service_layer.ports import IndexUnavailable
    from services.directory.bootstrap import directory_from

    config = load_configs([DIRECTORY])[DIRECTORY.name]
    started = time.monotonic()
    try:
        directory = directory_from(config, db.create_engine(DIRECTORY.database_url(config)))
        count = directory.indexing.rebuild()
    except (ConfigError, IndexUnavailable) as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:
        # e.g. listings the cluster refused: every one is named, none is dropped silently
        for error in getattr(exc, "errors", [])[:20]:
            click.echo(f"  service {error.get('_id')}: {error.get('error')}", err=True)
        raise click.ClickException(f"search index not rebuilt ({config.search_backend}): {exc}") from None
    click.echo(f"directory: indexed {count} services into the {config.search_backend} search index "
               f"in {time.monotonic() - started:.1f}s")


# --- token ---------------------------------------------------------------------------

@main.command()
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["caseworker", "agency_staff", "supervisor", "directory_admin", "ops", "admin"]),
              help="Role(s) of the token's holder (repeatable).")
@click.option("--organization", default=None,
              help="Organization id the holder belongs to (caseworker: their agency; agency_staff).")
@click.option("--user", default="demo-user", show_default=True, help="Subject (user name) of the token.")
@click.option("--ttl", default=3600, show_default=True, type=click.IntRange(60, 86400), help="Lifetime in seconds.")
def token(roles, organization, user, ttl) -> None:
    """Print a signed bearer token from the embedded issuer (for curl, scripts and tests)."""
    from haven.platform.auth import LocalKeys, mint_token

    config = load_configs([DIRECTORY])[DIRECTORY.name]
    if config.haven_auth_jwks_url:
        fail("HAVEN_AUTH_JWKS_URL is set: tokens come from your identity provider, not from `haven token`")
    if not organization and set(roles) & {"caseworker", "agency_staff"}:
        click.echo("haven: note: without --organization this token is refused (403) wherever a caseworker "
                   "or agency_staff acts for their organization", err=True)
    click.echo(mint_token(LocalKeys(config.haven_data_dir), issuer=config.haven_auth_issuer,
                          audience=config.haven_auth_audience, subject=user, roles=roles,
                          organization_id=organization, ttl_seconds=ttl))


# --- users ---------------------------------------------------------------------------

@main.group()
def users() -> None:
    """Local user accounts of the embedded issuer (they sign in with POST /v1/auth/login)."""


def _local_users():
    from haven.platform.local_users import LocalUsers

    config = load_configs([DIRECTORY])[DIRECTORY.name]
    return config, LocalUsers(config.haven_data_dir)


@users.command("add")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["caseworker", "agency_staff", "supervisor", "directory_admin", "ops", "admin"]),
              help="Role(s) of the user (repeatable).")
@click.option("--organization", default=None, help="Organization id (required for caseworker and agency_staff).")
@click.option("--name", "display_name", default="", help="Display name (default: the user name).")
@click.option("--language", default="vi", show_default=True, type=click.Choice(["vi", "en"]))
@click.option("--email", default=None)
@click.option("--phone", default=None)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def users_add(username, roles, organization, display_name, language, email, phone, password_stdin) -> None:
    """Create a local user; asks for the password unless --password-stdin."""
    from haven.platform.local_users import LocalUser, UserError, validated

    config, store = _local_users()
    if config.haven_auth_jwks_url:
        fail("HAVEN_AUTH_JWKS_URL is set: accounts live in your identity provider, not in Haven")
    try:
        user = validated(LocalUser(username, display_name, tuple(roles), organization, language, email, phone))
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        user = store.add(user, password)
    except UserError as exc:
        fail(f"cannot add {username!r}: {exc}")  # the message names the field, never the password
    click.echo(f"added {user.username} ({', '.join(user.roles)})")


@users.command("list")
def users_list() -> None:
    """List local users: name, roles, organization, language, state (no contact details)."""
    _, store = _local_users()
    for user in store.list():
        state = "disabled" if user.disabled else "active"
        click.echo(f"{user.username}\t{','.join(user.roles)}\t{user.organization_id or '-'}\t{user.language}\t{state}")


@users.command("disable")
@click.argument("username")
def users_disable(username: str) -> None:
    """Refuse USERNAME's next sign-in (a token already issued lives until it expires)."""
    from haven.platform.local_users import UnknownUser, normalize_username

    config, store = _local_users()
    try:
        store.disable(username)
    except UnknownUser:
        fail(f"no local user {username!r}", 1)
    click.echo(f"disabled {normalize_username(username)}; tokens already issued expire within "
               f"{config.haven_auth_token_ttl_seconds} s")


# --- report --------------------------------------------------------------------------

@main.group()
def report() -> None:
    """Reports for the provincial Department, from the referral database."""


@report.command("yearly")
@click.option("--year", required=True, type=click.IntRange(2000, 2100),
              help="Programme year Y: 01/12/Y-1 to 30/11/Y (Vietnam time).")
@click.option("--province", default=None, help="Only referrals to services in this province (area code).")
@click.option("--format", "file_format", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True)
@click.option("--language", type=click.Choice(["vi", "en"]), default="vi", show_default=True)
@click.option("--output", type=click.Path(dir_okay=True, writable=True), default=None,
              help="File or folder to write (default: the report's own name, here).")
def report_yearly(year, province, file_format, language, output) -> None:
    """The yearly report (seven sheets, small counts suppressed), as the API gives it to ops."""
    from haven.platform import db, refusals
    from services.referral.bootstrap import reports_from
    from services.referral.service_layer.stats import OPERATOR

    config = load_configs([REFERRAL])[REFERRAL.name]
    url = REFERRAL.database_url(config)
    if db.is_embedded(url):
        migrate_service(REFERRAL, config)
    engine = db.create_engine(url)
    try:
        name, body = reports_from(config, engine).file(OPERATOR, year, province, None, language, file_format)
    except refusals.Invalid as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    path = os.path.join(output, name) if output and os.path.isdir(output) else (output or name)
    with open(path, "wb") as file:
        file.write(body)
    click.echo(f"yearly report {year} written to {path}")


# --- events --------------------------------------------------------------------------

@main.group()
def events() -> None:
    """Look at and repair the event log (embedded or Kafka, as configured)."""


def _event_log():
    from haven.platform.config import ConfigError
    from haven.platform.eventlog.factory import event_log_from

    config = load_configs([DIRECTORY])[DIRECTORY.name]
    try:
        return event_log_from(config)
    except ConfigError as exc:
        fail(f"configuration error: {exc}")


@events.command()
@click.argument("topic")
@click.option("--seconds", default=None, type=float, help="Stop after this long (default: until Ctrl-C).")
def tail(topic: str, seconds: float | None) -> None:
    """Print records of TOPIC as they arrive (from the beginning), one JSON line each.
    Reads every partition directly: it joins no consumer group and leaves none behind."""
    import json as json_module

    reader = _event_log().reader([topic])
    deadline = None if seconds is None else time.monotonic() + seconds
    try:
        while deadline is None or time.monotonic() < deadline:
            wait = 0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic()))
            for record in reader.poll(wait):
                value = record.value.decode("utf-8", errors="replace")
                click.echo(json_module.dumps({"partition": record.partition, "offset": record.offset,
                                              "key": record.key, "headers": record.headers, "value": value},
                                             ensure_ascii=False))
    except KeyboardInterrupt:
        pass
    finally:
        reader.close()


@events.command()
@click.argument("group")
@click.option("--topic", "topics", multiple=True, default=["referral-events"], show_default=True)
def lag(group: str, topics) -> None:
    """How many records GROUP has not yet handled, per partition."""
    log = _event_log()
    total = 0
    for (topic, partition), behind in sorted(log.lag(group, list(topics)).items()):
        click.echo(f"{topic}[{partition}] {behind}")
        total += behind
    click.echo(f"total {total}")


@events.command("replay-dlq")
@click.argument("group")
def replay_dlq(group: str) -> None:
    """Send GROUP's dead letters back to their topics (once the cause is fixed): those in the
    dead-letter topic when it starts, then it stops. One that fails again waits for the next run."""
    from haven.platform.eventlog.worker import dead_letter_topic, replay_dead_letters

    def progress(done: int, total: int) -> None:
        click.echo(f"{group}: {done}/{total} dead letters replayed", err=True)

    summary = replay_dead_letters(_event_log(), group, progress=progress)
    per_topic = ", ".join(f"{topic} {count}" for topic, count in sorted(summary.replayed.items()))
    click.echo(f"{group}: replayed {summary.total} dead letters" + (f" ({per_topic})" if per_topic else ""))
    if summary.skipped:
        click.echo(f"{group}: skipped {summary.skipped} dead letters that do not say which topic they came from")
    if summary.left:
        click.echo(f"{group}: {summary.left} dead letters arrived in {dead_letter_topic(group)} during the replay; "
                   "they wait for the next run")


# --- config --------------------------------------------------------------------------

@main.command("config")
def show_config() -> None:
    """Print every environment variable Haven reads, with its default (Markdown table)."""
    seen = {}
    for spec in PROCESSES.values():
        for setting in spec.settings:
            seen.setdefault(setting.name, setting)
    click.echo("| Variable | Default | Meaning |\n|---|---|---|")
    for setting in seen.values():
        default = f"`{setting.default}`" if setting.default is not None else "(unset)"
        click.echo(f"| `{setting.name}` | {default} | {setting.help} |")


if __name__ == "__main__":
    main()
