#!/bin/bash
# The official mariadb image's contract, served by Debian's MariaDB:
#   MARIADB_ROOT_PASSWORD | MARIADB_ALLOW_EMPTY_ROOT_PASSWORD | MARIADB_RANDOM_ROOT_PASSWORD,
#   MARIADB_DATABASE, MARIADB_USER, MARIADB_PASSWORD, MARIADB_ROOT_HOST (default %),
#   each also as *_FILE and under its MYSQL_* alias (MYSQL_ROOT_PASSWORD, ...);
#   /docker-entrypoint-initdb.d/*.{sql,sql.gz,sh}.
# Arguments that begin with '-' go to mariadbd; the data directory is the
# server's effective setting for them (`mariadbd --verbose --help`), never a
# value appended after the user's. An empty data directory is initialised on
# first start; passwords reach the client through a defaults file on a pipe,
# never argv; mariadbd runs as PID 1 so SIGTERM shuts it down cleanly.
set -euo pipefail
log() { printf '%s [Entrypoint]: %s\n' "$(date -u +'%Y-%m-%d %H:%M:%S+00:00')" "$*"; }
fail() { log "ERROR: $*" >&2; exit 1; }

# VAR or VAR_FILE, never both.
file_env() {
  local var="$1" file_var="${1}_FILE" def="${2:-}"
  if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then fail "both $var and $file_var are set (but are exclusive)"; fi
  local val="$def"
  if [ -n "${!var:-}" ]; then val="${!var}"; elif [ -n "${!file_var:-}" ]; then val="$(<"${!file_var}")"; fi
  export "$var"="$val"; unset "$file_var"
}

# The official mariadb image reads MARIADB_X first and MYSQL_X as its alias.
mariadb_alias() { # mariadb_alias X: exports MYSQL_X from MARIADB_X (or MARIADB_X_FILE) when set
  local name="$1"
  if [ -n "${!name:-}" ] || [ -n "$(eval echo "\${${name}_FILE:-}")" ]; then return 0; fi
  local m="MARIADB_${name#MYSQL_}"
  if [ -n "${!m:-}" ]; then export "$name"="${!m}"; fi
  local mf="${m}_FILE"
  if [ -n "${!mf:-}" ]; then export "${name}_FILE"="${!mf}"; fi
}
for v in MYSQL_ROOT_PASSWORD MYSQL_DATABASE MYSQL_USER MYSQL_PASSWORD MYSQL_ROOT_HOST MYSQL_RANDOM_ROOT_PASSWORD; do mariadb_alias "$v"; done
if [ -z "${MYSQL_ALLOW_EMPTY_PASSWORD:-}" ] && [ -n "${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:-}" ]; then export MYSQL_ALLOW_EMPTY_PASSWORD="$MARIADB_ALLOW_EMPTY_ROOT_PASSWORD"; fi

# The value mariadbd would use for CONF with the container's own arguments.
server_config() {
  local conf="$1"; shift
  "$@" --verbose --help 2>/dev/null | awk -v conf="$conf" '$1 == conf && /^[^ \t]/ { sub(/^[^ \t]+[ \t]+/, ""); print; exit }'
}

# The [client] lines for the client, written to a pipe (never argv).
passfile() { printf '[client]\npassword="%s"\n' "$(sql_escape "$MYSQL_ROOT_PASSWORD" | sed 's/"/\\"/g')"; }

sql_escape() { printf '%s' "$1" | sed -e "s/\\\\/\\\\\\\\/g" -e "s/'/\\\\'/g"; }

