# wake-rounds.awk: bench-wake's per-instance tables, from medians.awk's "KEY MEDIAN MEAN COUNT"
# lines with KEY = ROUND:LAB:ROLE:DAEMON:PASS:METRIC (one instance: one daemon started in one lab
# in one round).
#
#   awk -v what=measures|calls -f wake-rounds.awk instance-medians
#
# measures: one line per instance with the medians of the main measures and its wake count;
# calls: one line per instance and system call, its median time and mean calls per wake.

{
  split($1, k, ":")
  key = k[1] " " k[2] " " k[3] " " k[4]
  if (!(key in seen)) {
    seen[key] = 1
    keys[++nk] = key
  }
  metric = k[5] ":" k[6]
  median[key, metric] = $2
  count[key, metric] = $4
  if (k[6] ~ /^t\./) time_of[key " " substr(k[6], 3)] = $2
  if (k[6] ~ /^n\./) calls_of[key " " substr(k[6], 3)] = $3
}

END {
  if (what == "measures") {
    printf "%-6s %-4s %-7s %-11s %8s %8s %8s %8s %8s %6s %6s\n", "round", "lab", "role", "daemon",
      "oncpu", "own", "softirq", "user", "sys", "calls", "wakes"
    for (i = 1; i <= nk; i++) {
      split(keys[i], f, " ")
      printf "%-6s %-4s %-7s %-11s %8.1f %8.1f %8.1f %8.1f %8.1f %6.1f %6d\n", f[1], f[2], f[3], f[4],
        median[keys[i], "sched:oncpu"], median[keys[i], "sched:own"], median[keys[i], "sched:softirq"],
        median[keys[i], "sys:user"], median[keys[i], "sys:sys"], median[keys[i], "sys:calls"],
        count[keys[i], "sched:oncpu"]
    }
  } else {
    for (x in time_of) printf "%s %.1f %.2f\n", x, time_of[x], calls_of[x]
  }
}
