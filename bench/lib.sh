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

# wait_for_port PORT PID WHAT: until 127.0.0.1:PORT accepts (for peers that print no ready line).
wait_for_port() {
  local port=$1 pid=$2 what=$3 deadline=$(( SECONDS + 60 ))
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then echo "$bench_script: $what exited before it listened" >&2; return 1; fi
    if (( SECONDS >= deadline )); then echo "$bench_script: $what not listening after 60 s" >&2; return 1; fi
    sleep 0.05
  done
}
