# Sourced by the session and crash tests: a fresh database $db with sluice, q to run SQL in it, and check to
# print one TAP line (failed is set when any check fails).  Uses PGHOST/PGPORT/PGUSER.
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }

dropdb --if-exists "$db" >/dev/null
createdb "$db"
q -c "CREATE EXTENSION sluice" >/dev/null

n=0 failed=0
check() {  # check <description> <query producing "t">
  n=$((n + 1))
  if [ "$(q -c "$2")" = "t" ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; failed=1; fi
}

wait_for() {  # wait_for <query producing "t"> [seconds]: polls until it does or the time is up
  local deadline=$((SECONDS + ${2:-30}))
  while [ $SECONDS -lt $deadline ]; do
    [ "$(q -c "$1" 2>/dev/null)" = "t" ] && return 0
    sleep 0.1
  done
  return 1
}
