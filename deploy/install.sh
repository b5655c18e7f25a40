#!/usr/bin/env bash
# witness-drop: install or update on Debian 12, behind a Tor onion service.
#
#   sudo deploy/install.sh [PATH-TO-witness-drop-BINARY]
#
# Run it as root from a checkout of witness-drop, after building the server
# (`cargo build --release --bin witness-drop`, which makes target/release/witness-drop) and after
# putting the reviewers' public keys (`age1…` lines from `witness-review keygen` on the offline
# machine) into keys/recipients.txt. deploy/README.md is the whole guide.
#
# What it does, in order (each step is safe to repeat; running the script again updates):
#   1. checks: root, Debian, the binary, and that keys/recipients.txt holds a reviewer key and
#      no secret key: it refuses to go on otherwise;
#   2. installs tor from Debian's own archive (apt-get; nothing else is downloaded);
#   3. creates the system user witness-drop (no login shell, no home);
#   4. installs the binary (/usr/local/bin), the systemd unit, this guide, the config and the
#      recipients file (/etc/witness-drop, root:witness-drop 0750; an existing config or
#      recipients file is never overwritten);
#   5. installs the onion service (/etc/tor/torrc.d/witness-drop.conf), has tor check its
#      configuration, restarts tor, waits for the onion address and writes it into the config;
#   6. runs `witness-drop check` as the service user, then enables and (re)starts the service;
#   7. prints the onion address.
set -euo pipefail
umask 077

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEPLOY=$REPO/deploy
BIN_SRC=${1:-$REPO/target/release/witness-drop}
RECIPIENTS_SRC=$REPO/keys/recipients.txt

SERVICE_USER=witness-drop
ETC_DIR=/etc/witness-drop
CONFIG=$ETC_DIR/witness-drop.toml
RECIPIENTS=$ETC_DIR/recipients.txt
DATA_DIR=/var/lib/witness-drop
BIN=/usr/local/bin/witness-drop
UNIT=/etc/systemd/system/witness-drop.service
DOC_DIR=/usr/local/share/doc/witness-drop
TORRC=/etc/tor/torrc
TORRC_D=/etc/tor/torrc.d
TOR_SNIPPET=$TORRC_D/witness-drop.conf
TOR_DEFAULTS=/usr/share/tor/tor-service-defaults-torrc
TOR_INCLUDE='%include /etc/tor/torrc.d/*.conf'
HS_DIR=/var/lib/tor/witness-drop
HOSTNAME_FILE=$HS_DIR/hostname

say() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() {
    printf 'install.sh: %s\n' "$*" >&2
    exit 1
}

# Installs SRC as DEST with MODE and OWNER:GROUP. Returns 0 when DEST changed, 1 when it was
# already identical (ownership and mode are fixed either way).
install_file() {
    local src=$1 dest=$2 mode=$3 owner=$4
    if [ -f "$dest" ] && cmp -s "$src" "$dest"; then
        chown "$owner" "$dest"
        chmod "$mode" "$dest"
        return 1
    fi
    install -m "$mode" -o "${owner%%:*}" -g "${owner##*:}" "$src" "$dest"
    return 0
}

# True when FILE holds at least one `age1…` recipient line.
has_reviewer_key() {
    grep -Eq '^[[:space:]]*age1[02-9ac-hj-np-z]+[[:space:]]*$' "$1"
}

# Runs witness-drop as the service user, from / (root's folder is not readable to it).
as_service_user() {
    (cd / && runuser -u "$SERVICE_USER" -- "$BIN" "$@")
}

# ---------------------------------------------------------------------------------------------
say "checking the machine and the checkout"

[ "$(id -u)" -eq 0 ] || die "run me as root: sudo $0 $*"

if [ -r /etc/os-release ]; then
    # shellcheck disable=SC1091
    os_id=$(. /etc/os-release && printf '%s' "${ID:-}")
    # shellcheck disable=SC1091
    os_version=$(. /etc/os-release && printf '%s' "${VERSION_ID:-}")
else
    os_id='' os_version=''
fi
[ "$os_id" = debian ] || die "this script is for Debian 12 (found '${os_id:-unknown}')"
if [ "$os_version" != 12 ]; then
    note "warning: written and tested for Debian 12; this is Debian ${os_version:-(unknown version)}"
fi
command -v systemctl >/dev/null 2>&1 || die "systemd is required (systemctl not found)"

