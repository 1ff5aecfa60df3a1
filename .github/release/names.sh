#!/usr/bin/env bash
# The one source of truth for roster's release targets and file names. The release
# workflow (.github/workflows/release.yml) builds its matrix and names its archives with
# this script; the Action (action.yml) picks and names the archive to download with it;
# `cargo xtask` tests that the two agree (xtask/src/release.rs).
#
# usage:
#   names.sh matrix                          the build matrix, as one line of JSON
#   names.sh targets                         the target triples, one a line
#   names.sh target RUNNER_OS RUNNER_ARCH    the target to download on that runner
#   names.sh archive VERSION TARGET          the archive's file name
#   names.sh binary TARGET                   the executable's name inside the archive
#   names.sh sums VERSION                    the SHA-256 sums file's name
#
# VERSION is without the tag's `v` (0.1.0). Exit 1 with a message on stderr for a runner
# or target roster has no build for, and 2 for a usage error.
set -euo pipefail

# target                      runner_os  runner_arch  build_on          format
TABLE='
x86_64-unknown-linux-musl     Linux      X64          ubuntu-24.04      tar.gz
aarch64-unknown-linux-musl    Linux      ARM64        ubuntu-24.04-arm  tar.gz
x86_64-apple-darwin           macOS      X64          macos-15          tar.gz
aarch64-apple-darwin          macOS      ARM64        macos-15          tar.gz
x86_64-pc-windows-msvc        Windows    X64          windows-2022      zip
'

rows() { printf '%s\n' "$TABLE" | sed '/^[[:space:]]*$/d'; }

usage() {
  sed -n '7,13p' "$0" >&2
  exit 2
}

# The row of TARGET, or exit 1.
row_of() {
  local target runner_os runner_arch build_on format
  while read -r target runner_os runner_arch build_on format; do
    if [ "$target" = "$1" ]; then
      echo "$target $runner_os $runner_arch $build_on $format"
      return 0
    fi
  done < <(rows)
  echo "names.sh: roster is not built for target '$1'" >&2
  exit 1
}

version_ok() {
  if ! [[ "$1" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
    echo "names.sh: '$1' is not a version like 1.2.3 (without the tag's v)" >&2
    exit 1
  fi
}

command="${1:-}"
[ -n "$command" ] || usage
shift
case "$command" in
  matrix)
    [ $# -eq 0 ] || usage
    sep=''
    printf '['
    while read -r target runner_os runner_arch build_on format; do
      printf '%s{"target":"%s","runner_os":"%s","runner_arch":"%s","build_on":"%s","format":"%s"}' \
        "$sep" "$target" "$runner_os" "$runner_arch" "$build_on" "$format"
      sep=','
    done < <(rows)
    printf ']\n'
    ;;
  targets)
    [ $# -eq 0 ] || usage
    rows | awk '{print $1}'
    ;;
  target)
    [ $# -eq 2 ] || usage
    while read -r target runner_os runner_arch _; do
      if [ "$runner_os" = "$1" ] && [ "$runner_arch" = "$2" ]; then
        echo "$target"
        exit 0
      fi
    done < <(rows)
    echo "names.sh: roster has no release build for a $1 $2 runner; supported: $(rows | awk '{printf "%s%s %s", (NR>1 ? ", " : ""), $2, $3}')" >&2
    exit 1
    ;;
  archive)
    [ $# -eq 2 ] || usage
    version_ok "$1"
    read -r target _ _ _ format < <(row_of "$2")
    echo "roster-$1-$target.$format"
    ;;
  binary)
    [ $# -eq 1 ] || usage
    read -r target _ < <(row_of "$1")
    case "$target" in
      *-windows-*) echo roster.exe ;;
      *) echo roster ;;
    esac
    ;;
  sums)
    [ $# -eq 1 ] || usage
    version_ok "$1"
    echo "roster-$1-SHA256SUMS"
    ;;
  *)
    usage
    ;;
esac
