#!/bin/bash
# The official mysql image's contract, served by Debian's MariaDB:
#   MYSQL_ROOT_PASSWORD | MYSQL_ALLOW_EMPTY_PASSWORD | MYSQL_RANDOM_ROOT_PASSWORD,
#   MYSQL_DATABASE, MYSQL_USER, MYSQL_PASSWORD (each also as *_FILE),
#   MYSQL_ROOT_HOST (default %), /docker-entrypoint-initdb.d/*.{sql,sql.gz,sh};
# an empty /var/lib/mysql is initialised on first start; mariadbd runs as PID 1
# so SIGTERM shuts it down cleanly.
set -euo pipefail

DATADIR=/var/lib/mysql
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

sql_escape() { printf '%s' "$1" | sed -e "s/\\\\/\\\\\\\\/g" -e "s/'/\\\\'/g"; }

initialise() {
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
  mariadbd --user=mysql --datadir="$DATADIR" --skip-networking --socket="$socket" &
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
  local client=(mariadb --socket="$socket" -uroot "-p$MYSQL_ROOT_PASSWORD")
  [ -n "$MYSQL_DATABASE" ] && client+=("$MYSQL_DATABASE")
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) log "running $f"; . "$f" ;;
      *.sql) log "running $f"; "${client[@]}" <"$f" ;;
      *.sql.gz) log "running $f"; gunzip -c "$f" | "${client[@]}" ;;
      *) ;;
    esac
  done
  kill -TERM "$pid"; wait "$pid" || fail "temporary server did not shut down cleanly"
  log "initialisation complete; ready for start up"
}

if [ "${1:0:1}" = - ]; then set -- mariadbd "$@"; fi
if [ "$1" = mariadbd ] || [ "$1" = mysqld ]; then
  shift; set -- mariadbd "$@"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
  # A freshly provisioned volume belongs to root; mariadbd runs as mysql.
  chown mysql:mysql "$DATADIR"
  if [ ! -d "$DATADIR/mysql" ]; then initialise; fi
  log "starting $(mariadbd --version)"
  exec "$@" --user=mysql --datadir="$DATADIR"
fi
exec "$@"
