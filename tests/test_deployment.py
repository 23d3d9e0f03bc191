"""The deployment files agree with the code: docker-compose.yml, the Dockerfile, .ci/run and the README.

The variable lists come from referrals_saas/settings.py's source, so a new setting that production needs fails here
until docker-compose.yml passes it on. No database, no Docker engine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_SOURCE = (ROOT / "referrals_saas" / "settings.py").read_text()
APP_SERVICES = ["web", "worker", "beat"]


def settings_variables(pattern: str) -> set[str]:
    return set(re.findall(pattern, SETTINGS_SOURCE))


REQUIRED_IN_PRODUCTION = settings_variables(r'required_in_production\(\s*"([A-Z][A-Z0-9_]*)"')
# Every variable settings.py reads by name: env("X"), env.str("X", ...), env.db("X"), required_in_production("X").
READ_BY_SETTINGS = REQUIRED_IN_PRODUCTION | settings_variables(r'\benv(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]*)"')
TYPED = settings_variables(r'\benv\.(?:int|bool|float)\(\s*"([A-Z][A-Z0-9_]*)"')


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def environment_of(service: dict) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) if "=" in item else (item, "") for item in environment)
    return {name: "" if value is None else str(value) for name, value in environment.items()}


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs of the Dockerfile, continuation lines joined, comments dropped."""
    lines = [line for line in (ROOT / "Dockerfile").read_text().splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in joined.splitlines() if line.strip()]


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(index for index, (name, _) in enumerate(instructions) if name == "FROM")
    return instructions[last_from:]


def test_the_variable_lists_were_found_in_settings():
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL"} <= REQUIRED_IN_PRODUCTION
    assert {"DJANGO_DEBUG", "SITE_URL", "LOG_LEVEL"} <= READ_BY_SETTINGS
    assert "DJANGO_HSTS_SECONDS" in TYPED


def test_compose_has_the_five_services_with_health_checks(compose):
    services = compose["services"]
    for name in ["postgres", "redis", *APP_SERVICES]:
        assert name in services, f"docker-compose.yml has no {name} service"
        test = services[name].get("healthcheck", {}).get("test")
        assert test and test != ["NONE"], f"{name} has no health check"


def test_health_checks_ask_the_right_thing(compose):
    services = compose["services"]

    def check(name: str) -> str:
        return " ".join(services[name]["healthcheck"]["test"])

    assert "pg_isready" in check("postgres")
    assert "redis-cli ping" in check("redis")
    assert "/healthz" in check("web") and "urllib" in check("web")
    assert "inspect ping" in check("worker")
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")


def test_postgres_keeps_its_data_in_a_named_volume(compose):
    mounts = compose["services"]["postgres"]["volumes"]
    assert any(str(mount).split(":")[0] in compose["volumes"] for mount in mounts)


def test_app_services_start_after_migrations_and_healthy_dependencies(compose):
    services = compose["services"]
    assert "migrate" in " ".join(services["migrate"]["command"])
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in APP_SERVICES:
        depends_on = services[name]["depends_on"]
        assert depends_on["migrate"]["condition"] == "service_completed_successfully", name
        assert depends_on["redis"]["condition"] == "service_healthy", name
    assert "worker" in services["worker"]["command"]
    assert "beat" in services["beat"]["command"]


def test_every_variable_production_requires_reaches_the_app(compose):
    for name in [*APP_SERVICES, "migrate"]:
        environment = environment_of(compose["services"][name])
        missing = REQUIRED_IN_PRODUCTION - environment.keys()
        assert not missing, f"{name} lacks {sorted(missing)}, which settings.py requires in production"
        assert environment["DJANGO_DEBUG"] in {"0", "false", "False"}, name


def test_every_variable_settings_reads_reaches_the_app(compose):
    for name in APP_SERVICES:
        missing = READ_BY_SETTINGS - environment_of(compose["services"][name]).keys()
        assert not missing, f"{name} lacks {sorted(missing)}, which settings.py reads"


def test_app_services_share_one_environment(compose):
    environments = {name: environment_of(compose["services"][name]) for name in [*APP_SERVICES, "migrate"]}
    for variable in READ_BY_SETTINGS:
        values = {name: environment.get(variable) for name, environment in environments.items()}
        assert len(set(values.values())) == 1, f"{variable} differs between the services: {values}"


