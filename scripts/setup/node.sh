# Sourced, not run: puts Node.js 24 (from the npm registry's `node` package) first on PATH.
# The machine's own Node is 20, which cannot run our TypeScript directly.
# The tools folder lives in ~/.cache so later runs reuse it.
KSTACK_TOOLS_DIR="${KSTACK_TOOLS_DIR:-$HOME/.cache/kstack-tools}"
if ! "$KSTACK_TOOLS_DIR/node_modules/.bin/node" --version 2>/dev/null | grep -q '^v24\.'; then
  mkdir -p "$KSTACK_TOOLS_DIR"
  (cd "$KSTACK_TOOLS_DIR" && { [ -f package.json ] || echo '{"private":true}' > package.json; } \
    && npm install --no-fund --no-audit --no-save node@24 >/dev/null)
fi
export PATH="$KSTACK_TOOLS_DIR/node_modules/.bin:$PATH"