initialise() { # initialise SERVER [ARGS...]
  file_env MYSQL_ROOT_PASSWORD; file_env MYSQL_DATABASE; file_env MYSQL_USER; file_env MYSQL_PASSWORD
  file_env MYSQL_ROOT_HOST '%'
  if [ -z "$MYSQL_ROOT_PASSWORD" ] && [ -z "${MYSQL_ALLOW_EMPTY_PASSWORD:-}" ] && [ -z "${MYSQL_RANDOM_ROOT_PASSWORD:-}" ]; then
    fail "database is uninitialized and password option is not specified; set one of MYSQL_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD and MYSQL_RANDOM_ROOT_PASSWORD"
  fi
  if [ "$MYSQL_USER" = root ]; then fail "MYSQL_USER=root is not allowed; use MYSQL_ROOT_PASSWORD for root"; fi
  if [ -n "${MYSQL_RANDOM_ROOT_PASSWORD:-}" ]; then
    MYSQL_ROOT_PASSWORD="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
    log "GENERATED ROOT PASSWORD: $MYSQL_ROOT_PASSWORD"
  fi

  log "initialising database files in $DATADIR"
  mariadb-install-db --user=mysql --datadir="$DATADIR" --skip-test-db --auth-root-authentication-method=normal \
    --skip-name-resolve --rpm >/dev/null
  local socket=/run/mysqld/init.sock
  "$@" --user=mysql --skip-networking --socket="$socket" &
  local pid=$!
  for _ in $(seq 1 300); do
    mariadb-admin --socket="$socket" -uroot ping >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || fail "temporary server for initialisation exited"
    sleep 0.1
  done
  local root_pw user_pw
  root_pw="$(sql_escape "$MYSQL_ROOT_PASSWORD")"
  {
    echo "SET @@SESSION.SQL_LOG_BIN=0;"
    echo "DELETE FROM mysql.global_priv WHERE User='' OR (User='root' AND Host NOT IN ('localhost'));"
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '$root_pw';"
    if [ "$MYSQL_ROOT_HOST" != localhost ]; then
      echo "CREATE USER 'root'@'$MYSQL_ROOT_HOST' IDENTIFIED BY '$root_pw';"
      echo "GRANT ALL ON *.* TO 'root'@'$MYSQL_ROOT_HOST' WITH GRANT OPTION;"
    fi
    if [ -n "$MYSQL_DATABASE" ]; then echo "CREATE DATABASE IF NOT EXISTS \`$MYSQL_DATABASE\`;"; fi
    if [ -n "$MYSQL_USER" ] && [ -n "$MYSQL_PASSWORD" ]; then
      user_pw="$(sql_escape "$MYSQL_PASSWORD")"
      echo "CREATE USER '$MYSQL_USER'@'%' IDENTIFIED BY '$user_pw';"
      if [ -n "$MYSQL_DATABASE" ]; then echo "GRANT ALL ON \`$MYSQL_DATABASE\`.* TO '$MYSQL_USER'@'%';"; fi
    fi
    echo "FLUSH PRIVILEGES;"
  } | mariadb --socket="$socket" -uroot
  # A function, not an array: each call gets its own pipe with the password.
  client() { mariadb --defaults-extra-file=<(passfile) --socket="$socket" -uroot ${MYSQL_DATABASE:+"$MYSQL_DATABASE"}; }
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) log "running $f"; . "$f" ;;
      *.sql) log "running $f"; client <"$f" ;;
      *.sql.gz) log "running $f"; gunzip -c "$f" | client ;;
      *) ;;
    esac
  done
  kill -TERM "$pid"; wait "$pid" || fail "temporary server did not shut down cleanly"
  log "initialisation complete; ready for start up"
}

if [ "${1:0:1}" = - ]; then set -- mariadbd "$@"; fi
if [ "$1" = mariadbd ] || [ "$1" = mysqld ]; then
  shift; set -- mariadbd "$@"
  DATADIR="$(server_config datadir "$@")"
  [ -n "$DATADIR" ] || fail "mariadbd $* --verbose --help names no datadir: the arguments are not valid"
  DATADIR="${DATADIR%/}"
  mkdir -p /run/mysqld "$DATADIR" && chown mysql:mysql /run/mysqld
  # A freshly provisioned volume belongs to root; mariadbd runs as mysql.
  chown mysql:mysql "$DATADIR"
  if [ ! -d "$DATADIR/mysql" ]; then initialise "$@"; fi
  log "starting $(mariadbd --version) with datadir $DATADIR"
  exec "$@" --user=mysql
fi
exec "$@"