def test_required_variables_are_never_silently_empty(compose):
    environment = environment_of(compose["services"]["web"])
    for name in REQUIRED_IN_PRODUCTION:
        value = environment[name]
        if value == f"${{{name}:-}}":
            # The one either-or pair: settings.py accepts EMAIL_BACKEND (an anymail provider) instead.
            assert name == "EMAIL_URL" and "EMAIL_BACKEND" in environment, name
        else:
            assert value and (f"${{{name}" not in value or f"${{{name}:?" in value), f"{name}: {value}"
    for secret in ["DJANGO_SECRET_KEY", "POSTGRES_PASSWORD"]:
        assert f"${{{secret}:?" in (ROOT / "docker-compose.yml").read_text(), secret


def test_numbers_and_switches_get_real_defaults(compose):
    """An empty value does not fall back to settings.py's default: int("") crashes, bool("") turns a switch off."""
    environment = environment_of(compose["services"]["web"])
    for name in TYPED:
        value = environment.get(name, "")
        assert value and not re.fullmatch(r"\$\{\w+:?-\}", value), f"{name} would be empty: {value!r}"


def test_optional_secrets_default_to_empty(compose):
    environment = environment_of(compose["services"]["web"])
    for name in [name for name in READ_BY_SETTINGS if name.startswith("STRIPE_")]:
        assert environment[name] == f"${{{name}:-}}", name


def test_dockerfile_serves_gunicorn_as_a_non_root_user():
    stage = final_stage()
    assert stage[0][1].split()[0] == "python:3.11-slim"
    command = " ".join(arguments for name, arguments in stage if name in {"CMD", "ENTRYPOINT"})
    assert "gunicorn" in command and "referrals_saas.wsgi" in command and "8000" in command
    users = [arguments.strip() for name, arguments in stage if name == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert ("EXPOSE", "8000") in stage


def test_dockerfile_installs_the_project_and_collects_static_files():
    runs = " ".join(arguments for name, arguments in dockerfile_instructions() if name == "RUN")
    assert re.search(r"pip install (--no-deps )?\.(\s|$)", runs)
    assert "pip install -e" not in runs and "[dev]" not in runs
    collect = next(arguments for name, arguments in final_stage() if name == "RUN" and "collectstatic" in arguments)
    # Production mode, so the manifest that production's static storage needs is written.
    assert "DJANGO_DEBUG=0" in collect
    assert REQUIRED_IN_PRODUCTION - {"EMAIL_URL"} <= set(re.findall(r"\b([A-Z][A-Z0-9_]*)=", collect))


def test_dockerignore_keeps_secrets_and_local_state_out():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".env", ".git", ".venv", "db.sqlite3"} <= ignored
    assert "README.md" not in ignored and "pyproject.toml" not in ignored


def test_ci_runs_make_test_against_postgres_and_redis():
    script = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^\s*export DATABASE_URL=", script, re.MULTILINE)
    assert re.search(r"^\s*export REDIS_URL=", script, re.MULTILINE)
    assert re.search(r"^\s*make test\s*$", script, re.MULTILINE)


def test_readme_starts_with_the_two_commands_and_documents_every_variable():
    readme = (ROOT / "README.md").read_text()
    first_block = re.search(r"^```\w*\n(.*?)^```", readme, re.MULTILINE | re.DOTALL).group(1)
    assert first_block.splitlines() == ["make run", "make test"]
    undocumented = {name for name in READ_BY_SETTINGS if f"`{name}`" not in readme}
    assert not undocumented, f"README.md's configuration table lacks {sorted(undocumented)}"


def compose_cli() -> list[str] | None:
    for command in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(command[0]):
            probe = subprocess.run([*command, "version"], capture_output=True, text=True)
            if probe.returncode == 0 and "version v2" in probe.stdout.lower():
                return command
    return None


@pytest.mark.skipif(
    compose_cli() is None and os.environ.get("CI") != "true",
    reason="Docker Compose v2 is not installed (.ci/run installs it, so CI always runs this)",
)
def test_docker_compose_config_accepts_the_file():
    assert compose_cli() is not None, "CI must validate docker-compose.yml with Docker Compose v2"
    env = {
        **os.environ,
        "DJANGO_SECRET_KEY": "test",
        "DJANGO_ALLOWED_HOSTS": "referrals.example.com",
        "SITE_URL": "https://referrals.example.com",
        "POSTGRES_PASSWORD": "test",
        "DEFAULT_FROM_EMAIL": "test@example.com",
    }
    result = subprocess.run(
        [*compose_cli(), "--project-directory", str(ROOT), "config", "--quiet"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
