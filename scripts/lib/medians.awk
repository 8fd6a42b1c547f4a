# medians.awk: "KEY VALUE" lines, sorted by key and then numerically by value
# (sort -k1,1 -k2,2g), to one "KEY MEDIAN MEAN COUNT" line per key.

function flush(   m) {
  if (n == 0) return
  if (n % 2) m = v[(n + 1) / 2]
  else m = (v[n / 2] + v[n / 2 + 1]) / 2
  printf "%s %.3f %.3f %d\n", key, m, sum / n, n
}

$1 != key {
  flush()
  key = $1
  n = 0
  sum = 0
}

{
  v[++n] = $2
  sum += $2
}

END { flush() }
