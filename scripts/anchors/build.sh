#!/bin/sh
# Builds scripts/anchors/ciokeep (containerd's cio into a keeping sink) for `npm run bench`, in
# GOPATH mode against Debian's packaged containerd, as ../shared/anchors/build.sh builds ciobench.
# Installs Go and the packaged sources first when they are missing (root, Debian). On failure it
# says so and exits 0: the bench then leaves the line out and says why.
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin="$here/ciokeep"
[ -x "$bin" ] && [ "$bin" -nt "$here/ciokeep.go" ] && exit 0
if ! command -v go >/dev/null 2>&1 || [ ! -d /usr/share/gocode/src/github.com/containerd/containerd/cio ]; then
  echo "anchors: installing golang-go and containerd's Go sources for ciokeep" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go golang-github-containerd-containerd-dev golang-github-containerd-fifo-dev >/dev/null 2>&1 ||
    { echo "anchors: could not install Go; the bench runs without ciokeep" >&2; exit 0; }
fi
gp=$(mktemp -d); trap 'rm -rf "$gp"' EXIT
mkdir -p "$gp/src/ciokeep" && cp "$here/ciokeep.go" "$gp/src/ciokeep/main.go"
(cd "$gp/src/ciokeep" && GO111MODULE=off GOPATH="/usr/share/gocode:$gp" GOFLAGS= GOPROXY=off CGO_ENABLED=0 \
  GOCACHE="$gp/cache" go build -trimpath -ldflags='-s -w' -o "$bin" .) ||
  { echo "anchors: building ciokeep failed; the bench runs without it" >&2; exit 0; }
