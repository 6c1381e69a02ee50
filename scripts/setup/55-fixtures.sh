#!/usr/bin/env bash
# The test-cluster fixtures of examples/ for other languages (issue 20), run by
# test/testing/fixtures.slow.ts with their own runners:
# - pytest: examples/python/requirements.txt (pytest, confluent-kafka) in a venv
#   (~/.cache/kstack/fixtures-venv), rebuilt only when requirements.txt changes (cache ~/.cache/pip);
# - JUnit 5: examples/junit/pom.xml's dependencies and plugins (JUnit Jupiter, kafka-clients,
#   surefire with its JUnit Platform provider and launcher) fetched from Maven Central into
#   ~/.m2/repository by compiling the example, running surefire with no test selected and getting
#   the provider and launcher, so the test can run Maven offline (-o); redone only when pom.xml
#   changes (the provider's and launcher's versions here follow pom.xml's surefire and JUnit).
# Needs python3 with venv, and Maven with a JDK 17 (scripts/setup/30-reference.sh installs Maven).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/setup/build-env.sh
cache_dir="${KSTACK_CACHE_DIR:-$HOME/.cache/kstack}"
mkdir -p "$cache_dir"

venv="$cache_dir/fixtures-venv"
requirements=examples/python/requirements.txt
stamp="$venv/.requirements.sha256"
wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  python="${KSTACK_PYTHON:-python3}"
  "$python" -m venv --clear "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
  echo "$wanted" >"$stamp"
fi

if [ -f examples/junit/pom.xml ]; then
  command -v mvn >/dev/null || { echo "fixtures: maven is needed (scripts/setup/30-reference.sh installs it)" >&2; exit 1; }
  maven_stamp="$cache_dir/junit-fixture.sha256"
  wanted="$(sha256sum examples/junit/pom.xml | cut -d' ' -f1)"
  if [ "$(cat "$maven_stamp" 2>/dev/null)" != "$wanted" ]; then
    # Java takes user.home from the password database, not $HOME: name the cache from $HOME.
    repo="$HOME/.m2/repository"
    mvn -q -B -Dstyle.color=never -Dmaven.repo.local="$repo" -f examples/junit/pom.xml \
      -Dtest=NoTestSelected -Dsurefire.failIfNoSpecifiedTests=false test
    # Surefire resolves its JUnit Platform provider and launcher only when a test runs: fetch them.
    for artifact in org.apache.maven.surefire:surefire-junit-platform:3.5.4 \
      org.junit.platform:junit-platform-launcher:1.14.4; do
      mvn -q -B -Dstyle.color=never -Dmaven.repo.local="$repo" \
        org.apache.maven.plugins:maven-dependency-plugin:3.8.1:get -Dartifact="$artifact"
    done
    rm -rf examples/junit/target
    echo "$wanted" >"$maven_stamp"
  fi
fi
