# Sourced, not run: puts Node.js 24 (from the npm registry's `node` package) and the
# Biome linter first on PATH. The machine's own Node is 20, which cannot run our
# TypeScript directly. Biome lives here rather than in devDependencies because the
# registry we install from carries only its Linux glibc binaries, and `npm ci` refuses
# a lock file whose optional platform packages cannot be resolved.
# The tools folder lives in ~/.cache so later runs reuse it.
KSTACK_TOOLS_DIR="${KSTACK_TOOLS_DIR:-$HOME/.cache/kstack-tools}"
KSTACK_NODE_MAJOR=24
KSTACK_BIOME_VERSION=2.6.8
if ! "$KSTACK_TOOLS_DIR/node_modules/.bin/node" --version 2>/dev/null | grep -q "^v$KSTACK_NODE_MAJOR\." \
  || ! "$KSTACK_TOOLS_DIR/node_modules/.bin/biome" --version 2>/dev/null | grep -q "$KSTACK_BIOME_VERSION"; then
  mkdir -p "$KSTACK_TOOLS_DIR"
  (cd "$KSTACK_TOOLS_DIR" && { [ -f package.json ] || echo '{"private":true}' > package.json; } \
    && npm install --no-fund --no-audit --no-save "node@$KSTACK_NODE_MAJOR" "@biomejs/biome@$KSTACK_BIOME_VERSION" >/dev/null)
fi
export PATH="$KSTACK_TOOLS_DIR/node_modules/.bin:$PATH"
