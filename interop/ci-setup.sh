#!/usr/bin/env bash
# Installs what the interop suite (interop/) drives, on Debian as root.
# Idempotent: what is already there is left alone.
#   - postfix (preseeded "No configuration": the system instance is never
#     configured or started; the suite runs private instances), the Cyrus
#     SASL modules its SMTP client needs for AUTH PLAIN
#   - opendkim-tools (opendkim-testmsg) and python3-dkim (dkimverify)
#   - Exim: exim4-daemon-light is unpacked into interop/.tools/exim (the
#     package itself would replace postfix as the system MTA), with the
#     libraries it links and a Debian-exim system user
#   - Nodemailer from the npm registry into interop/.tools/node_modules
set -euo pipefail
cd "$(dirname "$0")"
tools="$PWD/.tools"
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" != 0 ]; then
  echo "interop/ci-setup.sh: not root, nothing installed" >&2
  exit 0
fi
if ! dpkg -s postfix >/dev/null 2>&1; then
  printf '%s\n' "postfix postfix/main_mailer_type select No configuration" \
    "postfix postfix/mailname string ci.invalid" | debconf-set-selections
fi
pkgs="postfix libsasl2-modules opendkim-tools python3-dkim util-linux ca-certificates"
command -v node >/dev/null || pkgs="$pkgs nodejs"
command -v npm >/dev/null || pkgs="$pkgs npm"
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $pkgs >/dev/null

if [ ! -x "$tools/exim/usr/sbin/exim4" ]; then
  dl=$(mktemp -d)
  ! id _apt >/dev/null 2>&1 || chown _apt "$dl" # apt downloads as _apt
  (cd "$dl" && apt-get download -qq exim4-daemon-light)
  deb=$(ls "$dl"/exim4-daemon-light_*.deb)
  # The shared libraries it links; not exim4-base/exim4-config, which
  # would make Exim the system MTA.
  libs=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -E 's/\(.*\)//; s/\|.*//; s/ //g' | grep '^lib' || true)
  # shellcheck disable=SC2086
  [ -z "$libs" ] || apt-get install -y -qq --no-install-recommends $libs >/dev/null
  rm -rf "$tools/exim"
  mkdir -p "$tools/exim"
  dpkg-deb -x "$deb" "$tools/exim"
  rm -rf "$dl"
fi
getent group Debian-exim >/dev/null || groupadd --system Debian-exim
getent passwd Debian-exim >/dev/null ||
  useradd --system --gid Debian-exim --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin Debian-exim

if [ ! -f "$tools/node_modules/nodemailer/package.json" ]; then
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --silent nodemailer@6.10.1
fi
