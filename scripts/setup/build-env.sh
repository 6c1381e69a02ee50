# Sourced, not run, by every setup step that builds or installs something: what gets built must not
# depend on who runs the step or how (issue 11). The user's package-manager configuration may still
# say where to download from (registry, proxy, certificates); it may not change what is built.
#
# - npm: `npm run setup` (the README's `make test` path) exports the user's whole npm configuration
#   to the scripts as npm_config_* variables, and node-gyp takes those over its own command-line
#   flags: a user config `nodedir=/usr` built @confluentinc/kafka-javascript against the machine's
#   Node 20 headers instead of Node 24's. Every inherited npm_config_* is dropped here, so a step
#   behaves the same run by npm or by hand; npm commands inside the steps still read the user's
#   config files for where to download from.
# - Go: the target and build flags are set explicitly, so `go env -w` settings (GOFLAGS, GOOS,
#   GOARCH, CGO_ENABLED, GOAMD64) cannot change the binary; GOTOOLCHAIN=local keeps the installed
#   Go instead of fetching another one.
# - pip: settings that choose between wheels and sources, or where packages land, are dropped
#   (PIP_NO_BINARY, PIP_ONLY_BINARY, PIP_PREFER_BINARY, PIP_NO_BUILD_ISOLATION, PIP_USER, PIP_TARGET,
#   PIP_PREFIX, PIP_CONSTRAINT, PIP_REQUIREMENT); the pinned requirements say what is installed.
while IFS= read -r name; do
  unset "$name"
done < <(env | sed -n 's/^\([Nn][Pp][Mm]_[Cc][Oo][Nn][Ff][Ii][Gg]_[^=]*\)=.*/\1/p')
for name in PIP_NO_BINARY PIP_ONLY_BINARY PIP_PREFER_BINARY PIP_NO_BUILD_ISOLATION PIP_USER PIP_TARGET \
  PIP_PREFIX PIP_CONSTRAINT PIP_REQUIREMENT; do
  unset "$name"
done
if command -v go >/dev/null; then
  GOOS="$(go env GOHOSTOS)"
  GOARCH="$(go env GOHOSTARCH)"
  export GOOS GOARCH GOFLAGS=-mod=readonly CGO_ENABLED=0 GOTOOLCHAIN=local
  if [ "$GOARCH" = amd64 ]; then export GOAMD64=v1; else unset GOAMD64; fi
fi
