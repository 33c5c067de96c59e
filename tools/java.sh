#!/usr/bin/env bash
# Java for the local Spark server: 17 or 21 (what Spark 4 supports). Used by `make setup`.
# Found (JAVA_HOME, PATH, macOS java_home, Homebrew): prints which. Missing: installs Java 17 on
# Debian/Ubuntu (apt-get), else prints the one command to run and fails.
set -euo pipefail

version_of() { "$1" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1; }
supported() { [ -x "$1" ] && case "$(version_of "$1")" in 17|21) return 0;; *) return 1;; esac; }

candidates=()
[ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME/bin/java")
command -v java >/dev/null 2>&1 && candidates+=("$(command -v java)")
if [ -x /usr/libexec/java_home ]; then
  for v in 21 17; do home=$(/usr/libexec/java_home -v "$v" 2>/dev/null || true); [ -n "$home" ] && candidates+=("$home/bin/java"); done
fi
for prefix in /opt/homebrew/opt /usr/local/opt; do
  for v in 21 17; do candidates+=("$prefix/openjdk@$v/bin/java"); done
done
for java in /usr/lib/jvm/*-17-*/bin/java /usr/lib/jvm/*-21-*/bin/java; do candidates+=("$java"); done

for java in "${candidates[@]}"; do
  if supported "$java"; then
    echo "Java $(version_of "$java"): $java"
    exit 0
  fi
done

if command -v apt-get >/dev/null 2>&1; then
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  echo "Installing Java 17 (openjdk-17-jre-headless)"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
  exit 0
fi
if [ "$(uname -s)" = Darwin ]; then
  echo "Java 17 or 21 is missing: run \`brew install openjdk@21\`, then \`make setup\` again." >&2
else
  echo "Java 17 or 21 is missing: install OpenJDK 17 or 21 with your package manager (or set JAVA_HOME), then \`make setup\` again." >&2
fi
exit 1
