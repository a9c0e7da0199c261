#!/bin/bash
# The official mysql image's entrypoint contract (docker-library/mysql), served
# by Debian's Oracle MySQL Server package:
#   MYSQL_ROOT_PASSWORD | MYSQL_ALLOW_EMPTY_PASSWORD | MYSQL_RANDOM_ROOT_PASSWORD,
#   MYSQL_DATABASE, MYSQL_USER, MYSQL_PASSWORD, MYSQL_ROOT_HOST (default %),
#   MYSQL_ONETIME_PASSWORD, MYSQL_INITDB_SKIP_TZINFO, each also as *_FILE;
#   /docker-entrypoint-initdb.d/*.{sh,sql,sql.gz,sql.xz,sql.zst}.
# Arguments that begin with '-' go to mysqld. The data directory and socket are
# the server's effective settings for those arguments (`mysqld --verbose --help`
# with the same arguments), never a value of ours appended after the user's.
# Passwords reach the client through a defaults file on a pipe, never argv.
# mysqld ends up as the container's main process, so SIGTERM shuts it down cleanly.
set -eo pipefail
shopt -s nullglob

mysql_log() {
  local type="$1"; shift
  local text="$*"; if [ "$#" -eq 0 ]; then text="$(cat)"; fi
  printf '%s [%s] [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$type" "$text"
}
mysql_note() { mysql_log Note "$@"; }
mysql_warn() { mysql_log Warn "$@" >&2; }
mysql_error() { mysql_log ERROR "$@" >&2; exit 1; }

# file_env VAR [DEFAULT]: VAR from the environment or from the file VAR_FILE names.
file_env() {
  local var="$1" fileVar="${1}_FILE" def="${2:-}"
  if [ "${!var:-}" ] && [ "${!fileVar:-}" ]; then
    mysql_error "Both $var and $fileVar are set (but are exclusive)"
  fi
  local val="$def"
  if [ "${!var:-}" ]; then val="${!var}"
  elif [ "${!fileVar:-}" ]; then val="$(< "${!fileVar}")"; fi
  export "$var"="$val"
  unset "$fileVar"
}

# Setup is skipped for arguments that only print (help, version, defaults).
_mysql_want_help() {
  local arg
  for arg; do
    case "$arg" in -'?'|--help|--print-defaults|-V|--version) return 0 ;; esac
  done
  return 1
}

mysql_check_config() {
  local toRun=( "$@" --verbose --help --log-bin-index="$(mktemp -u)" ) errors
  if ! errors="$("${toRun[@]}" 2>&1 >/dev/null)"; then
    mysql_error $'mysqld failed while attempting to check config\n\tcommand was: '"${toRun[*]}"$'\n\t'"$errors"
  fi
}

# The value mysqld would use for CONF with the container's own arguments.
mysql_get_config() {
  local conf="$1"; shift
  "$@" --verbose --help --log-bin-index="$(mktemp -u)" 2>/dev/null \
    | awk -v conf="$conf" '$1 == conf && /^[^ \t]/ { sub(/^[^ \t]+[ \t]+/, ""); print; exit }'
}

# Clients that look for the package's default socket find the configured one.
mysql_socket_fix() {
  local defaultSocket
  defaultSocket="$(mysql_get_config 'socket' mysqld --no-defaults)"
  if [ "$defaultSocket" != "$SOCKET" ]; then
    ln -sfTv "$SOCKET" "$defaultSocket" || :
  fi
}

docker_temp_server_start() {
  "$@" --daemonize --skip-networking --default-time-zone=SYSTEM --socket="${SOCKET}" >/dev/null \
    || mysql_error "Unable to start server."
}

docker_temp_server_stop() {
  mysqladmin --defaults-extra-file=<( _mysql_passfile root ) shutdown -uroot --socket="${SOCKET}" \
    || mysql_error "Unable to shut down server."
}