for f in "$DEPLOY/torrc" "$DEPLOY/witness-drop.service" "$DEPLOY/witness-drop.toml" "$DEPLOY/README.md"; do
    [ -f "$f" ] || die "missing $f: run me from a complete witness-drop checkout"
done

if ! [ -f "$BIN_SRC" ] || ! [ -x "$BIN_SRC" ]; then
    die "no server binary at $BIN_SRC: build it with \`cargo build --release --bin witness-drop\`, or give its path as the first argument"
fi
bin_version=$("$BIN_SRC" --version) || die "$BIN_SRC does not run on this machine"
note "binary: $BIN_SRC ($bin_version)"

# The recipients file that will guard testimony: the live one if it exists, else the checkout's.
if [ -f "$RECIPIENTS" ]; then
    recipients_in_use=$RECIPIENTS
else
    recipients_in_use=$RECIPIENTS_SRC
fi
[ -f "$recipients_in_use" ] || die "missing $recipients_in_use"
if grep -q 'AGE-SECRET-KEY-' "$recipients_in_use"; then
    die "$recipients_in_use contains a SECRET key (AGE-SECRET-KEY-…). Secret keys never belong on the server: remove it, treat that key as compromised, make a new one on the offline machine, and put only its age1… line here."
fi
if grep -q 'witness-drop-demo' "$recipients_in_use"; then
    die "$recipients_in_use is the demo's throw-away key file: put real reviewer keys there (keys/README.md)"
fi
has_reviewer_key "$recipients_in_use" ||
    die "no reviewer key in $recipients_in_use: each reviewer runs \`witness-review keygen\` on the offline machine; put the age1… lines it prints into that file (keys/README.md), then run me again"
note "reviewer keys: $(grep -Ec '^[[:space:]]*age1' "$recipients_in_use") in $recipients_in_use"

# ---------------------------------------------------------------------------------------------
say "installing tor from Debian"
if dpkg-query -W -f='${Status}' tor 2>/dev/null | grep -q 'install ok installed'; then
    note "tor is already installed ($(dpkg-query -W -f='${Version}' tor))"
else
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y tor
fi
command -v tor >/dev/null 2>&1 || die "tor is not installed"

# ---------------------------------------------------------------------------------------------
say "creating the system user $SERVICE_USER"
if getent passwd "$SERVICE_USER" >/dev/null; then
    note "exists"
else
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin --comment "witness-drop secure drop" "$SERVICE_USER"
    note "created"
fi

# ---------------------------------------------------------------------------------------------
say "installing the binary, the unit and the guide"
changed=0
# The config folder: readable by the service, writable by root only.
install -d -m 0750 -o root -g "$SERVICE_USER" "$ETC_DIR"
# The data folder (systemd's StateDirectory= keeps it so; `check` needs it before the first
# start).
install -d -m 0700 -o "$SERVICE_USER" -g "$SERVICE_USER" "$DATA_DIR"
install -d -m 0755 -o root -g root "$DOC_DIR"

if install_file "$BIN_SRC" "$BIN" 0755 root:root; then
    changed=1
    note "installed $BIN"
fi
if install_file "$DEPLOY/witness-drop.service" "$UNIT" 0644 root:root; then
    changed=1
    note "installed $UNIT"
fi
install_file "$DEPLOY/README.md" "$DOC_DIR/README.md" 0644 root:root || true
systemctl daemon-reload

# ---------------------------------------------------------------------------------------------
say "installing the configuration"
if [ -f "$CONFIG" ]; then
    note "keeping the existing $CONFIG (compare it with $DEPLOY/witness-drop.toml after an update)"
    chown root:"$SERVICE_USER" "$CONFIG"
    chmod 0640 "$CONFIG"
else
    install -m 0640 -o root -g "$SERVICE_USER" "$DEPLOY/witness-drop.toml" "$CONFIG"
    changed=1
    note "installed $CONFIG"
fi
if [ -f "$RECIPIENTS" ]; then
    if ! cmp -s "$RECIPIENTS" "$RECIPIENTS_SRC"; then
        note "keeping the live $RECIPIENTS; it differs from $RECIPIENTS_SRC (edit the live one to add or remove reviewers: the server re-reads it)"
    fi
else
    install -m 0640 -o root -g "$SERVICE_USER" "$RECIPIENTS_SRC" "$RECIPIENTS"
    note "installed $RECIPIENTS"
fi
chown root:"$SERVICE_USER" "$RECIPIENTS"
chmod 0640 "$RECIPIENTS"

