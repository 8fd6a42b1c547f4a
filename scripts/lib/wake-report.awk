# wake-report.awk: bench-wake's table, from medians.awk's "KEY MEDIAN MEAN COUNT" lines: first
# over every wake of every round (KEY = ROLE:DAEMON:PASS:METRIC), then per instance, one daemon
# started in one lab in one round (KEY = ROUND:LAB:ROLE:DAEMON:PASS:METRIC).
#
#   awk -v seconds=SECONDS_PER_DAEMON_AND_ROLE -f wake-report.awk all-medians instance-medians schedstat
#
# The third file has "ROLE:DAEMON NANOSECONDS" lines: the scheduler's count of each instance's CPU
# time over the light pass (/proc/PID/task/*/schedstat), for the CPU-per-second row.
# PASS is "sched" (the light recording: switches and softirqs) or "sys" (system calls too).
# One table per role; a row per measure; vipd and keepalived side by side with their ratio.

FILENAME == ARGV[3] {
  schedstat[$1] += $2
  next
}

FILENAME == ARGV[2] {
  n = split($1, k, ":")
  if (n < 6) next
  key = k[3] ":" k[4] ":" k[5] ":" k[6]
  if (!(key in lo) || $2 < lo[key]) lo[key] = $2
  if (!(key in hi) || $2 > hi[key]) hi[key] = $2
  instances[key]++
  # Per round: the sum of the daemon's instance medians, for the round's ratio.
  round_sum[k[1], key] += $2
  round_n[k[1], key]++
  if (!(k[1] in is_round)) {
    is_round[k[1]] = 1
    rounds[++nrounds] = k[1]
  }
  next
}

{
  split($1, k, ":")
  median[$1] = $2
  mean[$1] = $3
  count[$1] = $4
  if (k[4] ~ /^n\./ && $3 >= 0.05) {
    name = substr(k[4], 3)
    if (!((k[1], name) in listed)) {
      listed[k[1], name] = 1
      calls_of[k[1]] = calls_of[k[1]] " " name
    }
  }
}

function cell(role, daemon, pass, metric,   key) {
  key = role ":" daemon ":" pass ":" metric
  if (!(key in median)) return "-"
  return sprintf("%.1f", median[key])
}

function ratio(role, pass, metric,   v, k) {
  v = role ":vipd:" pass ":" metric
  k = role ":keepalived:" pass ":" metric
  if (!(v in median) || !(k in median) || median[k] == 0 || median[v] == 0) return ""
  return sprintf("%.2f", median[v] / median[k])
}

function row(what, role, pass, metric) {
  printf "| %-44s | %12s | %12s | %8s |\n", what, cell(role, "vipd", pass, metric),
    cell(role, "keepalived", pass, metric), ratio(role, pass, metric)
}

# A system call's row: median time per wake and, in brackets, calls per wake (mean).
function call_row(role, name,   c, d, key, out) {
  for (d = 1; d <= 2; d++) {
    key = role ":" DAEMONS[d] ":sys:n." name
    if (key in mean && mean[key] > 0)
      out[d] = sprintf("%.1f (%.2f)", median[role ":" DAEMONS[d] ":sys:t." name], mean[key])
    else
      out[d] = "-"
  }
  printf "| %-44s | %12s | %12s | %8s |\n", "  " name " (calls per wake)", out[1], out[2],
    ratio(role, "sys", "t." name)
}

# A row of means (for counts that are mostly 0 or 1).
function mean_row(what, role, pass, metric,   d, key, out) {
  for (d = 1; d <= 2; d++) {
    key = role ":" DAEMONS[d] ":" pass ":" metric
    out[d] = (key in mean) ? sprintf("%.2f", mean[key]) : "-"
  }
  printf "| %-44s | %12s | %12s | %8s |\n", what, out[1], out[2], ""
}

# CPU per second, in ms: summed over the light pass's wakes (mean x count) / from schedstat.
function cpu_per_second(role, daemon,   key, w, s) {
  key = role ":" daemon ":sched:oncpu"
  if (!(key in count) || seconds <= 0) return "-"
  w = mean[key] * count[key] / 1000 / seconds
  s = (role ":" daemon in schedstat) ? sprintf("%.2f", schedstat[role ":" daemon] / 1e6 / seconds) : "-"
  return sprintf("%.2f / %s", w, s)
}