docker_verify_minimum_env() {
  if [ -z "$MYSQL_ROOT_PASSWORD" ] && [ -z "$MYSQL_ALLOW_EMPTY_PASSWORD" ] && [ -z "$MYSQL_RANDOM_ROOT_PASSWORD" ]; then
    mysql_error <<-'EOF'
		Database is uninitialized and password option is not specified
		    You need to specify one of the following as an environment variable:
		    - MYSQL_ROOT_PASSWORD
		    - MYSQL_ALLOW_EMPTY_PASSWORD
		    - MYSQL_RANDOM_ROOT_PASSWORD
	EOF
  fi
  if [ "$MYSQL_USER" = root ]; then
    mysql_error <<-'EOF'
		MYSQL_USER="root", MYSQL_USER and MYSQL_PASSWORD are for configuring a regular user and cannot be used for the root user
		    Remove MYSQL_USER="root" and use one of the following to control the root user password:
		    - MYSQL_ROOT_PASSWORD
		    - MYSQL_ALLOW_EMPTY_PASSWORD
		    - MYSQL_RANDOM_ROOT_PASSWORD
	EOF
  fi
  if [ -n "$MYSQL_USER" ] && [ -z "$MYSQL_PASSWORD" ]; then
    mysql_warn 'MYSQL_USER specified, but missing MYSQL_PASSWORD; MYSQL_USER will not be created'
  elif [ -z "$MYSQL_USER" ] && [ -n "$MYSQL_PASSWORD" ]; then
    mysql_warn 'MYSQL_PASSWORD specified, but missing MYSQL_USER; MYSQL_PASSWORD will be ignored'
  fi
}

docker_create_db_directories() {
  local user; user="$(id -u)"
  local -A dirs=( ["$DATADIR"]=1 )
  local dir
  dir="$(dirname "$SOCKET")"; dirs["$dir"]=1
  for dir in "${!dirs[@]}"; do
    mkdir -p "$dir"
    if [ "$user" = 0 ]; then
      # A freshly provisioned volume belongs to root; mysqld runs as mysql.
      find "$dir" \! -user mysql -exec chown mysql: '{}' +
    fi
  done
}

docker_init_database_dir() {
  mysql_note "Initializing database files"
  "$@" --initialize-insecure --default-time-zone=SYSTEM
  mysql_note "Database files initialized"
}

docker_setup_env() {
  declare -g DATADIR SOCKET
  DATADIR="$(mysql_get_config 'datadir' "$@")"
  SOCKET="$(mysql_get_config 'socket' "$@")"
  file_env 'MYSQL_ROOT_HOST' '%'
  file_env 'MYSQL_DATABASE'
  file_env 'MYSQL_USER'
  file_env 'MYSQL_PASSWORD'
  file_env 'MYSQL_ROOT_PASSWORD'
  declare -g DATABASE_ALREADY_EXISTS
  if [ -d "$DATADIR/mysql" ]; then DATABASE_ALREADY_EXISTS='true'; fi
}

# docker_process_sql [--dont-use-mysql-root-password] [--database=DB] [mysql args]: SQL from stdin.
docker_process_sql() {
  local passfileArgs=()
  if [ '--dont-use-mysql-root-password' = "$1" ]; then
    passfileArgs+=( "$1" ); shift
  fi
  if [ -n "$MYSQL_DATABASE" ]; then set -- --database="$MYSQL_DATABASE" "$@"; fi
  mysql --defaults-extra-file=<( _mysql_passfile "${passfileArgs[@]}" ) --protocol=socket -uroot -hlocalhost --socket="${SOCKET}" --comments "$@"
}

docker_process_init_files() {
  echo
  local f
  for f; do
    case "$f" in
      *.sh)
        if [ -x "$f" ]; then mysql_note "$0: running $f"; "$f"
        else mysql_note "$0: sourcing $f"; . "$f"; fi ;;
      *.sql) mysql_note "$0: running $f"; docker_process_sql < "$f"; echo ;;
      *.sql.bz2) mysql_note "$0: running $f"; bunzip2 -c "$f" | docker_process_sql; echo ;;
      *.sql.gz) mysql_note "$0: running $f"; gunzip -c "$f" | docker_process_sql; echo ;;
      *.sql.xz) mysql_note "$0: running $f"; xzcat "$f" | docker_process_sql; echo ;;
      *.sql.zst) mysql_note "$0: running $f"; zstd -dc "$f" | docker_process_sql; echo ;;
      *) mysql_warn "$0: ignoring $f" ;;
    esac
    echo
  done
}

