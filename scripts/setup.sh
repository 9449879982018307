#!/usr/bin/env bash
# Sets up everything Qinglang needs on a fresh Debian 12 machine: system packages
# (CJK font, Chromium for browser tests, ffmpeg for reference checks, PostgreSQL,
# Java for Kafka/Elasticsearch) and a Python virtual environment with the project.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PKGS=(fonts-noto-cjk chromium ffmpeg postgresql espeak-ng sox maven openjdk-17-jre-headless)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "==> installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.qinglang-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "==> installing Python dependencies (first run takes a few minutes)"
  .venv/bin/pip install -q --upgrade pip wheel
  .venv/bin/pip install -q -e '.[all]'
  touch "$stamp"
fi
echo "==> ready: .venv/bin/qinglang"