function per_second(role, daemon,   key) {
  key = role ":" daemon ":sched:oncpu"
  if (!(key in count) || seconds <= 0) return "-"
  return sprintf("%.1f", count[key] / seconds)
}

# Sorts a[1..n] in place (insertion sort: a handful of names), so that sendmsg sits by sendto.
function sort(a, n,   i, j, x) {
  for (i = 2; i <= n; i++) {
    x = a[i]
    for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]
    a[j + 1] = x
  }
}

# The range of the per-instance medians of one measure.
function spread(role, daemon, pass, metric,   key) {
  key = role ":" daemon ":" pass ":" metric
  if (!(key in lo)) return "-"
  return sprintf("%.1f-%.1f", lo[key], hi[key])
}

# The range over rounds of vipd's mean instance median over keepalived's, in that round: both
# daemons run side by side in a round, so whatever else loads the machine then weighs on both.
function round_ratios(role, pass, metric,   r, v, k, x, lo_r, hi_r, n) {
  v = role ":vipd:" pass ":" metric
  k = role ":keepalived:" pass ":" metric
  for (r = 1; r <= nrounds; r++) {
    if (!((rounds[r], v) in round_n) || !((rounds[r], k) in round_n)) continue
    if (round_sum[rounds[r], k] == 0) continue
    x = (round_sum[rounds[r], v] / round_n[rounds[r], v]) / (round_sum[rounds[r], k] / round_n[rounds[r], k])
    if (n == 0 || x < lo_r) lo_r = x
    if (n == 0 || x > hi_r) hi_r = x
    n++
  }
  if (n == 0) return "-"
  return sprintf("%.2f-%.2f", lo_r, hi_r)
}

function table(role,   i, n, names, rule) {
  rule = "|----------------------------------------------|--------------|--------------|----------|"
  printf "## %s: one wake-up, median (us)\n", role
  printf "| %-44s | %12s | %12s | %8s |\n", "", "vipd", "keepalived", "ratio"
  print rule
  row("on CPU", role, "sched", "oncpu")
  row("on CPU without softirq", role, "sched", "own")
  row("softirq run in its context", role, "sched", "softirq")
  row("user space (syscall pass)", role, "sys", "user")
  row("system calls, kernel time (syscall pass)", role, "sys", "sys")
  n = split(calls_of[role], names, " ")
  sort(names, n)
  # "other" (the rare calls together) last.
  for (i = 1; i < n; i++) if (names[i] == "other") { names[i] = names[n]; names[n] = "other"; sort(names, n - 1) }
  for (i = 1; i <= n; i++) call_row(role, names[i])
  row("system calls per wake", role, "sys", "calls")
  row("on CPU while tracing system calls", role, "sys", "oncpu")
  mean_row("preemptions per wake (mean)", role, "sched", "preempted")
  printf "| %-44s | %12s | %12s | %8s |\n", "wake-ups per second", per_second(role, "vipd"),
    per_second(role, "keepalived"), ""
  printf "| %-44s | %12s | %12s | %8s |\n", "CPU ms per second: wakes / schedstat",
    cpu_per_second(role, "vipd"), cpu_per_second(role, "keepalived"), ""
  printf "| %-44s | %12s | %12s | %8s |\n", "wakes measured (light pass / syscall pass)",
    (count[role ":vipd:sched:oncpu"] + 0) " / " (count[role ":vipd:sys:oncpu"] + 0),
    (count[role ":keepalived:sched:oncpu"] + 0) " / " (count[role ":keepalived:sys:oncpu"] + 0), ""
  print ""
  printf "Per-instance medians (%d vipd and %d keepalived instances: one daemon started in one lab in\n",
    instances[role ":vipd:sched:own"], instances[role ":keepalived:sched:own"]
  printf "one round): on CPU without softirq vipd %s, keepalived %s; user space vipd %s, keepalived %s.\n",
    spread(role, "vipd", "sched", "own"), spread(role, "keepalived", "sched", "own"),
    spread(role, "vipd", "sys", "user"), spread(role, "keepalived", "sys", "user")
  printf "Ratio within each round (vipd/keepalived, means of the instance medians): on CPU without\n"
  printf "softirq %s, user space %s, system calls %s.\n", round_ratios(role, "sched", "own"),
    round_ratios(role, "sys", "user"), round_ratios(role, "sys", "sys")
}

END {
  DAEMONS[1] = "vipd"
  DAEMONS[2] = "keepalived"
  table("master")
  print ""
  table("backup")
}
