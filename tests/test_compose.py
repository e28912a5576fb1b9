"""Static checks of the container and CI files (no Docker engine, no Django).

Nothing here imports Django: these run in a second, even without a database.
Each rule lives in a helper that returns a list of problems, so every test can
also show its rule failing on a deliberately broken copy in tmp_path.
"""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"

# Installed with the dev requirements, in the same environment as pytest.
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"

REQUIRED_SUBSTITUTION = re.compile(r"^\$\{(?P<name>\w+):?\?[^}]*\}$")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|API_KEY|PRIVATE_KEY", re.IGNORECASE)
URI_WITH_PASSWORD = re.compile(r"://[^/@:\s]+:[^/@\s]+@")


# --- helpers --------------------------------------------------------------------


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def schema_check(path: Path, schema: str) -> subprocess.CompletedProcess[str]:
    assert CHECK_JSONSCHEMA.exists(), "pip install check-jsonschema (dev requirements)"
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def depends_on_targets(service: dict) -> dict[str, str | None]:
    """{target: condition} for both the list and the mapping form of depends_on."""
    depends_on = service.get("depends_on") or {}
    if isinstance(depends_on, list):
        return dict.fromkeys(depends_on)
    return {name: (spec or {}).get("condition") for name, spec in depends_on.items()}


def dependency_problems(compose: dict) -> list[str]:
    services = compose.get("services") or {}
    problems = []
    for name, service in services.items():
        for target, condition in depends_on_targets(service).items():
            if target not in services:
                problems.append(f"{name}: depends_on unknown service {target!r}")
                continue
            check = services[target].get("healthcheck") or {}
            has_check = check.get("test") and not check.get("disable")
            if condition == "service_healthy" and not has_check:
                problems.append(f"{name}: waits for {target!r}: no healthcheck")
    return problems


def named_volumes_used(service: dict) -> set[str]:
    names = set()
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            if volume.get("type", "volume") == "volume" and volume.get("source"):
                names.add(volume["source"])
            continue
        source = volume.split(":", 1)[0] if ":" in volume else ""
        # Bind mounts are paths; a bare container path is an anonymous volume.
        if source and not source.startswith(("/", ".", "~", "$")) and "/" not in source:
            names.add(source)
    return names


def volume_problems(compose: dict) -> list[str]:
    declared = set(compose.get("volumes") or {})
    return [
        f"{name}: volume {volume!r} is not declared under top-level volumes"
        for name, service in (compose.get("services") or {}).items()
        for volume in sorted(named_volumes_used(service) - declared)
    ]


def environment(service: dict) -> dict[str, str | None]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return {k: v for k, _, v in (item.partition("=") for item in env)}
    return {k: (None if v is None else str(v)) for k, v in env.items()}


def secret_problems(service: dict) -> list[str]:
    env = environment(service)
    problems = []
    key = env.get("DJANGO_SECRET_KEY")
    match = REQUIRED_SUBSTITUTION.match(key or "")
    if not match or match["name"] != "DJANGO_SECRET_KEY":
        problems.append(f"DJANGO_SECRET_KEY must be ${{...:?...}}, not {key!r}")
    for name, value in env.items():
        if value is None:
            continue  # passed through from the caller's environment
        if SECRET_NAME.search(name) and not REQUIRED_SUBSTITUTION.match(value):
            problems.append(f"{name} has a literal or defaulted value")
        if URI_WITH_PASSWORD.search(value):
            problems.append(f"{name} embeds a password in a URI")
    return problems


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    joined, instructions = "", []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or not line:
            continue
        if line.endswith("\\"):
            joined += line[:-1] + " "
            continue
        joined += line
        keyword, _, arguments = joined.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        joined = ""
    return instructions


def dockerfile_problems(text: str) -> list[str]:
    instructions = dockerfile_instructions(text)
    problems = []
    users = [args for keyword, args in instructions if keyword == "USER"]
    if not users:
        problems.append("no USER: the container would run as root")
    elif users[-1].split(":")[0] in {"root", "0"}:
        problems.append(f"final USER is root ({users[-1]})")
    healthchecks = [args for keyword, args in instructions if keyword == "HEALTHCHECK"]
    if not healthchecks or healthchecks[-1].upper() == "NONE":
        problems.append("no HEALTHCHECK")
    commands = [args for keyword, args in instructions if keyword == "CMD"]
    if not commands or "config.asgi:application" not in commands[-1]:
        problems.append("CMD does not serve config.asgi:application")
    return problems


def websocket_option_problems(text: str, launcher_argv: list[str]) -> list[str]:
    """``--ws*`` options of `make run`'s uvicorn argv that the image's CMD does not pass alike."""
    commands = [args for keyword, args in dockerfile_instructions(text) if keyword == "CMD"]
    command = commands[-1] if commands else ""
    pairs = itertools.pairwise(launcher_argv)
    return [f"CMD lacks {option} {value}" for option, value in pairs
            if option.startswith("--ws") and f"{option} {value}" not in command]  # fmt: skip