# SQL string literal escaping: backslashes and quotes.
docker_sql_escape_string_literal() {
  local newline=$'\n'
  local escaped=${1//\\/\\\\}
  escaped="${escaped//$newline/\\n}"
  echo "${escaped//\'/\\\'}"
}

docker_setup_db() {
  if [ -z "$MYSQL_INITDB_SKIP_TZINFO" ]; then
    # The root password is not set yet. (MySQL's mysql_tzinfo_to_sql has no
    # --skip-write-binlog; the statements run with the session's binary log.)
    mysql_tzinfo_to_sql /usr/share/zoneinfo \
      | docker_process_sql --dont-use-mysql-root-password --database=mysql
  fi
  if [ -n "$MYSQL_RANDOM_ROOT_PASSWORD" ]; then
    MYSQL_ROOT_PASSWORD="$(openssl rand -base64 24)"; export MYSQL_ROOT_PASSWORD
    mysql_note "GENERATED ROOT PASSWORD: $MYSQL_ROOT_PASSWORD"
  fi
  local rootCreate=
  if [ -n "$MYSQL_ROOT_HOST" ] && [ "$MYSQL_ROOT_HOST" != 'localhost' ]; then
    read -r -d '' rootCreate <<-EOSQL || true
		CREATE USER 'root'@'${MYSQL_ROOT_HOST}' IDENTIFIED BY '$(docker_sql_escape_string_literal "${MYSQL_ROOT_PASSWORD}")' ;
		GRANT ALL ON *.* TO 'root'@'${MYSQL_ROOT_HOST}' WITH GRANT OPTION ;
	EOSQL
  fi
  local passwordSet=
  read -r -d '' passwordSet <<-EOSQL || true
	ALTER USER 'root'@'localhost' IDENTIFIED BY '$(docker_sql_escape_string_literal "${MYSQL_ROOT_PASSWORD}")' ;
	EOSQL
  # No binary log for the set-up statements.
  docker_process_sql --dont-use-mysql-root-password --database=mysql --binary-mode <<-EOSQL
		SET autocommit = 1;
		SET @@SESSION.SQL_LOG_BIN=0;
		${passwordSet}
		GRANT ALL ON *.* TO 'root'@'localhost' WITH GRANT OPTION ;
		FLUSH PRIVILEGES ;
		${rootCreate}
		DROP DATABASE IF EXISTS test ;
	EOSQL
  if [ -n "$MYSQL_DATABASE" ]; then
    mysql_note "Creating database ${MYSQL_DATABASE}"
    docker_process_sql --database=mysql <<<"CREATE DATABASE IF NOT EXISTS \`$MYSQL_DATABASE\` ;"
  fi
  if [ -n "$MYSQL_USER" ] && [ -n "$MYSQL_PASSWORD" ]; then
    mysql_note "Creating user ${MYSQL_USER}"
    docker_process_sql --database=mysql --binary-mode <<<"CREATE USER '$MYSQL_USER'@'%' IDENTIFIED BY '$(docker_sql_escape_string_literal "$MYSQL_PASSWORD")' ;"
    if [ -n "$MYSQL_DATABASE" ]; then
      mysql_note "Giving user ${MYSQL_USER} access to schema ${MYSQL_DATABASE}"
      docker_process_sql --database=mysql <<<"GRANT ALL ON \`${MYSQL_DATABASE//_/\\_}\`.* TO '$MYSQL_USER'@'%' ;"
    fi
  fi
}

# The [client] lines for the mysql client, written to a pipe (never argv).
_mysql_passfile() {
  if [ '--dont-use-mysql-root-password' != "${1:-}" ] && [ -n "$MYSQL_ROOT_PASSWORD" ]; then
    cat <<-EOF
		[client]
		password="$(docker_sql_escape_string_literal "$MYSQL_ROOT_PASSWORD" | sed 's/"/\\"/g')"
	EOF
  fi
}

mysql_expire_root_user() {
  if [ -n "$MYSQL_ONETIME_PASSWORD" ]; then
    docker_process_sql --database=mysql <<-EOSQL
			ALTER USER 'root'@'%' PASSWORD EXPIRE;
		EOSQL
  fi
}

_main() {
  if [ "${1:0:1}" = '-' ]; then set -- mysqld "$@"; fi
  if [ "$1" = 'mysqld' ] && ! _mysql_want_help "$@"; then
    mysql_note "Entrypoint script for MySQL Server $(dpkg-query -W -f '${Version}' mysql-server-core 2>/dev/null) started."
    mysql_check_config "$@"
    docker_setup_env "$@"
    docker_create_db_directories
    if [ "$(id -u)" = 0 ]; then
      mysql_note "Switching to dedicated user 'mysql'"
      exec gosu mysql "${BASH_SOURCE[0]}" "$@"
    fi
    if [ -z "$DATABASE_ALREADY_EXISTS" ]; then
      docker_verify_minimum_env
      # An empty directory is required by --initialize; say what is in the way.
      ls "$DATADIR"/ >/dev/null
      docker_init_database_dir "$@"
      mysql_note "Starting temporary server"
      docker_temp_server_start "$@"
      mysql_note "Temporary server started."
      mysql_socket_fix
      docker_setup_db
      docker_process_init_files /docker-entrypoint-initdb.d/*
      mysql_expire_root_user
      mysql_note "Stopping temporary server"
      docker_temp_server_stop
      mysql_note "Temporary server stopped"
      echo
      mysql_note "MySQL init process done. Ready for start up."
      echo
    else
      mysql_socket_fix
    fi
  fi
  exec "$@"
}

_main "$@"
