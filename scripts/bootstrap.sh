#!/usr/bin/env bash
# Installs everything Hydrogen needs on a fresh machine: system packages (Java, Maven, Node.js,
# PostgreSQL) when absent, the Python environment from requirements.lock, and the npm toolchain
# (anvil, solc, OpenZeppelin) from package-lock.json. Each step is skipped when its inputs have
# not changed, so the second run takes about a second. Kafka's jars are resolved by
# `hydrogen devnet up` on first use and cached under ~/.cache/hydrogen.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*" >&2; }
stamp_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

missing=()
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v npm >/dev/null || missing+=(nodejs npm)
compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null || missing+=(postgresql)
if ((${#missing[@]})); then
  say "installing system packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3
want=$(stamp_of requirements.lock pyproject.toml)
if [ "$(cat .venv/.hydrogen-stamp 2>/dev/null)" != "$want" ]; then
  say "installing the Python environment (.venv) from requirements.lock"
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  .venv/bin/pip install -q -r requirements.lock
  .venv/bin/pip install -q --no-deps -e .
  .venv/bin/pip check
  echo "$want" > .venv/.hydrogen-stamp
fi

want=$(stamp_of package-lock.json)
if [ "$(cat node_modules/.hydrogen-stamp 2>/dev/null)" != "$want" ]; then
  say "installing the npm toolchain (node_modules) from package-lock.json"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > node_modules/.hydrogen-stamp
fi