# ---------------------------------------------------------------------------------------------
say "setting up the onion service"
install -d -m 0755 -o root -g root "$TORRC_D"
tor_changed=0
if install_file "$DEPLOY/torrc" "$TOR_SNIPPET" 0644 root:root; then
    tor_changed=1
    note "installed $TOR_SNIPPET"
fi
if ! grep -Fxq "$TOR_INCLUDE" "$TORRC"; then
    printf '\n# Added by witness-drop deploy/install.sh: read the snippets in %s.\n%s\n' \
        "$TORRC_D" "$TOR_INCLUDE" >>"$TORRC"
    tor_changed=1
    note "added '$TOR_INCLUDE' to $TORRC"
fi
other_lines=$(grep -Ev '^[[:space:]]*(#|$)' "$TORRC" | grep -Fxv "$TOR_INCLUDE" || true)
if [ -n "$other_lines" ]; then
    note "warning: $TORRC has settings of its own; make sure none conflicts with $TOR_SNIPPET:"
    while IFS= read -r line; do
        note "  $line"
    done <<<"$other_lines"
fi
# The same check Debian's tor service makes before every start.
tor --verify-config --defaults-torrc "$TOR_DEFAULTS" -f "$TORRC" >/dev/null ||
    die "tor rejects its configuration: run \`tor --verify-config --defaults-torrc $TOR_DEFAULTS -f $TORRC\` to see why"
systemctl enable --quiet tor.service
if [ "$tor_changed" -eq 1 ] || [ ! -f "$HOSTNAME_FILE" ]; then
    systemctl restart tor@default.service
else
    systemctl start tor@default.service
fi

note "waiting for tor to create the onion service"
for _ in $(seq 1 120); do
    [ -s "$HOSTNAME_FILE" ] && break
    sleep 1
done
[ -s "$HOSTNAME_FILE" ] ||
    die "tor did not create $HOSTNAME_FILE within 2 minutes: see \`journalctl -u tor@default\`"
onion=$(tr -d '[:space:]' <"$HOSTNAME_FILE")
[[ $onion =~ ^[a-z2-7]{56}\.onion$ ]] || die "$HOSTNAME_FILE does not hold a v3 onion address"

configured=$(sed -nE 's/^[[:space:]]*onion_address[[:space:]]*=[[:space:]]*"([^"]*)".*/\1/p' "$CONFIG" | head -n 1)
if [ -z "$configured" ]; then
    placeholder='^#[[:space:]]*onion_address[[:space:]]*=[[:space:]]*"\(filled in by install\.sh'
    if grep -Eq "$placeholder" "$CONFIG"; then
        # Replace the commented placeholder line, keeping the comments above it.
        sed -i -E "0,/$placeholder.*/s//onion_address = \"$onion\"/" "$CONFIG"
    else
        printf '\n# The onion address (from %s).\nonion_address = "%s"\n' "$HOSTNAME_FILE" "$onion" >>"$CONFIG"
    fi
    changed=1
    note "set onion_address = \"$onion\" in $CONFIG"
elif [ "$configured" != "$onion" ]; then
    note "warning: $CONFIG says onion_address = \"$configured\", but tor serves $onion"
    note "         (restored onion keys? fix one of the two, then: systemctl restart witness-drop)"
fi

# ---------------------------------------------------------------------------------------------
say "checking config, reviewer keys and storage (as $SERVICE_USER)"
as_service_user check --config "$CONFIG" ||
    die "\`witness-drop check\` failed: fix what it says above, then run me again"

# ---------------------------------------------------------------------------------------------
say "starting witness-drop"
systemctl enable --quiet witness-drop.service
if [ "$changed" -eq 1 ]; then
    systemctl restart witness-drop.service
else
    systemctl start witness-drop.service
fi
for _ in $(seq 1 30); do
    [ -S "$DATA_DIR/admin/admin.sock" ] && break
    sleep 1
done
systemctl is-active --quiet witness-drop.service ||
    die "witness-drop did not start: see \`journalctl -u witness-drop\`"

cat <<EOF

witness-drop is running behind Tor. The onion address is:

    http://$onion/

(also in $HOSTNAME_FILE). Open it in Tor Browser to test, then publish it.

Next steps (deploy/README.md, installed as $DOC_DIR/README.md):
  - back up $HS_DIR (the onion service's keys) and $DATA_DIR/instance.secret, encrypted;
  - export new submissions to a USB stick, as the service user:
      sudo -u $SERVICE_USER witness-drop export --config $CONFIG --out /media/usb/export-1
  - keep swap encrypted or off and core dumps off: \`witness-drop check\` warns otherwise.
EOF
