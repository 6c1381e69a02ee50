# The two commands of the quick start, on any machine with bash, make and npm:
#   make up    starts the embedded stack (ARGS="--data-dir DIR" to pass options)
#   make test  installs what the tests use and passes them
# Both bring Node.js 24 from the npm registry first (the machine's own Node may be older).
SHELL := /bin/bash
WITH_NODE := source scripts/setup/node.sh &&

.PHONY: up test

node_modules/.package-lock.json: package-lock.json
	$(WITH_NODE) npm ci --no-fund --no-audit

# Run through the bin's shebang, which gives the broker its V8 flags (BROKER_NODE_FLAGS in src/engine/process.ts).
# The broker's /metrics goes on 7071, the port of the Docker stack's JMX exporter agent.
up: node_modules/.package-lock.json
	$(WITH_NODE) bin/kstack.ts up --metrics-port 7071 $(ARGS)

test: node_modules/.package-lock.json
	$(WITH_NODE) npm test