def redis_option_problems(compose: dict, launcher_args: tuple[str, ...]) -> list[str]:
    """Options `make run` gives redis-server (persistence, eviction) that compose's Redis lacks or sets apart."""
    command = list(compose["services"]["redis"].get("command") or [])
    problems = []
    for option, value in itertools.batched(launcher_args, 2, strict=True):
        given = command[command.index(option) + 1] if option in command[:-1] else None
        if given != value:
            problems.append(f"redis: {option} is {given}, make run uses {value}")
    return problems


# --- docker-compose.yml and the CI workflow against their published schemas ----------

SCHEMAS = {COMPOSE: "vendor.compose-spec", WORKFLOW: "vendor.github-workflows"}
# One invalid file of each kind, to show that the check bites: ports not a list; a job without runs-on.
INVALID = {
    COMPOSE: "services:\n  web:\n    image: x\n    ports: 8000\n",
    WORKFLOW: "on: push\njobs:\n  test:\n    steps:\n      - run: make test\n",
}


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda path: path.name)
def test_file_matches_its_published_schema(path: Path) -> None:
    result = schema_check(path, SCHEMAS[path])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda path: path.name)
def test_schema_check_rejects_an_invalid_file(tmp_path: Path, path: Path) -> None:
    broken = tmp_path / path.name
    broken.write_text(INVALID[path])
    assert schema_check(broken, SCHEMAS[path]).returncode != 0


# --- docker-compose.yml -----------------------------------------------------------


def test_compose_dependencies_exist_and_are_healthchecked() -> None:
    assert dependency_problems(load_yaml(COMPOSE)) == []


@pytest.mark.parametrize(
    ("depends_on", "expected"),
    [
        (["cache"], "unknown service 'cache'"),
        ({"cache": {"condition": "service_started"}}, "unknown service 'cache'"),
        ({"db": {"condition": "service_healthy"}}, "'db': no healthcheck"),
    ],
)
def test_dependency_problems_are_reported(
    tmp_path: Path,
    depends_on: object,
    expected: str,
) -> None:
    compose = load_yaml(COMPOSE)
    compose["services"]["db"] = {"image": "mongo:8"}
    compose["services"]["web"]["depends_on"] = depends_on
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(yaml.safe_dump(compose))
    problems = dependency_problems(load_yaml(broken))
    assert any(expected in problem for problem in problems), problems


def test_compose_named_volumes_are_declared() -> None:
    compose = load_yaml(COMPOSE)
    assert volume_problems(compose) == []
    # MongoDB data must outlive the container.
    assert "mongo-data" in named_volumes_used(compose["services"]["mongo"])


def test_undeclared_volume_is_reported(tmp_path: Path) -> None:
    compose = load_yaml(COMPOSE)
    volumes = compose["services"]["redis"]["volumes"]
    volumes.append("cache-data:/cache")
    volumes.append("./local:/local")  # a bind mount: fine
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(yaml.safe_dump(compose))
    expected = "redis: volume 'cache-data' is not declared under top-level volumes"
    assert volume_problems(load_yaml(broken)) == [expected]


def test_web_has_no_secret_literals() -> None:
    assert secret_problems(load_yaml(COMPOSE)["services"]["web"]) == []


@pytest.mark.parametrize(
    "environment_override",
    [
        {"DJANGO_SECRET_KEY": "hunter2"},
        {"DJANGO_SECRET_KEY": "${DJANGO_SECRET_KEY:-insecure-default}"},
        {"DEMO_PASSWORD": "${DEMO_PASSWORD:-demo}"},
        {"MONGODB_URI": "mongodb://admin:hunter2@mongo:27017/tienda"},
    ],
)
def test_secret_literals_are_reported(environment_override: dict[str, str]) -> None:
    web = load_yaml(COMPOSE)["services"]["web"]
    web["environment"] = {**environment(web), **environment_override}
    assert secret_problems(web) != []


# --- Dockerfile -------------------------------------------------------------------


def test_dockerfile_runs_unprivileged_with_healthcheck_and_cmd() -> None:
    assert dockerfile_problems(DOCKERFILE.read_text(encoding="utf-8")) == []


def test_dockerfile_problems_are_reported() -> None:
    good = DOCKERFILE.read_text(encoding="utf-8")
    as_root = good + "\nUSER root\n"
    lines = good.splitlines()
    no_user = "\n".join(line for line in lines if not line.startswith("USER"))
    no_healthcheck = good + "\nHEALTHCHECK NONE\n"
    no_cmd = "\n".join(line for line in lines if not line.startswith("CMD"))
    assert dockerfile_problems(as_root) == ["final USER is root (root)"]
    assert dockerfile_problems(no_user) == ["no USER: the container would run as root"]
    assert dockerfile_problems(no_healthcheck) == ["no HEALTHCHECK"]
    assert dockerfile_problems(no_cmd) == ["CMD does not serve config.asgi:application"]


def test_the_image_serves_websockets_as_make_run_does() -> None:
    from devstack.__main__ import asgi_server_argv

    argv = asgi_server_argv(port=8000)
    assert "--ws-per-message-deflate" in argv
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    assert websocket_option_problems(dockerfile, argv) == []
    compressed = dockerfile.replace(" --ws-per-message-deflate false", "")
    assert websocket_option_problems(compressed, argv) == ["CMD lacks --ws-per-message-deflate false"]


