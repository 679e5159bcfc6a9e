# Shared by scripts/setup and scripts/test: make a machine ready for keeper.
# Idempotent: every step checks before it acts.

# Builds go to one shared target dir outside the clone, so repeated runs on
# the same machine reuse them; nothing depends on it being warm.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/keeper-target}"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "need root for: $*" >&2; return 1; fi
}

apt_updated=""
apt_install() {
    local missing=()
    for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || { echo "please install: ${missing[*]}" >&2; return 1; }
    if [ -z "$apt_updated" ]; then say "apt-get update"; as_root apt-get update -qq; apt_updated=1; fi
    say "installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_rust() {
    command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup first" >&2; return 1; }
    if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
        say "rustup target add wasm32-wasip2"
        rustup target add wasm32-wasip2
    fi
}

# MariaDB on 127.0.0.1:3306, root without password, database `test`.
ensure_mariadb() {
    if ! command -v mariadbd >/dev/null && ! [ -x /usr/sbin/mariadbd ]; then
        apt_install mariadb-server mariadb-client
    fi
    if ! mariadb -uroot -h127.0.0.1 -P3306 -e 'select 1' >/dev/null 2>&1; then
        say "starting MariaDB"
        as_root mkdir -p /run/mysqld && as_root chown mysql:mysql /run/mysqld 2>/dev/null || true
        as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql >/dev/null 2>&1 || true
        for _ in $(seq 1 60); do
            mariadb -uroot -h127.0.0.1 -P3306 -e 'select 1' >/dev/null 2>&1 && break
            # A fresh server may only allow root over the socket.
            if mariadb -uroot -e 'select 1' >/dev/null 2>&1; then
                as_root mariadb -uroot -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD(''); CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; FLUSH PRIVILEGES;" >/dev/null 2>&1 || true
            fi
            sleep 1
        done
    fi
    mariadb -uroot -h127.0.0.1 -P3306 -e 'CREATE DATABASE IF NOT EXISTS test' >/dev/null 2>&1 || {
        echo "MariaDB is not reachable on 127.0.0.1:3306 as root" >&2; return 1; }
}

# OpenSSH server binary (the tests start their own sshd on a loopback port)
# and sudo (the ssh plugin's chpasswd method is tested through sudo rules).
ensure_sshd() {
    [ -x /usr/sbin/sshd ] || apt_install openssh-server
    command -v sudo >/dev/null || apt_install sudo
}

# PostgreSQL: the server binaries (the tests start private clusters with
# initdb, as the `postgres` user, through setpriv) and the shared server on
# 127.0.0.1:5432 trusting local logins, with database `test`.
ensure_postgresql() {
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        apt_install postgresql postgresql-client
    fi
    command -v setpriv >/dev/null || apt_install util-linux
    command -v unix_chkpwd >/dev/null || [ -x /usr/sbin/unix_chkpwd ] || apt_install libpam-modules-bin
    if ! psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
        say "starting PostgreSQL on 127.0.0.1:5432"
        local ver bin data=/var/lib/postgresql/keeper-shared
        ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
        bin=/usr/lib/postgresql/$ver/bin
        # Debian's own cluster (if the package started one) holds the port
        # without trusting local logins: stop it.
        command -v pg_ctlcluster >/dev/null && as_root pg_ctlcluster "$ver" main stop >/dev/null 2>&1 || true
        as_root install -d -o postgres -g postgres "$data" /run/postgresql
        if [ ! -s "$data/PG_VERSION" ]; then
            as_root setpriv --reuid=postgres --regid=postgres --clear-groups -- \
                "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C >/dev/null
        fi
        # TLS offered (as Debian's own cluster does) for the store's
        # sslmode tests: a self-signed certificate made here.
        if [ ! -s "$data/server.crt" ]; then
            command -v openssl >/dev/null || apt_install openssl
            as_root openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=localhost \
                -keyout "$data/server.key" -out "$data/server.crt" >/dev/null 2>&1
            as_root chown postgres:postgres "$data/server.key" "$data/server.crt"
            as_root chmod 600 "$data/server.key"
        fi
        as_root setpriv --reuid=postgres --regid=postgres --clear-groups -- \
            "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
            -o "-c listen_addresses=127.0.0.1 -p 5432 -k /run/postgresql -c ssl=on" start >/dev/null
    fi
    psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1 || {
        echo "PostgreSQL is not reachable on 127.0.0.1:5432 as postgres" >&2; return 1; }
    psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -Atc "select 1 from pg_database where datname='test'" | grep -q 1 ||
        psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -qc 'CREATE DATABASE test' >/dev/null
}

# OpenLDAP: the server binary and its client tools (the ldap plugin's tests
# start their own slapd on a loopback port with a temp config, and check
# the directory with ldapwhoami/ldapsearch). Debian's package would start
# its own server; tests never use it.
ensure_slapd() {
    [ -x /usr/sbin/slapd ] && command -v ldapwhoami >/dev/null && return 0
    apt_install slapd ldap-utils
}

# A Secret Service for the keyring test of `profile setup --type keyring`
# (tests/it/profile_setup.rs runs gnome-keyring on a private D-Bus session).
ensure_secret_service() {
    command -v gnome-keyring-daemon >/dev/null && command -v dbus-run-session >/dev/null &&
        command -v dbus-send >/dev/null && return 0
    apt_install gnome-keyring dbus dbus-bin
}

# moto's server (PyPI `moto[server]`): a local AWS API stand-in for the
# awspswd plugin's tests, which start their own on a loopback port.
ensure_moto() {
    python3 -c 'import moto.server' 2>/dev/null && return 0
    if ! command -v pip3 >/dev/null && ! python3 -m pip --version >/dev/null 2>&1; then
        apt_install python3-pip
    fi
    say "installing moto[server] from PyPI"
    python3 -m pip install --quiet 'moto[server]' 2>/dev/null ||
        python3 -m pip install --quiet --break-system-packages 'moto[server]'
}
