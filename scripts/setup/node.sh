# Sourced, not run: puts Node.js 24 (from the npm registry's `node` package) and the
# Biome linter first on PATH. The machine's own Node is 20, which cannot run our
# TypeScript directly. Biome lives here rather than in devDependencies because the
# registry we install from carries only its Linux glibc binaries, and `npm ci` refuses
# a lock file whose optional platform packages cannot be resolved.
# The tools folder lives in ~/.cache so later runs reuse it.
KSTACK_TOOLS_DIR="${KSTACK_TOOLS_DIR:-$HOME/.cache/kstack-tools}"
KSTACK_NODE_MAJOR=24
KSTACK_BIOME_VERSION=2.6.8
# Each version is read whole before it is matched: `biome --version | grep -q` under the setup steps'
# `set -o pipefail` failed about one time in eight, because grep quits at the first line and Biome's
# second write (a blank line) then dies of SIGPIPE (exit 141); CI failed on it.
kstack_tools_ready() {
  local node_version biome_version
  node_version="$("$KSTACK_TOOLS_DIR/node_modules/.bin/node" --version 2>/dev/null)" || return 1
  biome_version="$("$KSTACK_TOOLS_DIR/node_modules/.bin/biome" --version 2>/dev/null)" || return 1
  [[ "$node_version" == "v$KSTACK_NODE_MAJOR."* && "$biome_version" == *"$KSTACK_BIOME_VERSION"* ]]
}
# Several shells may source this at once (parallel work on one machine): the install runs under a
# lock and checks again inside it, and it installs into a staging folder that replaces
# node_modules only once complete, so no running shell ever finds the tools half installed.
if ! kstack_tools_ready; then
  mkdir -p "$KSTACK_TOOLS_DIR"
  (
    flock 9
    if ! kstack_tools_ready; then
      staging=$(mktemp -d "$KSTACK_TOOLS_DIR/staging.XXXXXX")
      (cd "$staging" && echo '{"private":true}' > package.json \
        && npm install --no-fund --no-audit --no-save "node@$KSTACK_NODE_MAJOR" "@biomejs/biome@$KSTACK_BIOME_VERSION" >/dev/null) \
        && rm -rf "$KSTACK_TOOLS_DIR/node_modules.old" \
        && { [ ! -e "$KSTACK_TOOLS_DIR/node_modules" ] || mv "$KSTACK_TOOLS_DIR/node_modules" "$KSTACK_TOOLS_DIR/node_modules.old"; } \
        && mv "$staging/node_modules" "$KSTACK_TOOLS_DIR/node_modules"
      rm -rf "$staging" "$KSTACK_TOOLS_DIR/node_modules.old"
    fi
  ) 9>"$KSTACK_TOOLS_DIR/install.lock"
  if ! kstack_tools_ready; then
    echo "node.sh: could not install Node.js $KSTACK_NODE_MAJOR and Biome $KSTACK_BIOME_VERSION into $KSTACK_TOOLS_DIR" >&2
    return 1
  fi
fi
export PATH="$KSTACK_TOOLS_DIR/node_modules/.bin:$PATH"
