# Helpers shared by the benchmark scripts (bench/run.sh, bench/acme.sh,
# bench/scale_one_account.sh), sourced, never run. Messages name the script that sourced it.
bench_script=bench/$(basename "$0")

# A port below the ephemeral range (no client socket can hold it) that nothing listens on.
free_port() {
  local p
  while :; do
    p=$(( 20000 + RANDOM % 12000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

# wait_for_line FILE TEXT PID WHAT: until FILE holds TEXT; fails naming WHAT if PID exits first or
# 60 s pass (a start that slow is a failure in itself), showing the end of FILE.
wait_for_line() {
  local file=$1 text=$2 pid=$3 what=$4 deadline=$(( SECONDS + 60 ))
  until grep -qF "$text" "$file" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$bench_script: $what exited before it was ready:" >&2; tail -n 20 "$file" >&2; return 1
    fi
    if (( SECONDS >= deadline )); then
      echo "$bench_script: $what not ready after 60 s:" >&2; tail -n 20 "$file" >&2; return 1
    fi
    sleep 0.05
  done
}

# wait_for_answer URL PID WHAT [CURL ARGS…]: until URL answers an HTTP request (any status: the
# server parsed it and replied), for peers that print no ready line; fails naming WHAT if PID
# exits first or 60 s pass.
wait_for_answer() {
  local url=$1 pid=$2 what=$3 deadline=$(( SECONDS + 60 ))
  shift 3
  until [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@" "$url") != 000 ]]; do
    if ! kill -0 "$pid" 2>/dev/null; then echo "$bench_script: $what exited before it answered" >&2; return 1; fi
    if (( SECONDS >= deadline )); then echo "$bench_script: $what not answering after 60 s" >&2; return 1; fi
    sleep 0.05
  done
}
