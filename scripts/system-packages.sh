#!/usr/bin/env bash
# The Debian packages pingce's tests and optional features use: one list for `.ci/run` and
# `make test`. As root with apt-get it installs the missing ones (a quick `dpkg -s` check first,
# so a provisioned machine pays nothing); otherwise it says which are missing and what each
# enables, and exits 0: the tests that need a missing package skip, naming it.
#
#   scripts/system-packages.sh           install when possible, else report
#   scripts/system-packages.sh --check   only report (also: PINGCE_NO_APT=1)
#   scripts/system-packages.sh --list    print the package names, one per line
set -uo pipefail

# package|what it enables (keep in step with README.md "System requirements")
PACKAGES=(
  "postgresql|PostgreSQL store tests (the tests start a throwaway server on 127.0.0.1)"
  "chromium|the dashboard's browser tests (Playwright drives Debian's Chromium)"
  "bubblewrap|the sandbox for model-written code (bwrap) and its attack tests"
  "fonts-noto-cjk|Chinese text in rendered charts and dashboard screenshots"
  "manpages-zh|real Chinese text (translated man pages) for the data filters' tests"
  "libgl1|OpenCV builds that link libGL (the venv's headless OpenCV does not)"
  "libglib2.0-0|OpenCV's GLib dependency"
  "klettres-data|bona fide recordings of the deepfake-voice test set"
  "espeak-ng|voice test set: espeak-ng TTS spoofs (A01)"
  "flite|voice test set: flite TTS spoofs (A02, A03)"
  "festival|voice test set: festival HTS spoofs (A04)"
  "festvox-us-slt-hts|voice test set: festival's HTS voice"
  "festvox-kallpc16k|voice test set: festival's default voice"
  "sox|voice codec conditions gsm and amr-nb"
  "libsox-fmt-all|sox's GSM and AMR formats"
  "ffmpeg|voice codec conditions alaw, ulaw, g722, opus, mp3, aac"
)

mode=install
case "${1:-}" in
  --check) mode=check ;;
  --list) mode=list ;;
  "") ;;
  *) echo "usage: $0 [--check|--list]" >&2; exit 2 ;;
esac
[ "${PINGCE_NO_APT:-}" = 1 ] && [ "$mode" = install ] && mode=check

if [ "$mode" = list ]; then
  for entry in "${PACKAGES[@]}"; do echo "${entry%%|*}"; done
  exit 0
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for entry in "${PACKAGES[@]}"; do
    installed "${entry%%|*}" || missing+=("$entry")
  done
else
  echo "system-packages: no dpkg here (not Debian); the tests that need a missing tool skip, naming its Debian package"
  exit 0
fi
[ ${#missing[@]} -eq 0 ] && exit 0

names=()
for entry in "${missing[@]}"; do names+=("${entry%%|*}"); done

if [ "$mode" = install ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "system-packages: installing ${names[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if { apt-get install -y -qq --no-install-recommends "${names[@]}" >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 &&
        apt-get install -y -qq --no-install-recommends "${names[@]}" >/dev/null; }; }; then
    exit 0
  fi
  # one unavailable package fails the whole transaction: install the others one by one
  for name in "${names[@]}"; do
    installed "$name" || apt-get install -y -qq --no-install-recommends "$name" >/dev/null 2>&1 || true
  done
  echo "system-packages: apt-get could not install them all; the tests that need them skip" >&2
  missing_now=()
  for entry in "${missing[@]}"; do installed "${entry%%|*}" || missing_now+=("$entry"); done
  missing=("${missing_now[@]}")
  [ ${#missing[@]} -eq 0 ] && exit 0
fi

echo "system-packages: missing Debian packages (the tests that need them are skipped):"
names=()
for entry in "${missing[@]}"; do
  printf '  %-20s %s\n' "${entry%%|*}" "${entry#*|}"
  names+=("${entry%%|*}")
done
echo "  install them with: sudo apt-get install --no-install-recommends ${names[*]}"
exit 0
