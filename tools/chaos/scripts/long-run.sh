#!/usr/bin/env bash
# The long chaos run in parts, each under the cluster lock (other engineers' benchmarks interleave
# between parts). Each part is one cluster size and a block of schedule indices of one seed; its
# report directory, console log and JSON summary (plus the commit it ran on and the load average
# before and after) go to OUT/part-F-nN.{log,json}. Combine the parts with
# `pnpm chaos:combine OUT` (tools/chaos/src/combine.ts).
#
#   tools/chaos/scripts/long-run.sh OUT SEED STOP_AT "N:F:K N:F:K …"
#     N nodes, schedules F .. F+K-1; STOP_AT (HH:MM UTC): start no part after it.
set -u
out=$1 seed=$2 stop_at=$3 parts=$4
mkdir -p "$out"
for p in $parts; do
  IFS=: read -r n first count <<<"$p"
  if [[ $(date -u +%H:%M) > $stop_at ]]; then
    echo "long-run: $(date -u +%T) past $stop_at, not starting part $p" | tee -a "$out/runner.log"
    break
  fi
  name="part-$(printf %03d "$first")-n$n"
  [[ -f $out/$name.json ]] && continue
  commit=$(git rev-parse HEAD)
  echo "long-run: $(date -u +%T) waiting for the lock: $name on $commit" | tee -a "$out/runner.log"
  flock /tmp/conclave-cluster.lock bash -c '
    load_before=$(cut -d" " -f1-3 /proc/loadavg); start=$(date -u +%FT%TZ)
    pnpm chaos --nodes '"$n"' --first-schedule '"$first"' --schedules '"$count"' --seed '"$seed"' \
      --json --out '"$out/$name"' > '"$out/$name.log"' 2>&1
    rc=$?
    load_after=$(cut -d" " -f1-3 /proc/loadavg); end=$(date -u +%FT%TZ)
    summary=$(grep "^{\"seed\"" '"$out/$name.log"' | tail -1)
    [[ -n $summary ]] || summary=null
    printf "{\"part\":\"%s\",\"commit\":\"%s\",\"exit\":%s,\"start\":\"%s\",\"end\":\"%s\",\"loadBefore\":\"%s\",\"loadAfter\":\"%s\",\"summary\":%s}\n" \
      '"$name"' '"$commit"' "$rc" "$start" "$end" "$load_before" "$load_after" "$summary" > '"$out/$name.json"'
    echo "long-run: $end done '"$name"' exit $rc load $load_before -> $load_after" | tee -a '"$out/runner.log"'
  '
  sleep 2 # let a waiting benchmark take the lock between parts
done