def test_compose_redis_keeps_and_evicts_as_make_run_does() -> None:
    from devstack.services import REDIS_MEMORY_ARGS, REDIS_PERSISTENCE_ARGS

    launcher = (*REDIS_PERSISTENCE_ARGS, *REDIS_MEMORY_ARGS)
    assert ("--maxmemory-policy", "noeviction") in itertools.batched(launcher, 2, strict=True)
    compose = load_yaml(COMPOSE)
    assert redis_option_problems(compose, launcher) == []
    command = compose["services"]["redis"]["command"]
    command[command.index("noeviction")] = "allkeys-lru"
    expected = "redis: --maxmemory-policy is allkeys-lru, make run uses noeviction"
    assert redis_option_problems(compose, launcher) == [expected]


def test_entrypoint_hands_over_to_cmd() -> None:
    entrypoint = (ROOT / "docker" / "entrypoint.sh").read_text(encoding="utf-8")
    assert entrypoint.rstrip().endswith('exec "$@"')


# --- the "replicated" profile: three MongoDB members, Redis with replicas and sentinels --------
# What the schema cannot check: every address the app and the init container use exists.

PROFILE = "replicated"
MEMBER = re.compile(r"host: '([\w-]+):(\d+)'")
SENTINEL_MONITOR = re.compile(r"'sentinel monitor (\w+) ([\w-]+) (\d+) (\d+)'")


def profile_services(compose: dict) -> dict[str, dict]:
    return {name: service for name, service in compose["services"].items() if PROFILE in service.get("profiles", [])}


def test_the_single_node_services_stay_the_default() -> None:
    compose = load_yaml(COMPOSE)
    default = {name for name, service in compose["services"].items() if not service.get("profiles")}
    assert default == {"mongo", "redis", "web", "worker", "mail"}
    assert environment(compose["services"]["web"])["MONGODB_URI"].startswith("${MONGODB_URI:-mongodb://mongo:27017/")


def test_the_replica_set_has_three_members_that_the_app_names() -> None:
    services = profile_services(load_yaml(COMPOSE))
    mongods = sorted(name for name, service in services.items() if service.get("command", [None])[0] == "--replSet")
    assert mongods == ["mongo-1", "mongo-2", "mongo-3"]
    initiate = " ".join(services["mongo-init"]["command"])
    assert sorted(MEMBER.findall(initiate)) == [(name, "27017") for name in mongods]
    uri = urlsplit(environment(services["web-ha"])["MONGODB_URI"])
    assert sorted(uri.netloc.split(",")) == [f"{name}:27017" for name in mongods]
    assert parse_qs(uri.query) == {"replicaSet": ["rs0"]}
    assert all(f"'{name}:27017'" in initiate for name in mongods)


def test_redis_has_a_primary_two_replicas_and_three_sentinels_that_the_app_names() -> None:
    services = profile_services(load_yaml(COMPOSE))
    servers = {name: service["command"] for name, service in services.items() if name.startswith("redis-")}
    assert sorted(servers) == ["redis-1", "redis-2", "redis-3"]
    from devstack.services import REDIS_MEMORY_ARGS, REDIS_PERSISTENCE_ARGS

    launcher = [*REDIS_PERSISTENCE_ARGS, *REDIS_MEMORY_ARGS]
    for name, command in servers.items():
        assert " ".join(launcher) in " ".join(command), f"{name} does not keep and evict as make run's Redis"
    assert "--replicaof" not in servers["redis-1"]
    assert [servers[name][-3:] for name in ("redis-2", "redis-3")] == [["--replicaof", "redis-1", "6379"]] * 2

    sentinels = sorted(name for name in services if name.startswith("sentinel-"))
    assert sentinels == ["sentinel-1", "sentinel-2", "sentinel-3"]
    for name in sentinels:
        assert SENTINEL_MONITOR.findall(services[name]["command"][2]) == [("tienda", "redis-1", "6379", "2")]
    app = environment(services["web-ha"])
    assert app["REDIS_SENTINELS"] == ",".join(f"{name}:26379" for name in sentinels)
    assert app["REDIS_MASTER_NAME"] == "tienda"
    assert app["REDIS_URL"] is None  # not passed: the sentinels name the primary
    assert environment(services["worker-ha"]) == app


def test_the_profile_waits_for_what_it_uses_and_keeps_secrets_out() -> None:
    compose = load_yaml(COMPOSE)
    assert dependency_problems(compose) == []
    services = profile_services(compose)
    assert services["web-ha"]["depends_on"]["mongo-init"] == {"condition": "service_completed_successfully"}
    assert {name for name in services["web-ha"]["depends_on"] if name.startswith("sentinel-")} == {
        "sentinel-1", "sentinel-2", "sentinel-3",
    }  # fmt: skip
    assert secret_problems(services["web-ha"]) == []
    published = [port for service in compose["services"].values() for port in service.get("ports", [])]
    assert len(published) == len(set(published)), "two services publish the same port"
